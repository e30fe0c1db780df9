"""Serverless endpoints through real boto3 against real containers: a variant stopped after idling cold-starts on
its next call (the call succeeds and the request log says so; concurrent first calls share one start), the call
over MaxConcurrency is throttled, ProvisionedConcurrency keeps the variant warm, MemorySizeInMB bounds its memory,
the 4 MB payload limit, and the configurations SageMaker refuses."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from emulator.api import Emulator
from emulator.containers import labels as L
from emulator.control.plane import key
from emulator.waiting import wait_until
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients
from tests.test_request_log import read_log

pytestmark = pytest.mark.docker
IDLE = 2.0  # seconds a serverless variant serves nothing before it stops
COLD, SLOW = "sls-cold", "sls-slow"
DELAY = 3  # seconds the slow echo takes per invocation
MB = 1024 * 1024


@pytest.fixture(scope="module")
def emulator(example_images) -> Iterator[Emulator]:
    with Emulator(startup_timeout=60, serverless_idle=IDLE) as running:
        running.serve()
        sm = clients(running.url, "sagemaker")
        deploy(sm, COLD, {"Image": ECHO_IMAGE}, {"MemorySizeInMB": 1024, "MaxConcurrency": 5})
        deploy(sm, SLOW, {"Image": ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": str(DELAY)}},
               {"MemorySizeInMB": 2048, "MaxConcurrency": 2, "ProvisionedConcurrency": 1})
        for name in (COLD, SLOW):
            sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        yield running


def deploy(sm: Any, name: str, container: dict, serverless: dict) -> None:
    sm.create_model(ModelName=name, PrimaryContainer=container)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "ServerlessConfig": serverless}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


@pytest.fixture(scope="module")
def runtime(emulator: Emulator) -> Any:
    return clients(emulator.url, "sagemaker-runtime")


def is_cold(emulator: Emulator, name: str) -> bool:
    return emulator.store.serving()[key(name)].variants[0].cold


def wait_cold(emulator: Emulator, name: str) -> None:
    assert wait_until(lambda: is_cold(emulator, name), timeout=IDLE * 10, interval=0.1), f"{name} never went cold"


def invoke(runtime: Any, name: str, body: bytes = b"1,2") -> dict:
    return runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)


def test_an_idle_variant_stops_and_its_next_call_cold_starts_it(emulator, runtime, docker_engine):
    invoke(runtime, COLD)
    wait_cold(emulator, COLD)
    assert emulator.lifecycle.running(COLD) == []  # no copy runs
    assert wait_until(lambda: not docker_engine.containers.list(all=True, filters={"label": f"{L.ENDPOINT}={COLD}"}),
                      timeout=60, interval=0.5), "its container was not removed"
    sm = clients(emulator.url, "sagemaker")
    assert sm.describe_endpoint(EndpointName=COLD)["EndpointStatus"] == "InService"  # as on SageMaker, throughout
    since = read_log(emulator.url)["next"]
    answer = invoke(runtime, COLD, b"after,idling")
    assert answer["Body"].read() == b"after,idling"
    assert not is_cold(emulator, COLD)
    records = wait_for_records(emulator, COLD, since, 1)
    assert records[0]["status"] == 200 and records[0]["cold_start_ms"] > 0
    warm = invoke(runtime, COLD)  # warm now: no cold start
    assert warm["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "cold_start_ms" not in wait_for_records(emulator, COLD, records[0]["seq"], 1)[0]


def test_concurrent_first_calls_share_one_cold_start(emulator, runtime):
    wait_cold(emulator, COLD)
    since = read_log(emulator.url)["next"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: invoke(runtime, COLD, f"call,{n}".encode())["Body"].read(), range(4)))
    assert answers == [f"call,{n}".encode() for n in range(4)]
    records = wait_for_records(emulator, COLD, since, 4)
    assert all(record["status"] == 200 for record in records)
    assert any("cold_start_ms" in record for record in records)
    started = [event for event in read_log(emulator.url, since, endpoint=COLD)["events"] if event["event"] == "started"]
    assert len(started) == 1, started


def test_the_call_over_max_concurrency_is_throttled(emulator, runtime):
    outcomes: list[Any] = []

    def call() -> None:
        try:
            outcomes.append(invoke(runtime, SLOW)["ResponseMetadata"]["HTTPStatusCode"])
        except ClientError as error:
            outcomes.append(error)

    first = [threading.Thread(target=call) for _ in range(2)]
    for thread in first:
        thread.start()
    time.sleep(DELAY / 3)  # both in flight: MaxConcurrency is 2
    call()
    for thread in first:
        thread.join()
    throttled = [outcome for outcome in outcomes if isinstance(outcome, ClientError)]
    assert len(throttled) == 1 and outcomes.count(200) == 2, outcomes
    error = throttled[0].response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "MaxConcurrency" in error["Error"]["Message"]
    assert invoke(runtime, SLOW)["ResponseMetadata"]["HTTPStatusCode"] == 200  # the slots were given back


def test_provisioned_concurrency_keeps_the_variant_warm(emulator):
    time.sleep(IDLE * 3)
    assert not is_cold(emulator, SLOW)


def test_memory_size_bounds_the_containers_and_describe_shows_the_config(emulator):
    (_, group), = emulator.lifecycle.running(SLOW)
    assert group.limits.memory_bytes == 2048 * MB
    variant, = clients(emulator.url, "sagemaker").describe_endpoint(EndpointName=SLOW)["ProductionVariants"]
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 2, "ProvisionedConcurrency": 1}
    assert "CurrentInstanceCount" not in variant


def test_a_payload_over_4_mb_is_refused(emulator, runtime):
    assert invoke(runtime, COLD, b"x" * (4 * MB))["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as refused:
        invoke(runtime, COLD, b"x" * (4 * MB + 1))
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert str(4 * MB) in refused.value.response["Error"]["Message"]


def test_the_sagemaker_sdk_deploys_a_serverless_endpoint_and_predicts(emulator, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    with emulator.redirected():
        import sagemaker
        from sagemaker.model import Model
        from sagemaker.predictor import Predictor
        from sagemaker.serverless import ServerlessInferenceConfig

        session = sagemaker.Session()
        model = Model(image_uri=ECHO_IMAGE, role="arn:aws:iam::123456789012:role/emulator", sagemaker_session=session,
                      predictor_cls=Predictor)
        predictor = model.deploy(serverless_inference_config=ServerlessInferenceConfig(memory_size_in_mb=1024,
                                                                                       max_concurrency=2),
                                 endpoint_name="sls-sdk", wait=True)
        try:
            assert predictor.predict(b"from,the,sdk", initial_args={"ContentType": "text/csv"}) == b"from,the,sdk"
            described = session.sagemaker_client.describe_endpoint(EndpointName="sls-sdk")
            assert described["ProductionVariants"][0]["CurrentServerlessConfig"]["MaxConcurrency"] == 2
        finally:
            predictor.delete_endpoint()


@pytest.mark.parametrize("change, problem", [
    ({"DataCaptureConfig": {"InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://b/capture",
                            "CaptureOptions": [{"CaptureMode": "Input"}]}}, "data capture"),
    ({"variant": {"InstanceType": "ml.m5.large"}}, "InstanceType"),
    ({"variant": {"ServerlessConfig": {"MemorySizeInMB": 1500, "MaxConcurrency": 1}}}, "1024, 2048"),
    ({"variant": {"ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1, "ProvisionedConcurrency": 2}}},
     "at most MaxConcurrency"),
    ({"second": True}, "one production variant"),
    ({"model": "sls-multimodel"}, "multi-model"),
])
def test_what_sagemaker_refuses_is_refused_at_create_endpoint_config(emulator, change, problem):
    sm = clients(emulator.url, "sagemaker")
    sm.create_model(ModelName="sls-multimodel", PrimaryContainer={"Image": ECHO_IMAGE, "Mode": "MultiModel",
                                                                 "ModelDataUrl": "s3://models/"}) \
        if not _exists(sm, "sls-multimodel") else None
    variant = {"VariantName": "AllTraffic", "ModelName": change.get("model", COLD),
               "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}, **change.get("variant", {})}
    variants = [variant, {**variant, "VariantName": "Second"}] if change.get("second") else [variant]
    extra = {member: value for member, value in change.items() if member[0].isupper()}
    with pytest.raises(ClientError) as refused:
        sm.create_endpoint_config(EndpointConfigName="sls-refused", ProductionVariants=variants, **extra)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert problem in refused.value.response["Error"]["Message"]


def _exists(sm: Any, model: str) -> bool:
    try:
        sm.describe_model(ModelName=model)
    except ClientError:
        return False
    return True


def wait_for_records(emulator: Emulator, name: str, since: int, count: int) -> list[dict]:
    """The endpoint's first `count` invocations after `since` (the workers send them within a second)."""
    found: list[dict] = []

    def arrived() -> bool:
        found[:] = read_log(emulator.url, since, endpoint=name)["invocations"]
        return len(found) >= count
    assert wait_until(arrived, timeout=10, interval=0.1), found
    return found[:count]
