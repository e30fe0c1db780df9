"""Inference components through real boto3 against real containers: an endpoint of no model hosts two components of
different images, each of two copies; invocations name a component (the missing header refused in SageMaker's
words), requests spread over its copies, CopyCount changes under load with no failed request, a component that does
not fit the instances fails with the reason, and the listing, `ls` and deletion follow."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Iterator

import pytest
from botocore.exceptions import ClientError

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE, EXAMPLES
from tests.control.conftest import clients
from tests.reliability.support import wait_for
from tests.test_instance_counts import Load

pytestmark = pytest.mark.docker
PREPROCESSOR = "sagemaker-emulator/example-preprocessor:1"
ROW = b"Dream,46.5,17.9,192,3500,female\n"
MISSING_HEADER = ("Inference Component Name header is required for endpoints to which you plan to deploy inference "
                  "components. Please include Inference Component Name header or consider using SageMaker models.")
SMALL = {"NumberOfCpuCoresRequired": 0.5, "MinMemoryRequiredInMb": 256}
ENDPOINT = "components"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[Emulator]:
    # A state folder of its own, so `ls` can read it; a short invocation timeout, so removed copies drain soon.
    with Emulator(state=tmp_path_factory.mktemp("components-state"), startup_timeout=300,
                  invocation_timeout=5) as running:
        running.serve()
        yield running


def wait_in_service(sm, name: str) -> dict:
    def status() -> dict | None:
        described = sm.describe_inference_component(InferenceComponentName=name)
        return described if described["InferenceComponentStatus"] not in ("Creating", "Updating") else None
    return wait_for(status, 360, f"{name} leaving Creating/Updating")


@pytest.fixture(scope="module")
def endpoint(example_images, emulator, sm) -> str:
    """An endpoint of two ml.m5.xlarge instances (4 vCPUs, 16 GiB each) hosting an echo and a preprocessor."""
    sm.create_endpoint_config(EndpointConfigName=ENDPOINT, ProductionVariants=[
        {"VariantName": "AllTraffic", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 2}])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    s3 = clients(emulator.url, "s3")
    s3.create_bucket(Bucket="components")
    s3.upload_file(str(EXAMPLES / "artifacts/preprocessor/model.tar.gz"), "components", "preprocessor/model.tar.gz")
    sm.create_model(ModelName="preprocessor", PrimaryContainer={
        "Image": PREPROCESSOR, "ModelDataUrl": "s3://components/preprocessor/model.tar.gz"})
    sm.create_inference_component(
        InferenceComponentName="echo", EndpointName=ENDPOINT, VariantName="AllTraffic",
        Specification={"Container": {"Image": ECHO_IMAGE, "Environment": {"ECHO_MODE": "append", "ECHO_NAME": "echo"}},
                       "StartupParameters": {"ContainerStartupHealthCheckTimeoutInSeconds": 300},
                       "ComputeResourceRequirements": SMALL},
        RuntimeConfig={"CopyCount": 2})
    sm.create_inference_component(
        InferenceComponentName="preprocessor", EndpointName=ENDPOINT, VariantName="AllTraffic",
        Specification={"ModelName": "preprocessor", "ComputeResourceRequirements": SMALL,
                       "StartupParameters": {"ContainerStartupHealthCheckTimeoutInSeconds": 300}},
        RuntimeConfig={"CopyCount": 2})
    for name in ("echo", "preprocessor"):
        described = wait_in_service(sm, name)
        assert described["InferenceComponentStatus"] == "InService", described.get("FailureReason")
    return ENDPOINT


def copy_of(answer: dict) -> str:
    return json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])[-1]["instance"]


def test_two_components_of_different_images_answer_and_spread_over_their_copies(endpoint, sm, runtime):
    spread: dict[str, Counter] = {"echo": Counter(), "preprocessor": Counter()}
    for _ in range(40):
        echoed = runtime.invoke_endpoint(EndpointName=endpoint, InferenceComponentName="echo", Body=b"hi\n",
                                         ContentType="text/plain")
        assert echoed["InvokedProductionVariant"] == "AllTraffic"
        spread["echo"][copy_of(echoed)] += 1
        assert json.loads(echoed["Body"].read().splitlines()[-1])["host"] == "echo"
        features = runtime.invoke_endpoint(EndpointName=endpoint, InferenceComponentName="preprocessor", Body=ROW,
                                           ContentType="text/csv")
        spread["preprocessor"][copy_of(features)] += 1
        assert features["Body"].read().count(b",") >= 8  # the scaled and encoded features
    assert all(set(counter) == {"copy-1", "copy-2"} for counter in spread.values()), spread
    described = sm.describe_inference_component(InferenceComponentName="echo")
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert described["Specification"]["Container"]["DeployedImage"]["SpecifiedImage"] == ECHO_IMAGE
    assert described["EndpointName"] == endpoint and described["VariantName"] == "AllTraffic"
    listed = sm.list_inference_components(EndpointNameEquals=endpoint, SortBy="Name", SortOrder="Ascending")
    assert [(c["InferenceComponentName"], c["InferenceComponentStatus"]) for c in listed["InferenceComponents"]] == [
        ("echo", "InService"), ("preprocessor", "InService")]


def test_a_call_without_the_component_is_refused_word_for_word(endpoint, runtime):
    with pytest.raises(ClientError) as refused:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"hi", ContentType="text/plain")
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationError", 400)
    assert error["Error"]["Message"] == MISSING_HEADER
    with pytest.raises(ClientError, match="Inference component nothing is not in service on endpoint components"):
        runtime.invoke_endpoint(EndpointName=endpoint, InferenceComponentName="nothing", Body=b"hi")
    # Response streaming and the traced call take the component too.
    stream = runtime.invoke_endpoint_with_response_stream(EndpointName=endpoint, InferenceComponentName="echo",
                                                          Body=b"streamed", ContentType="text/plain")
    assert b"".join(event["PayloadPart"]["Bytes"] for event in stream["Body"] if "PayloadPart" in event).startswith(b"streamed")


def test_copy_count_goes_from_2_to_3_and_back_to_1_with_no_failed_request(endpoint, sm, runtime):
    with Load(runtime, endpoint, component="echo") as load:
        load.until(30)
        sm.update_inference_component_runtime_config(InferenceComponentName="echo", DesiredRuntimeConfig={"CopyCount": 3})
        # (DescribeInferenceComponent would wait for the update's end, as DescribeEndpoint does.)
        assert sm.list_inference_components(NameContains="echo")["InferenceComponents"][0][
            "InferenceComponentStatus"] == "Updating"
        assert wait_in_service(sm, "echo")["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 3}
        grown = len(load.answered)
        load.until(grown + 120)
        assert len(set(load.answered[grown + 10:])) == 3, Counter(load.answered[grown:])
        sm.update_inference_component_runtime_config(InferenceComponentName="echo", DesiredRuntimeConfig={"CopyCount": 1})
        assert wait_in_service(sm, "echo")["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}
        shrunk = len(load.answered)
        load.until(shrunk + 60)
    assert load.failures == []
    assert len(set(load.answered[shrunk + 10:])) == 1, Counter(load.answered[shrunk:])


def test_a_component_that_does_not_fit_the_instances_fails_with_the_reason(endpoint, sm):
    sm.create_inference_component(
        InferenceComponentName="too-big", EndpointName=endpoint, VariantName="AllTraffic",
        Specification={"Container": {"Image": ECHO_IMAGE},
                       "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 3, "MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 3})
    described = wait_in_service(sm, "too-big")
    assert described["InferenceComponentStatus"] == "Failed"
    assert "do not fit on variant AllTraffic of endpoint components (2 x ml.m5.xlarge" in described["FailureReason"]
    assert "need 9 CPU cores (free: " in described["FailureReason"]
    sm.delete_inference_component(InferenceComponentName="too-big")
    wait_for(lambda: "too-big" not in [c["InferenceComponentName"] for c in sm.list_inference_components()[
        "InferenceComponents"]], 30, "too-big deleted")


def test_adapters_on_a_base_component_are_refused_with_the_reason(endpoint, sm):
    with pytest.raises(ClientError, match="BaseInferenceComponentName .* is not emulated"):
        sm.create_inference_component(InferenceComponentName="adapter", EndpointName=endpoint, VariantName="AllTraffic",
                                      Specification={"BaseInferenceComponentName": "echo",
                                                     "Container": {"ArtifactUrl": "s3://bucket/adapter.tar.gz"}},
                                      RuntimeConfig={"CopyCount": 1})


def test_ls_lists_the_components_under_their_endpoint(endpoint, emulator):
    listing = subprocess.run([sys.executable, "-c", "import sys; from emulator.cli import main; sys.exit(main())", "ls", "--state", str(emulator.state)],
                             capture_output=True, text=True, check=True).stdout
    assert "  components  InService" in listing
    assert "    AllTraffic  hosts inference components:" in listing
    assert "    component preprocessor  InService  on AllTraffic: copy-1: primary http://127.0.0.1:" in listing


def test_the_sdk_v2_predictor_calls_a_component_by_its_name(endpoint, emulator, monkeypatch):
    """The SageMaker SDK v2, unchanged: Predictor(..., component_name=...) sends InferenceComponentName."""
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    with emulator.redirected():
        import sagemaker
        from sagemaker.predictor import Predictor

        predictor = Predictor(endpoint, sagemaker_session=sagemaker.Session(), component_name="echo")
        answer = predictor.predict(b"from the sdk\n", initial_args={"ContentType": "text/plain"})
    assert answer.startswith(b"from the sdk\n") and json.loads(answer.splitlines()[-1])["host"] == "echo"
