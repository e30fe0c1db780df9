"""Asynchronous inference through real boto3 against real containers: InvokeEndpointAsync answers 202 at
once and the answer appears in S3 (the emulator's embedded S3), or a failure object for a failing
container, an expired request, a timed-out container or a missing input; and SageMaker's refusals."""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients

pytestmark = pytest.mark.docker
BUCKET = "async-answers"
SLOW, BROKEN, REALTIME, DELETED = "async-slow", "async-broken", "realtime-echo", "async-deleted"
DELAY = 2  # seconds the slow echo takes per invocation


@pytest.fixture(scope="module")
def emulator(example_images) -> Iterator[Emulator]:
    with Emulator(startup_timeout=60) as running:
        running.serve()
        sm, s3 = clients(running.url, "sagemaker"), clients(running.url, "s3")
        s3.create_bucket(Bucket=BUCKET)
        deploy(sm, SLOW, {"Image": ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": str(DELAY)}},
               {"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out/", "S3FailurePath": f"s3://{BUCKET}/failed"}})
        deploy(sm, BROKEN, {"Image": ECHO_IMAGE, "Environment": {"ECHO_STATUS": "500"}},
               {"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/broken-out", "S3FailurePath": f"s3://{BUCKET}/broken-failed"},
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2}})
        deploy(sm, REALTIME, {"Image": ECHO_IMAGE}, None)
        deploy(sm, DELETED, {"Image": ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": str(DELAY)}},
               {"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/deleted"}, "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1}})
        for name in (SLOW, BROKEN, REALTIME, DELETED):
            sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        yield running


def deploy(sm: Any, name: str, container: dict, async_config: dict | None) -> None:
    sm.create_model(ModelName=name, PrimaryContainer=container)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name}],
                              **({"AsyncInferenceConfig": async_config} if async_config else {}))
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


@pytest.fixture(scope="module")
def runtime(emulator: Emulator) -> Any:
    return clients(emulator.url, "sagemaker-runtime")


@pytest.fixture(scope="module")
def s3(emulator: Emulator) -> Any:
    return clients(emulator.url, "s3")


