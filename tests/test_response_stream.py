"""InvokeEndpointWithResponseStream through real boto3 against real containers: the last container's
answer arrives part by part as it produces it, and a stream that breaks ends with ModelStreamError."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from botocore.exceptions import ClientError, EventStreamError

from emulator import Emulator
from tests.reliability.support import client, echo

pytestmark = pytest.mark.docker
WORD_DELAY = 0.4
WORDS = [b"the ", b"penguins ", b"of ", b"Biscoe ", b"island"]


@pytest.fixture(scope="module")
def emulator(example_images):
    streaming = {"ECHO_MODE": "echo", "ECHO_STREAM_DELAY_SECONDS": str(WORD_DELAY)}
    definition = {"Endpoints": {
        "streaming": {"PrimaryContainer": echo(**streaming)},
        "breaking": {"PrimaryContainer": echo(**streaming, ECHO_STREAM_BREAK_AFTER="2")},
        "failing": {"PrimaryContainer": echo(ECHO_STATUS="500")},
        # the first container's answer is buffered, the last one's streamed
        "pipeline": {"Containers": [echo("first", ECHO_MODE="echo", ECHO_RESPONSE_CONTENT_TYPE="text/plain"),
                                    echo("last", **streaming)]}}}
    with Emulator(definition) as started:
        started.serve()
        yield started


@pytest.fixture(scope="module")
def runtime(emulator):
    return client(emulator.url)


def stream(runtime, endpoint: str, body: bytes = b"".join(WORDS)) -> tuple[dict, list[tuple[float, bytes]]]:
    """The answer's members and its parts, each with the seconds since the call began."""
    started = time.perf_counter()
    answer = runtime.invoke_endpoint_with_response_stream(EndpointName=endpoint, Body=body, ContentType="text/plain",
                                                          Accept="text/plain", CustomAttributes="trace=1")
    parts = []
    for event in answer["Body"]:
        parts.append((time.perf_counter() - started, event["PayloadPart"]["Bytes"]))
    return answer, parts


def test_parts_arrive_as_the_container_produces_them(runtime):
    answer, parts = stream(runtime, "streaming")
    assert [part for _, part in parts] == WORDS  # one PayloadPart per chunk the container sent
    assert answer["ContentType"] == "text/plain"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    first, last = parts[0][0], parts[-1][0]
    # The container sleeps WORD_DELAY before each word: the first part comes after one delay, the last
    # after all of them. Measured in this run, as a ratio: the first arrives long before the end.
    assert first < last / 2, f"first part after {first:.2f} s, last after {last:.2f} s"
    assert last >= WORD_DELAY * len(WORDS)


def test_a_pipeline_streams_its_last_container(runtime):
    answer, parts = stream(runtime, "pipeline")
    assert b"".join(part for _, part in parts) == b"".join(WORDS)
    assert len(parts) == len(WORDS)
    hops = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
    assert [hop["container"] for hop in hops] == ["first", "last"]


def test_a_container_that_breaks_mid_stream_ends_it_with_model_stream_error(runtime):
    answer = runtime.invoke_endpoint_with_response_stream(EndpointName="breaking", Body=b"".join(WORDS),
                                                          ContentType="text/plain")
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in answer["Body"]:
            received.append(event["PayloadPart"]["Bytes"])
    assert received == WORDS[:2]
    error = caught.value.response["Error"]
    assert error["Code"] == "ModelStreamError"
    # boto3 keeps only Code and Message; the frame's ErrorCode (StreamBroken) is checked in tests/unit/test_event_stream.py
    assert error["Message"].startswith("The response stream from container primary broke: ")


def test_a_container_error_before_the_stream_is_a_model_error(runtime):
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint_with_response_stream(EndpointName="failing", Body=b"x", ContentType="text/plain")
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ModelError", 424)
    assert error["OriginalStatusCode"] == 500


def test_an_unknown_endpoint_is_a_validation_error(runtime):
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint_with_response_stream(EndpointName="nowhere", Body=b"x")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "Endpoint nowhere of account" in caught.value.response["Error"]["Message"]


def logged(emulator, since: int, endpoint: str) -> dict:
    """The first invocation of `endpoint` the request log has after `since` (records of earlier tests may
    still be arriving: each read waits for anything new, so read until this endpoint's shows)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = urllib3.request("GET", f"{emulator.url}/_emulator/invocations?since={since}&wait=2&endpoint={endpoint}",
                                 timeout=15).json()
        if answer["invocations"]:
            return answer["invocations"][0]
    raise AssertionError(f"no invocation of {endpoint} logged after #{since} within 10 s")


def test_the_request_log_records_a_stream_when_it_ends(emulator, runtime):
    since = urllib3.request("GET", f"{emulator.url}/_emulator/invocations", timeout=15).json()["next"]
    stream(runtime, "streaming")
    record = logged(emulator, since, "streaming")
    assert (record["status"], record["hops"][-1]["bytes_out"]) == (200, len(b"".join(WORDS)))
    assert record["hops"][-1]["ms"] >= WORD_DELAY * len(WORDS) * 1000  # the last hop lasts until its stream ends
    since = record["seq"]
    answer = runtime.invoke_endpoint_with_response_stream(EndpointName="breaking", Body=b"".join(WORDS))
    with pytest.raises(EventStreamError):
        list(answer["Body"])
    record = logged(emulator, since, "breaking")
    assert record["error"]["code"] == "ModelStreamError" and record["error"]["ErrorCode"] == "StreamBroken"
    assert record["hops"][-1]["bytes_out"] == len(b"".join(WORDS[:2]))


def test_a_caller_that_leaves_mid_stream_leaves_the_endpoint_answering(emulator, runtime):
    """The container's connection, mid-answer, is closed rather than reused for the next call."""
    pool = urllib3.PoolManager()
    answer = pool.request("POST", f"{emulator.url}/endpoints/streaming/invocations-response-stream", body=b"".join(WORDS),
                          headers={"Content-Type": "text/plain"}, preload_content=False, timeout=15)
    assert answer.status == 200 and answer.read1(1 << 16)  # the first part, then the caller goes
    answer.close()
    pool.clear()
    for _ in range(2):
        _, parts = stream(runtime, "streaming")
        assert [part for _, part in parts] == WORDS
