"""Instance counts are real: a variant of N instances runs N copies of its containers, requests spread over the
copies that answer, a killed copy is left out until the supervisor has it back, UpdateEndpointWeightsAndCapacities
adds and removes copies under load, and a cap bounds the copies; real boto3 against real containers."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any, Iterator

import pytest

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE
from tests.reliability.support import wait_for

pytestmark = pytest.mark.docker
FAST = {"Delay": 1, "MaxAttempts": 90}
CAP = 3
PROGRESS: list[str] = []


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    # A short invocation timeout: removed copies drain for that long before they stop.
    with Emulator(startup_timeout=60, invocation_timeout=5, max_instances=CAP, progress=PROGRESS.append) as running:
        running.serve()
        yield running


def create(sm, name: str, instances: int) -> None:
    sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": instances,
         "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)


def instance_of(answer: dict) -> str:
    """The instance that answered, as X-Emulator-Trace names it on each hop."""
    hops = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
    return hops[-1].get("instance")  # None: a variant of one instance


class Load:
    """Threads invoking the endpoint (or one of its inference components) until stopped: which instance or copy
    answered each call, and every failure."""

    def __init__(self, runtime, endpoint: str, threads: int = 3, component: str | None = None):
        self.answered: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        named = {"InferenceComponentName": component} if component else {}
        self._threads = [threading.Thread(target=self._run, args=(runtime, endpoint, named)) for _ in range(threads)]

    def _run(self, runtime, endpoint: str, named: dict[str, str]) -> None:
        while not self._stop.is_set():
            try:
                answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"ask", ContentType="text/plain", **named)
                self.answered.append(instance_of(answer))
            except Exception as exc:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(exc))

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def until(self, calls: int) -> None:
        wait_for(lambda: len(self.answered) + len(self.failures) >= calls, 120, f"{calls} calls")


def copies(emulator: Emulator, endpoint: str) -> dict[str, Any]:
    """Each instance's name and its container group, as the owner runs them."""
    return {name.split("/", 1)[1]: group for name, group in emulator.lifecycle.variants()
            if group.name == endpoint and "/" in name}


def test_three_instances_spread_300_requests_and_survive_the_kill_of_one(example_images, emulator, sm, runtime,
                                                                          docker_engine):
    endpoint = "instances-three"
    create(sm, endpoint, 3)
    described = sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    assert (described["CurrentInstanceCount"], described["DesiredInstanceCount"]) == (3, 3)
    running = copies(emulator, endpoint)
    assert len(running) == 3 and all(name.startswith("i-") for name in running)
    assert len({group.containers[0].url for group in running.values()}) == 3  # each copy on its own port

    with Load(runtime, endpoint) as load:
        load.until(150)
        killed = sorted(running)[0]
        docker_engine.containers.get(running[killed].containers[0].id).kill()
        load.until(300)
        # The supervisor starts it again and, once it answers its pings, it is routed to again.
        since = len(load.answered)
        wait_for(lambda: killed in load.answered[since:], 60, f"{killed} answering again")
    assert load.failures == []
    spread = Counter(load.answered[:300])
    assert set(spread) == set(running) and min(spread.values()) > 20, spread

    # The request log names the instance on each hop, and its events the copy whose container stopped.
    log = wait_for(lambda: emulator.request_log.read(endpoint=endpoint), 10, "the request log")
    logged = {hop["instance"] for record in log["invocations"] for hop in record["hops"]}  # its last calls only
    assert logged <= set(running) and len(logged) >= 2, logged
    assert any(event["container"] == f"{killed}/primary" and event["event"] == "exited" for event in log["events"])
    sm.delete_endpoint(EndpointName=endpoint)


def test_desired_instance_count_adds_and_removes_copies_with_no_failed_request(example_images, emulator, sm, runtime):
    endpoint = "instances-scale"
    create(sm, endpoint, 1)
    with Load(runtime, endpoint) as load:
        load.until(30)
        assert set(load.answered) == {None}
        sm.update_endpoint_weights_and_capacities(EndpointName=endpoint, DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredInstanceCount": 3}])
        sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
        grown = len(load.answered)
        load.until(grown + 150)
        assert len(set(load.answered[grown + 10:])) == 3, Counter(load.answered[grown:])
        sm.update_endpoint_weights_and_capacities(EndpointName=endpoint, DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredInstanceCount": 2}])
        sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
        shrunk = len(load.answered)
        load.until(shrunk + 100)
    assert load.failures == []
    assert len(set(load.answered[shrunk + 10:])) == 2, Counter(load.answered[shrunk:])
    described = sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    assert (described["CurrentInstanceCount"], described["DesiredInstanceCount"]) == (2, 2)
    sm.delete_endpoint(EndpointName=endpoint)


def test_an_instance_count_above_the_cap_runs_the_cap_and_says_so(example_images, emulator, sm, runtime):
    endpoint = "instances-capped"
    create(sm, endpoint, 40)
    described = sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
    assert (described["CurrentInstanceCount"], described["DesiredInstanceCount"]) == (CAP, 40)
    assert len(copies(emulator, endpoint)) == CAP
    assert f"{endpoint}/AllTraffic: runs {CAP} of its 40 instances (at most {CAP} per variant: --max-instances, " \
           "SAGEMAKER_EMULATOR_MAX_INSTANCES)" in PROGRESS
    sm.delete_endpoint(EndpointName=endpoint)
