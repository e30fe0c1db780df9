"""The web page at /_emulator/ in a real browser: the example pipeline drawn, boto3's requests listed live,
a waterfall of each hop, a ModelError naming its container, container logs one click away. The screenshots
in docs/ (shown on docs/request-log.md) are taken here."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from emulator.api import Emulator
from tests.browser.conftest import DOCS
from tests.conftest import PIPELINE

pytestmark = pytest.mark.docker
ROW = b"Biscoe,50.0,15.2,218,5700,male"


@pytest.fixture(scope="module")
def emulator(example_images):
    with Emulator(PIPELINE, log_bodies=4096, startup_timeout=120) as started:
        started.serve()
        started["penguins"].invoke(ROW, content_type="text/csv")  # the containers' first answer is the slowest
        yield started


@pytest.fixture
def opened(page, emulator):
    page.goto(f"{emulator.url}/_emulator/")
    expect(page.get_by_test_id("container-model")).to_contain_text("healthy")
    return page


def test_the_pipeline_is_drawn_with_each_container_health_and_port(opened, emulator):
    endpoint = opened.get_by_test_id("endpoint-penguins")
    expect(endpoint).to_contain_text("Serial")
    containers = endpoint.locator(".container")
    expect(containers).to_have_count(2)
    expect(containers.nth(0)).to_contain_text("preprocessor")
    expect(containers.nth(1)).to_contain_text("model")
    port = emulator["penguins"].endpoint.containers[0].url.rsplit(":", 1)[1]
    expect(containers.nth(0)).to_contain_text(f"port {port}")


def test_a_boto3_request_shows_within_a_second_with_its_waterfall(opened, emulator):
    rows = opened.get_by_test_id("invocation")
    before = rows.count()
    answer = emulator.boto3_client().invoke_endpoint(EndpointName="penguins", ContentType="text/csv",
                                                     Accept="text/csv", Body=ROW)
    assert answer["Body"].read().strip() == b"Gentoo"
    answered = time.monotonic()
    expect(rows).to_have_count(before + 1, timeout=1000)
    assert time.monotonic() - answered < 1.0
    rows.first.click()
    hops = opened.get_by_test_id("hop")
    expect(hops).to_have_count(2)
    expect(hops.nth(0)).to_contain_text("1. preprocessor")
    expect(hops.nth(1)).to_contain_text("2. model")
    expect(opened.get_by_test_id("body-preprocessor-received")).to_have_text(ROW.decode())
    expect(opened.get_by_test_id("body-model-returned")).to_contain_text("Gentoo")
    opened.screenshot(path=str(DOCS / "page-pipeline.png"), full_page=True)
    opened.get_by_test_id("detail").screenshot(path=str(DOCS / "page-waterfall.png"))


def test_the_charset_pitfall_is_stated_on_the_hop_where_it_happens(opened, emulator):
    emulator.boto3_client().invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Accept="text/csv", Body=ROW)
    opened.get_by_test_id("invocation").first.click()
    warning = opened.get_by_test_id("hop").nth(1).get_by_test_id("hop-warning")
    expect(warning).to_contain_text("charset")


def test_a_model_error_shows_which_container_failed_and_its_answer(opened, emulator):
    with pytest.raises(Exception, match="ModelError"):
        emulator.boto3_client().invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Body=b"not,a,penguin")
    failed = opened.locator("tr.invocation.failed")
    expect(failed).to_have_count(1, timeout=1000)
    failed.first.click()
    error = opened.get_by_test_id("detail-error")
    expect(error).to_contain_text("424 ModelError")
    expect(error).to_contain_text("Container preprocessor failed with 400")
    expect(opened.locator(".hop.failed")).to_contain_text("preprocessor")
    expect(opened.get_by_test_id("body-preprocessor-returned")).to_be_visible()


def test_container_logs_are_one_click_away(opened):
    opened.get_by_test_id("logs-model").click()
    expect(opened.get_by_test_id("logs")).to_be_visible()
    expect(opened.locator("#logs-text")).not_to_have_text("loading…")
    expect(opened.locator("#logs-text")).not_to_be_empty()
