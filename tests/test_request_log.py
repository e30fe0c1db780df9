"""The live request log against real containers: what any client sends shows in /_emulator/invocations and
in `trace --follow` within a second, failures name their container, container events are logged."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

import pytest
import urllib3

from emulator.api import Emulator
from tests.reliability.support import CLI, client, echo

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def emulator(example_images):
    definition = {"Endpoints": {"traced": {"Containers": [echo("first"), echo("second")]},
                                "failing": {"Containers": [echo("first"), echo("second", ECHO_STATUS="418")]}}}
    with Emulator(definition, log_bodies=64, startup_timeout=60) as started:
        started.serve()
        yield started


def read_log(url: str, since: int = 0, **query: str) -> dict:
    extra = "".join(f"&{key}={value}" for key, value in query.items())
    answer = urllib3.request("GET", f"{url}/_emulator/invocations?since={since}{extra}", timeout=15)
    assert answer.status == 200, answer.data
    return answer.json()


def test_a_boto3_invocation_is_logged_with_its_hops_and_bodies(emulator):
    since = read_log(emulator.url)["next"]
    client(emulator.url).invoke_endpoint(EndpointName="traced", ContentType="text/csv", Body=b"1,2")
    record = read_log(emulator.url, since, wait="3", endpoint="traced")["invocations"][0]
    assert (record["endpoint"], record["variant"], record["status"], record["source"]) == ("traced", "AllTraffic", 200, "front")
    assert [hop["container"] for hop in record["hops"]] == ["first", "second"]
    assert record["hops"][0]["request_body"] == "1,2" and record["ms"] >= record["hops"][0]["ms"]


def test_a_model_error_names_the_container_and_its_answer(emulator):
    since = read_log(emulator.url)["next"]
    with pytest.raises(Exception, match="ModelError"):
        client(emulator.url).invoke_endpoint(EndpointName="failing", ContentType="text/csv", Body=b"1")
    record = read_log(emulator.url, since, wait="3")["invocations"][0]
    assert record["status"] == 424 and record["error"]["code"] == "ModelError"
    assert record["hops"][-1]["container"] == "second" and record["hops"][-1]["status"] == 418
    assert record["error"]["OriginalStatusCode"] == 418


def test_an_inference_id_is_logged_with_its_invocation(emulator):
    since = read_log(emulator.url)["next"]
    client(emulator.url).invoke_endpoint(EndpointName="traced", ContentType="text/csv", Body=b"1", InferenceId="order-42")
    emulator["traced"].invoke(b"2", content_type="text/csv", inference_id="order-43")
    records: list[dict] = []
    for _ in range(3):  # the front's record comes by datagram, the Python API's at once: either may be first
        answer = read_log(emulator.url, since, wait="3", endpoint="traced")
        records, since = records + answer["invocations"], answer["next"]
        if len(records) == 2:
            break
    assert sorted((record["source"], record.get("inference_id")) for record in records) == [
        ("api", "order-43"), ("front", "order-42")]


def test_python_api_invocations_are_logged_too(emulator):
    since = read_log(emulator.url)["next"]
    emulator["traced"].invoke(b"x", content_type="text/plain")
    assert read_log(emulator.url, since)["invocations"][0]["source"] == "api"


def test_trace_follow_shows_another_process_request_within_a_second(emulator):
    follow = subprocess.Popen([*CLI, "trace", "traced", "--url", emulator.url, "--follow"], stdout=subprocess.PIPE,
                              text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.monotonic(), line)) for line in follow.stdout], daemon=True).start()
    try:
        time.sleep(2)  # the command is up and waiting
        while not lines.empty():
            lines.get()
        marker = f"from-another-process-{os.getpid()}"
        script = (f"import boto3; boto3.client('sagemaker-runtime', endpoint_url='{emulator.url}', region_name='us-east-1', "
                  "aws_access_key_id='x', aws_secret_access_key='x').invoke_endpoint(EndpointName='traced', "
                  f"ContentType='text/plain', CustomAttributes='{marker}', Body=b'hello')")
        subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
        answered = time.monotonic()
        arrived, line = lines.get(timeout=5)
        assert "traced  AllTraffic  200" in line
        assert arrived - answered < 1.0, f"shown {arrived - answered:.2f} s after the answer"
    finally:
        follow.terminate()
        follow.wait(timeout=10)


def test_trace_prints_the_log_with_bodies(emulator):
    client(emulator.url).invoke_endpoint(EndpointName="traced", ContentType="text/csv", Body=b"7,8,9")
    time.sleep(0.5)
    result = subprocess.run([*CLI, "trace", "--url", emulator.url, "--bodies"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "received:\n  7,8,9" in result.stdout and "container healthy" in result.stdout


def test_a_container_that_dies_is_logged_as_exited_restarted_and_healthy_again(emulator, docker_engine):
    since = read_log(emulator.url)["next"]
    docker_engine.containers.get(emulator["traced"].endpoint.containers[1].id).kill()
    deadline, events = time.monotonic() + 60, []
    while time.monotonic() < deadline and "healthy" not in events:
        time.sleep(0.3)
        events = [e["event"] for e in read_log(emulator.url, since)["events"] if e["endpoint"] == "traced"]
    assert events[:3] == ["exited", "restarted", "healthy"]


def test_pipelines_show_each_container_health_and_port(emulator):
    answer = urllib3.request("GET", f"{emulator.url}/_emulator/pipelines", timeout=15).json()
    traced = next(e for e in answer["endpoints"] if e["name"] == "traced")
    containers = traced["variants"][0]["containers"]
    assert [c["hostname"] for c in containers] == ["first", "second"] and all(c["port"] for c in containers)
    logs = urllib3.request("GET", f"{emulator.url}/_emulator/endpoints/traced/containers/first/logs?tail=5", timeout=15)
    assert logs.status == 200
