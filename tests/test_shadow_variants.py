"""Shadow variants (ShadowProductionVariants) on real containers through boto3: the shadow starts with the
endpoint, gets a copy of the requests its weight selects after production has answered, and its answers and
failures are recorded (the request log, marked shadow, beside production's answer; `trace` with the agreement
rate; data capture under its name), never seen by the caller."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any, Iterator

import pytest
import urllib3

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients

pytestmark = pytest.mark.docker
CALLS = 100


@pytest.fixture(scope="module")
def emulator(example_images) -> Iterator[Emulator]:
    with Emulator(startup_timeout=60, invocation_timeout=10, log_bodies=1024, log_size=1000) as running:
        running.serve()
        yield running


def deploy(emulator: Emulator, shadow_environment: dict[str, str], shadow_weight: float = 1.0,
           capture: dict | None = None) -> str:
    sm = clients(emulator.url, "sagemaker")
    name = f"shadow-{uuid.uuid4().hex[:8]}"
    sm.create_model(ModelName=f"{name}-prod", PrimaryContainer={"Image": ECHO_IMAGE})
    sm.create_model(ModelName=f"{name}-shadow", PrimaryContainer={"Image": ECHO_IMAGE, "Environment": shadow_environment})
    sm.create_endpoint_config(
        EndpointConfigName=name, **({"DataCaptureConfig": capture} if capture else {}),
        ProductionVariants=[{"VariantName": "production", "ModelName": f"{name}-prod", "InitialVariantWeight": 1}],
        ShadowProductionVariants=[{"VariantName": "shadow", "ModelName": f"{name}-shadow",
                                   "InitialVariantWeight": shadow_weight}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def request_log(emulator: Emulator, endpoint: str) -> dict[str, Any]:
    answer = urllib3.request("GET", f"{emulator.url}/_emulator/invocations?endpoint={endpoint}")
    return json.loads(answer.data)


def shadow_records(emulator: Emulator, endpoint: str, count: int, seconds: float = 30) -> list[dict[str, Any]]:
    """The shadow's records once `count` are in (they come after production's answers)."""
    deadline = time.monotonic() + seconds
    while True:
        records = [r for r in request_log(emulator, endpoint)["invocations"] if r["source"] == "shadow"]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def test_a_failing_shadow_never_touches_production(emulator):
    name = deploy(emulator, {"ECHO_STATUS": "500"})
    described = clients(emulator.url, "sagemaker").describe_endpoint(EndpointName=name)
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["production"]
    assert [v["VariantName"] for v in described["ShadowProductionVariants"]] == ["shadow"]

    runtime = clients(emulator.url, "sagemaker-runtime")
    failures = 0
    for number in range(CALLS):
        try:
            answer = runtime.invoke_endpoint(EndpointName=name, Body=f"{number}".encode(), ContentType="text/plain")
            assert answer["InvokedProductionVariant"] == "production" and answer["Body"].read() == f"{number}".encode()
        except Exception:  # noqa: BLE001 - counted: the assertion below says how many
            failures += 1
    assert failures == 0

    shadows = shadow_records(emulator, name, CALLS)
    assert len(shadows) == CALLS  # weight 1 against production's 1: every request is copied
    assert all(r["variant"] == "shadow" and r["status"] == 424 and r["error"]["code"] == "ModelError" for r in shadows)
    assert all(r["shadow"] == {"production_variant": "production", "agrees": False, "production_body": r["hops"][0]
                               ["request_body"]} for r in shadows)
    production = [r for r in request_log(emulator, name)["invocations"] if r["source"] == "front"]
    assert len(production) == CALLS and all(r["status"] == 200 and r["variant"] == "production" for r in production)
    assert request_log(emulator, name)["shadow_agreement"] == [
        {"endpoint": name, "variant": "shadow", "production_variant": "production", "agreed": 0, "compared": CALLS}]


def test_the_shadow_gets_the_share_its_weight_says(emulator):
    name = deploy(emulator, {}, shadow_weight=0.5)
    runtime = clients(emulator.url, "sagemaker-runtime")
    for number in range(CALLS):
        runtime.invoke_endpoint(EndpointName=name, Body=f"{number}".encode(), ContentType="text/plain")
    time.sleep(2)  # the copies are sent after the answers
    copied = shadow_records(emulator, name, CALLS, seconds=0)
    assert 20 <= len(copied) <= 80, len(copied)  # 0.5 of 100: outside 20..80 has odds under one in 10^9
    assert all(r["status"] == 200 and r["shadow"]["agrees"] for r in copied)


def test_trace_shows_the_agreement_and_capture_names_the_shadow(emulator):
    s3 = clients(emulator.url, "s3")
    bucket = f"shadow-capture-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    name = deploy(emulator, {"ECHO_MODE": "append", "ECHO_NAME": "candidate"},
                  capture={"EnableCapture": True, "InitialSamplingPercentage": 100,
                           "DestinationS3Uri": f"s3://{bucket}/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                           "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]}})
    runtime = clients(emulator.url, "sagemaker-runtime")
    for number in range(4):
        runtime.invoke_endpoint(EndpointName=name, Body=json.dumps({"n": number}).encode(), ContentType="application/json")
    assert len(shadow_records(emulator, name, 4)) == 4

    traced = subprocess.run([sys.executable, "-m", "emulator.cli", "trace", name, "--url", emulator.url],
                            capture_output=True, text=True, timeout=60)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.count("(shadow: differs from production)") == 4
    assert f"shadow {name}/shadow answered as production did in 0 of 4 copies (0 %)" in traced.stdout

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        variants = {key.split("/")[2] for key in keys}
        if variants == {"production", "shadow"}:
            break
        time.sleep(0.5)
    assert variants == {"production", "shadow"}, keys
    shadow_lines = [json.loads(line) for key in keys if key.split("/")[2] == "shadow"
                    for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()]
    outputs = [line["captureData"]["endpointOutput"]["data"] for line in shadow_lines]
    assert all('"candidate"' in output for output in outputs), outputs  # the shadow's own answer, discarded for the caller
