"""The web page for a serverless endpoint, in a real browser: the call that cold-started the variant after it
idled says so in its row and in its detail; the next, warm, call does not."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from emulator.api import Emulator
from emulator.control.plane import key
from emulator.waiting import wait_until
from tests.conftest import ECHO_IMAGE

pytestmark = pytest.mark.docker
NAME = "sls-page"


@pytest.fixture(scope="module")
def emulator(example_images):
    with Emulator(startup_timeout=120, serverless_idle=1) as started:
        started.serve()
        sm = started.boto3_client("sagemaker")
        sm.create_model(ModelName=NAME, PrimaryContainer={"Image": ECHO_IMAGE})
        sm.create_endpoint_config(EndpointConfigName=NAME, ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": NAME, "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 2}}])
        sm.create_endpoint(EndpointName=NAME, EndpointConfigName=NAME)
        sm.get_waiter("endpoint_in_service").wait(EndpointName=NAME, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        yield started


def test_a_cold_start_shows_on_its_row_and_in_its_detail(page, emulator):
    assert wait_until(lambda: emulator.store.serving()[key(NAME)].variants[0].cold, timeout=30, interval=0.1)
    page.goto(f"{emulator.url}/_emulator/")
    runtime = emulator.boto3_client()
    for _ in range(2):
        runtime.invoke_endpoint(EndpointName=NAME, ContentType="text/csv", Body=b"1,2")

    rows = page.get_by_test_id("invocation")
    expect(rows).to_have_count(2, timeout=2000)
    expect(rows.nth(1)).to_contain_text("cold start")  # the oldest, last
    expect(rows.nth(0)).not_to_contain_text("cold start")
    rows.nth(1).click()
    expect(page.locator("#detail-title")).to_contain_text("cold start")
