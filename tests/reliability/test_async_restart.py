"""Nothing InvokeEndpointAsync accepted is lost when `sagemaker-emulator serve` is killed: 100 requests,
serve SIGKILLed while they run, started again on the same state folder: every request ends with exactly
one object. The S3 is moto's own server in a process of its own (serve's embedded S3 keeps objects in
memory, so it would die with serve), reached by serve through AWS_ENDPOINT_URL_S3."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Iterator

import pytest

from emulator.containers import labels
from emulator.containers.docker_backend import free_port
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients
from tests.reliability.support import containers_of, port_is_free, serve_in_child, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]
REQUESTS, BUCKET, ENDPOINT = 100, "kept-answers", "async-kept"


@pytest.fixture
def outside_s3(monkeypatch) -> Iterator[str]:
    """moto's S3 server, outliving any serve; serve children started meanwhile use it."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: not port_is_free(port), 30, "moto's S3 server listens")
        for name, value in {"AWS_ENDPOINT_URL_S3": url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(name, value)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def keys(s3, prefix: str) -> list[str]:
    return [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
            for item in page.get("Contents", ())]


def objects(s3, prefix: str) -> dict[str, bytes]:
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys(s3, prefix)}


def ended(s3) -> int:
    return len(keys(s3, "out/")) + len(keys(s3, "failed/"))


def test_a_killed_serve_loses_no_accepted_request_and_writes_none_twice(example_images, docker_engine, tmp_path, outside_s3):
    state, port = tmp_path / "state", free_port()
    url = f"http://127.0.0.1:{port}"
    s3 = clients(outside_s3, "s3")
    s3.create_bucket(Bucket=BUCKET)
    # Versioned: an object written twice keeps two versions, so "none written twice" can be checked.
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for number in range(REQUESTS):
        s3.put_object(Bucket=BUCKET, Key=f"in/{number}", Body=f"request {number}".encode())

    # 4 at a time, 1 s each: the 100 take 25 s, so the kill lands mid-run even when accepting them is slow.
    first = serve_in_child(None, port, labels.session_id(), "--state", str(state))
    try:
        sm, runtime = clients(url, "sagemaker"), clients(url, "sagemaker-runtime")
        sm.create_model(ModelName=ENDPOINT, PrimaryContainer={"Image": ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": "1"}})
        sm.create_endpoint_config(EndpointConfigName=ENDPOINT, ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": ENDPOINT}],
                                  AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out",
                                                                         "S3FailurePath": f"s3://{BUCKET}/failed"},
                                                        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4}})
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
        sm.get_waiter("endpoint_in_service").wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        accepted = [runtime.invoke_endpoint_async(EndpointName=ENDPOINT, InputLocation=f"s3://{BUCKET}/in/{number}",
                                                  ContentType="text/plain", InferenceId=f"req-{number}")["InferenceId"]
                    for number in range(REQUESTS)]
        wait_for(lambda: ended(s3) >= 10, 60, "the first answers are written")
    finally:
        first.send_signal(signal.SIGKILL)  # a crash, with requests queued and in flight
        first.wait()
    done_before = ended(s3)
    assert done_before < REQUESTS, "every request ended before the kill: the test proves nothing"
    wait_for(lambda: port_is_free(port), 10, "the crashed serve's front lets go of its port")

    again = serve_in_child(None, port, labels.session_id(), "--state", str(state))
    try:
        wait_for(lambda: ended(s3) >= REQUESTS, 120,
                 "every accepted request ends with an object")
        outputs, failures = objects(s3, "out/"), objects(s3, "failed/")
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
    assert failures == {}
    versions = [version["Key"] for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix="out/")
                for version in page.get("Versions", ())]
    assert sorted(versions) == sorted(outputs)  # one version each: no answer was written twice
    assert outputs == {f"out/{inference_id}.out": f"request {number}".encode()
                       for number, inference_id in enumerate(accepted)}
    assert containers_of(docker_engine, ENDPOINT) == []