def put_input(s3: Any, key: str, body: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def key_of(url: str) -> str:
    assert url.startswith(f"s3://{BUCKET}/"), url
    return url[len(f"s3://{BUCKET}/"):]


def wait_for_object(s3: Any, url: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return s3.get_object(Bucket=BUCKET, Key=key_of(url))
        except s3.exceptions.NoSuchKey:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not appear within {seconds} s")


def missing(s3: Any, url: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key_of(url))
    except ClientError as error:
        return error.response["Error"]["Code"] == "404"
    return False


def test_answers_202_at_once_and_the_output_appears_in_s3(emulator, runtime, s3):
    source = put_input(s3, "in/hello.txt", b"hello async")
    answer = runtime.invoke_endpoint_async(EndpointName=SLOW, InputLocation=source, ContentType="text/plain",
                                           InferenceId="first-request")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["InferenceId"] == "first-request"
    assert answer["OutputLocation"] == f"s3://{BUCKET}/out/first-request.out"
    assert answer["FailureLocation"] == f"s3://{BUCKET}/failed/first-request-error.out"
    assert missing(s3, answer["OutputLocation"])  # the container takes DELAY seconds: 202 came before the answer
    output = wait_for_object(s3, answer["OutputLocation"])
    assert output["Body"].read() == b"hello async" and output["ContentType"] == "text/plain"
    assert missing(s3, answer["FailureLocation"])
    [logged] = emulator.request_log.read(endpoint=SLOW)["invocations"][:1]  # as `sagemaker-emulator trace` shows it
    assert (logged["status"], logged["source"], logged["variant"]) == (200, "async", "AllTraffic")


def test_an_inference_id_is_generated_and_filename_and_path_extension_place_the_output(runtime, s3):
    source = put_input(s3, "in/named.txt", b"named")
    answer = runtime.invoke_endpoint_async(EndpointName=SLOW, InputLocation=source, Filename="result.txt",
                                           S3OutputPathExtension="daily/run-1")
    assert len(answer["InferenceId"]) == 36  # a UUID
    assert answer["OutputLocation"] == f"s3://{BUCKET}/out/daily/run-1/result.txt"
    assert wait_for_object(s3, answer["OutputLocation"])["Body"].read() == b"named"


def test_a_failing_container_leaves_a_failure_object(runtime, s3):
    source = put_input(s3, "in/broken.txt", b"x")
    answer = runtime.invoke_endpoint_async(EndpointName=BROKEN, InputLocation=source, InferenceId="bad-1")
    assert answer["FailureLocation"] == f"s3://{BUCKET}/broken-failed/bad-1-error.out"
    reason = wait_for_object(s3, answer["FailureLocation"])["Body"].read().decode()
    assert "Received server error (500) from primary" in reason
    assert missing(s3, answer["OutputLocation"])


def test_a_container_slower_than_the_invocation_timeout_leaves_a_failure_object(runtime, s3):
    source = put_input(s3, "in/slow.txt", b"slow")
    answer = runtime.invoke_endpoint_async(EndpointName=SLOW, InputLocation=source, InvocationTimeoutSeconds=1)
    reason = wait_for_object(s3, answer["FailureLocation"])["Body"].read().decode()
    assert "timed out while waiting for a response from container primary" in reason
    assert missing(s3, answer["OutputLocation"])


def test_a_request_older_than_its_ttl_when_its_turn_comes_expires(emulator, runtime, s3):
    source = put_input(s3, "in/late.txt", b"late")
    emulator.asynchronous.clock = lambda: time.time() + 3600  # the workers' clock, one hour on
    try:
        answer = runtime.invoke_endpoint_async(EndpointName=SLOW, InputLocation=source, RequestTTLSeconds=60)
        reason = wait_for_object(s3, answer["FailureLocation"])["Body"].read().decode()
    finally:
        emulator.asynchronous.clock = time.time
    assert f"Request {answer['InferenceId']} expired" in reason and "RequestTTLSeconds (60 s)" in reason
    assert missing(s3, answer["OutputLocation"])


def test_a_missing_input_object_is_accepted_then_fails(runtime, s3):
    answer = runtime.invoke_endpoint_async(EndpointName=SLOW, InputLocation=f"s3://{BUCKET}/in/nothing-here")
    reason = wait_for_object(s3, answer["FailureLocation"])["Body"].read().decode()
    assert "Could not read the request's input" in reason and "nothing-here" in reason


def test_requests_queued_for_an_endpoint_deleted_meanwhile_fail(emulator, runtime, s3):
    source = put_input(s3, "in/orphan.txt", b"orphan")
    answers = [runtime.invoke_endpoint_async(EndpointName=DELETED, InputLocation=source) for _ in range(3)]
    # One invocation at a time: the first is in the container, the second waits for its slot, the third is queued.
    clients(emulator.url, "sagemaker").delete_endpoint(EndpointName=DELETED)
    reason = wait_for_object(s3, answers[2]["FailureLocation"])["Body"].read().decode()
    assert f"Endpoint {DELETED} could not run request {answers[2]['InferenceId']}" in reason
    for started in answers[:2]:  # cut short by the deletion, or answered just before it: one object either way
        deadline = time.monotonic() + 30
        while missing(s3, started["OutputLocation"]) and missing(s3, started["FailureLocation"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert missing(s3, started["OutputLocation"]) != missing(s3, started["FailureLocation"])


def refusal(call, **members) -> str:
    with pytest.raises(ClientError) as caught:
        call(**members)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError", error
    return error["Message"]


def test_refusals_as_sagemaker_answers_them(runtime, s3):
    source = put_input(s3, "in/refused.txt", b"no")
    assert "is not an asynchronous inference endpoint" in refusal(
        runtime.invoke_endpoint_async, EndpointName=REALTIME, InputLocation=source)
    assert "is an asynchronous inference endpoint" in refusal(
        runtime.invoke_endpoint, EndpointName=SLOW, Body=b"x", ContentType="text/plain")
    assert refusal(runtime.invoke_endpoint_async, EndpointName="nowhere", InputLocation=source).startswith(
        "Endpoint nowhere of account")
    assert "at 'requestTTLSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600" in refusal(
        runtime.invoke_endpoint_async, EndpointName=SLOW, InputLocation=source, RequestTTLSeconds=21601)
    assert "reads s3:// input locations only" in refusal(
        runtime.invoke_endpoint_async, EndpointName=SLOW, InputLocation="https://example.com/in.txt")


def test_an_update_cannot_make_an_endpoint_asynchronous(emulator):
    sm = clients(emulator.url, "sagemaker")
    sm.create_endpoint_config(EndpointConfigName="realtime-to-async", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": REALTIME}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/x"}})
    with pytest.raises(ClientError) as caught:
        sm.update_endpoint(EndpointName=REALTIME, EndpointConfigName="realtime-to-async")
    assert "AsyncInferenceConfig parameter cannot be added to endpoint" in caught.value.response["Error"]["Message"]
    assert sm.describe_endpoint(EndpointName=SLOW)["AsyncInferenceConfig"]["OutputConfig"]["S3FailurePath"] == f"s3://{BUCKET}/failed"


@pytest.mark.slow
def test_requests_accepted_before_a_stop_run_when_the_emulator_starts_again(s3, tmp_path):
    """A graceful stop cuts no request short: the one in flight and the queued ones run at the next start on the
    same state folder (the embedded S3 of this process keeps the objects meanwhile)."""
    state, sources = tmp_path / "state", [put_input(s3, f"in/kept-{number}", b"kept %d" % number) for number in range(3)]
    with Emulator(state=state, startup_timeout=60) as first:
        sm, runtime = clients(first.serve(), "sagemaker"), clients(first.url, "sagemaker-runtime")
        deploy(sm, "async-kept", {"Image": ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": str(DELAY)}},
               {"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/kept"}, "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1}})
        sm.get_waiter("endpoint_in_service").wait(EndpointName="async-kept", WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        answers = [runtime.invoke_endpoint_async(EndpointName="async-kept", InputLocation=source) for source in sources]
    assert all(missing(s3, answer["OutputLocation"]) and missing(s3, answer["FailureLocation"]) for answer in answers)
    with Emulator(state=state, startup_timeout=60):
        for number, answer in enumerate(answers):
            assert wait_for_object(s3, answer["OutputLocation"], 60)["Body"].read() == b"kept %d" % number
            assert missing(s3, answer["FailureLocation"])
