"""The web page for a multi-model endpoint, in a real browser: a call that loads its model shows the load
hop before the invoke hop, naming the TargetModel; a call whose model is loaded shows the invoke alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from emulator.api import Emulator
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.docker
ROW = b"39.1,18.7,181,3750"


@pytest.fixture(scope="module")
def emulator(example_images):
    definition = {"Endpoints": {"islands": {"PrimaryContainer": {
        "ContainerHostname": "models", "Image": "sagemaker-emulator/example-multimodel:1", "Mode": "MultiModel",
        "ModelDataUrl": str(EXAMPLES / "artifacts" / "multimodel")}}}}
    with Emulator(definition, startup_timeout=120) as started:
        started.serve()
        yield started


def test_a_multi_model_call_shows_its_load_and_invoke_hops(page, emulator):
    page.goto(f"{emulator.url}/_emulator/")
    expect(page.get_by_test_id("container-models")).to_contain_text("healthy")
    runtime = emulator.boto3_client()
    for _ in range(2):
        runtime.invoke_endpoint(EndpointName="islands", TargetModel="Biscoe.tar.gz", ContentType="text/csv", Body=ROW)

    rows = page.get_by_test_id("invocation")
    expect(rows).to_have_count(2, timeout=2000)
    expect(rows.nth(1)).to_contain_text("models load Biscoe.tar.gz → models invoke Biscoe.tar.gz")  # oldest last
    expect(rows.nth(0)).not_to_contain_text("load")
    rows.nth(1).click()
    hops = page.get_by_test_id("hop")
    expect(hops).to_have_count(2)
    expect(hops.nth(0)).to_contain_text("1. models load Biscoe.tar.gz")
    expect(hops.nth(1)).to_contain_text("2. models invoke Biscoe.tar.gz")
