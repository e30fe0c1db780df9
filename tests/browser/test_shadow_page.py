"""A shadow variant on the web page, in a real browser: its copies marked in the live list, its agreement rate,
and a copy's detail with production's answer and the shadow's side by side and their diff."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from emulator.api import Emulator
from tests.control.conftest import clients
from tests.test_shadow_variants import deploy

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def emulator(example_images):
    with Emulator(startup_timeout=60, invocation_timeout=10, log_bodies=4096) as started:
        started.serve()
        yield started


def test_a_shadow_copy_is_shown_beside_production_with_a_diff(page, emulator):
    name = deploy(emulator, {"ECHO_MODE": "append", "ECHO_NAME": "candidate"})
    page.goto(f"{emulator.url}/_emulator/")
    expect(page.get_by_test_id(f"endpoint-{name}")).to_be_visible()
    runtime = clients(emulator.url, "sagemaker-runtime")
    for number in range(2):
        runtime.invoke_endpoint(EndpointName=name, Body=f'{{"n": {number}}}'.encode(), ContentType="application/json")

    expect(page.get_by_test_id(f"agreement-{name}-shadow")).to_have_text(
        f"shadow {name}/shadow answered as production did in 0 of 2 copies (0 %)")
    copies = page.locator("tr.shadow")
    expect(copies).to_have_count(2)
    expect(copies.first).to_contain_text("shadow (shadow, differs)")
    copies.first.click()
    expect(page.get_by_test_id("shadow-verdict")).to_have_text("Shadow of production: answered differently")
    expect(page.get_by_test_id("shadow-production")).to_have_text('{"n": 1}')
    expect(page.get_by_test_id("shadow-answer")).to_contain_text('"candidate"')
    diff = page.get_by_test_id("shadow-diff")
    expect(diff.locator(".removed")).to_have_text(['- {"n": 1}'])  # production's line, changed by the shadow
    expect(diff.locator(".added").first).to_contain_text('"candidate"')
