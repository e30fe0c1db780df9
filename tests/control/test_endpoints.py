"""Endpoints through real boto3 against real containers: lifecycle and waiters, variants at invoke time,
a Failed endpoint and its reason, blue/green UpdateEndpoint under load, deletion."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.conftest import ECHO_IMAGE
from tests.control.test_api import ARN, error_of
from tests.reliability.support import containers_of

pytestmark = pytest.mark.docker
FAST = {"Delay": 1, "MaxAttempts": 60}
CRASHING_IMAGE = "sagemaker-emulator/broken-crash-at-start:1"


def echo_model(sm, name: str, says: str, image: str = ECHO_IMAGE) -> str:
    sm.create_model(ModelName=name, PrimaryContainer={"Image": image, "Environment": {"ECHO_MODE": "append", "ECHO_NAME": says}})
    return name


def config(sm, name: str, *variants: tuple[str, str, float]) -> str:
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": variant, "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": weight} for variant, model, weight in variants])
    return name


def who(answer: dict) -> str:
    """The ECHO_NAME of the container that answered."""
    return json.loads(answer["Body"].read().splitlines()[-1])["host"]


def invoke(runtime, endpoint: str, **options) -> dict:
    return runtime.invoke_endpoint(EndpointName=endpoint, Body=b"ask\n", ContentType="text/plain", **options)


def test_create_wait_invoke_delete(example_images, sm, runtime, unique, docker_engine):
    endpoint = unique("endpoint")
    config(sm, endpoint, ("AllTraffic", echo_model(sm, unique("model"), "one"), 1.0))
    started = time.monotonic()
    assert sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)["EndpointArn"] == f"{ARN}:endpoint/{endpoint}"
    assert time.monotonic() - started < 2  # returns at once: the containers start in the background
    assert [e["EndpointStatus"] for e in sm.list_endpoints(NameContains=endpoint)["Endpoints"]] == ["Creating"]
    # DescribeEndpoint of a Creating endpoint waits (up to --describe-wait) for the change: a waiter's first
    # call returns as the containers become healthy, not 30 s later.
    described = sm.describe_endpoint(EndpointName=endpoint)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == endpoint
    assert [(v["VariantName"], v["CurrentWeight"], v["DeployedImages"][0]["SpecifiedImage"])
            for v in described["ProductionVariants"]] == [("AllTraffic", 1.0, ECHO_IMAGE)]
    answer = invoke(runtime, endpoint)
    assert answer["InvokedProductionVariant"] == "AllTraffic" and who(answer) == "one"
    assert sm.list_endpoints(NameContains=endpoint, StatusEquals="InService")["Endpoints"][0]["EndpointName"] == endpoint
    error = error_of(sm.create_endpoint, EndpointName=endpoint, EndpointConfigName=endpoint)
    assert error["Message"] == f'Cannot create already existing endpoint "{ARN}:endpoint/{endpoint}".'
    sm.delete_endpoint(EndpointName=endpoint)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig=FAST)
    assert error_of(sm.describe_endpoint, EndpointName=endpoint)["Message"] == f'Could not find endpoint "{ARN}:endpoint/{endpoint}".'
    with pytest.raises(ClientError, match="not found"):
        invoke(runtime, endpoint)
    assert containers_of(docker_engine, endpoint) == []


def test_variants_split_traffic_by_weight_and_target_variant_picks_one(example_images, sm, runtime, unique):
    endpoint = unique("endpoint")
    green = unique("green")  # a Serial pipeline of two containers, the last of which says "green"
    sm.create_model(ModelName=green, Containers=[
        {"ContainerHostname": "first", "Image": ECHO_IMAGE, "Environment": {"ECHO_MODE": "append", "ECHO_NAME": "first"}},
        {"ContainerHostname": "green", "Image": ECHO_IMAGE, "Environment": {"ECHO_MODE": "append", "ECHO_NAME": "green"}}])
    config(sm, endpoint, ("blue", echo_model(sm, unique("blue"), "blue"), 1.0), ("green", green, 1.0))
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    lines = invoke(runtime, endpoint, TargetVariant="green")["Body"].read().splitlines()
    assert [json.loads(line)["host"] for line in lines[1:]] == ["first", "green"]
    answers = [invoke(runtime, endpoint) for _ in range(40)]
    assert all(a["InvokedProductionVariant"] == who(a) for a in answers)  # the header names the variant that answered
    assert set(Counter(a["InvokedProductionVariant"] for a in answers)) == {"blue", "green"}
    assert {invoke(runtime, endpoint, TargetVariant="green")["InvokedProductionVariant"] for _ in range(5)} == {"green"}
    with pytest.raises(ClientError) as caught:
        invoke(runtime, endpoint, TargetVariant="purple")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "no production variant named purple" in caught.value.response["Error"]["Message"]
    sm.update_endpoint_weights_and_capacities(EndpointName=endpoint, DesiredWeightsAndCapacities=[
        {"VariantName": "blue", "DesiredWeight": 0.0}])
    assert {invoke(runtime, endpoint)["InvokedProductionVariant"] for _ in range(10)} == {"green"}
    weights = {v["VariantName"]: v["CurrentWeight"] for v in sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"]}
    assert weights == {"blue": 0.0, "green": 1.0}
    error = error_of(sm.update_endpoint_weights_and_capacities, EndpointName=endpoint,
                     DesiredWeightsAndCapacities=[{"VariantName": "purple", "DesiredWeight": 1.0}])
    assert "is not a variant of endpoint" in error["Message"]
    sm.delete_endpoint(EndpointName=endpoint)


def test_a_failed_endpoint_says_which_container_exited_and_its_last_logs(example_images, sm, unique, docker_engine):
    endpoint = unique("endpoint")
    config(sm, endpoint, ("AllTraffic", echo_model(sm, unique("model"), "x", image=CRASHING_IMAGE), 1.0))
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    with pytest.raises(WaiterError, match="Failed"):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed"
    reason = described["FailureReason"]
    assert "primary" in reason and "exited with code 3" in reason and "failing on purpose" in reason, reason
    assert containers_of(docker_engine, endpoint) == []
    error = error_of(sm.update_endpoint, EndpointName=endpoint, EndpointConfigName=endpoint)
    assert "Failed" in error["Message"] and "Fix:" in error["Message"]
    sm.delete_endpoint(EndpointName=endpoint)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig=FAST)


def test_update_endpoint_switches_blue_green_with_no_failed_request_under_load(example_images, sm, runtime, unique):
    endpoint = unique("endpoint")
    config(sm, endpoint, ("AllTraffic", echo_model(sm, unique("old"), "old"), 1.0))
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    answered: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                answered.append(who(invoke(runtime, endpoint)))
            except Exception as exc:  # noqa: BLE001 - every failure counts
                failures.append(repr(exc))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config(sm, unique("new"), ("AllTraffic", echo_model(sm, unique("new"), "new"), 1.0)))
        assert sm.list_endpoints(NameContains=endpoint)["Endpoints"][0]["EndpointStatus"] == "Updating"
        sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
        switched = len(answered)
        time.sleep(1.0)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == []
    assert "old" in answered[:switched] and set(answered[switched + 8:]) == {"new"}, Counter(answered)
    new_config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    assert new_config.startswith("new-")

    # An update whose containers fail leaves the endpoint InService on the config it had, with the reason.
    broken = config(sm, unique("broken"), ("AllTraffic", echo_model(sm, unique("broken"), "x", image=CRASHING_IMAGE), 1.0))
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=broken)
    error = error_of(sm.update_endpoint, EndpointName=endpoint, EndpointConfigName=broken)
    assert error["Message"] == f'Cannot update in-progress endpoint "{ARN}:endpoint/{endpoint}".'
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == new_config
    assert f"The update to endpoint configuration {broken} failed" in described["FailureReason"]
    assert "exited with code 3" in described["FailureReason"]
    assert who(invoke(runtime, endpoint)) == "new"
    sm.delete_endpoint(EndpointName=endpoint)
