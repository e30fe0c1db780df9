"""A definition file is a preload: its endpoints are created through the control plane, so the sagemaker
API describes and lists them, and starting again on the same state folder creates them anew."""

from __future__ import annotations

import pytest

from emulator.api import Emulator
from tests.conftest import PIPELINE
from tests.control.conftest import clients

pytestmark = pytest.mark.docker


def test_the_example_pipeline_is_described_listed_and_invoked_through_the_api(example_images, tmp_path):
    for _ in range(2):  # the second start finds the first's state and deploys the file again
        with Emulator(PIPELINE, state=tmp_path) as emulator:
            url = emulator.serve()
            sm, runtime = clients(url, "sagemaker"), clients(url, "sagemaker-runtime")
            described = sm.describe_endpoint(EndpointName="penguins")
            assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == "penguins"
            assert [v["VariantName"] for v in described["ProductionVariants"]] == ["AllTraffic"]
            assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["penguins"]
            model = sm.describe_model(ModelName="penguins")
            assert [c["ContainerHostname"] for c in model["Containers"]] == ["preprocessor", "model"]
            answer = runtime.invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Accept="text/csv",
                                             Body=b"Biscoe,50.0,15.2,218,5700,male")
            assert answer["Body"].read().strip() == b"Gentoo" and answer["InvokedProductionVariant"] == "AllTraffic"
