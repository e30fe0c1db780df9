"""What would fail on the instance fails here first: an image built for another processor is refused before any
container starts, naming the image, both architectures and the fix; an unknown instance type is refused with the
known ones."""

from __future__ import annotations

import pytest

from emulator.api import Emulator
from emulator.definition import parse
from emulator.errors import DefinitionError, EmulatorError, StartupError
from tests.control.conftest import clients

@pytest.mark.docker
def test_an_arm64_image_is_refused_for_an_x86_instance_before_anything_starts(arm64_image):
    with pytest.raises(StartupError) as refused:
        Emulator({"Endpoints": {"graviton-built": {"PrimaryContainer": {"Image": arm64_image},
                                                   "InstanceType": "ml.m5.large"}}}).start()
    message = str(refused.value)
    assert f"image {arm64_image} is built for arm64, but the instance ml.m5.large (x86_64, 2 vCPUs, 8 GiB)" in message
    assert "exec format error" in message and "docker buildx build --platform linux/amd64" in message
    assert "InstanceType: ml.c7g.large" in message


@pytest.mark.docker
def test_an_arm64_image_passes_the_check_on_a_graviton_instance(arm64_image):
    # It cannot run on this x86 machine, but what stops it is no longer the architecture check.
    with pytest.raises(StartupError) as failed:
        Emulator({"Endpoints": {"graviton": {"PrimaryContainer": {"Image": arm64_image}}}}, instance_type="ml.c7g.large",
                 startup_timeout=5).start()
    assert "is built for arm64" not in str(failed.value)


@pytest.mark.docker
def test_the_control_plane_fails_the_endpoint_with_the_reason(arm64_image):
    with Emulator() as emulator:
        sm = clients(emulator.serve(), "sagemaker")
        sm.create_model(ModelName="arm", PrimaryContainer={"Image": arm64_image})
        sm.create_endpoint_config(EndpointConfigName="arm", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "arm", "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName="arm", EndpointConfigName="arm")
        described = sm.describe_endpoint(EndpointName="arm")
        assert described["EndpointStatus"] == "Failed"
        assert "is built for arm64, but the instance ml.c5.xlarge" in described["FailureReason"]


def test_an_unknown_instance_type_is_refused_with_the_known_ones():
    with pytest.raises(DefinitionError) as refused:
        parse({"Endpoints": {"e": {"PrimaryContainer": {"Image": "i"}, "InstanceType": "ml.m99.huge"}}})
    assert refused.value.field.endswith("InstanceType") and "ml.c7g" in refused.value.fix
    with pytest.raises(EmulatorError, match="'ml.nope' is not an instance type"):
        Emulator({"Endpoints": {"e": {"PrimaryContainer": {"Image": "i"}}}}, instance_type="ml.nope")
