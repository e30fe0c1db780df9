"""Guarded updates with real boto3 against real containers: a canary that an alarm on Invocation5XXErrors rolls
back while a client calls the whole time, and a linear update that completes; waits on a hundredth of real time."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients, unique  # noqa: F401 - a fixture

pytestmark = pytest.mark.docker
FAST = {"Delay": 1, "MaxAttempts": 120}
TIME_SCALE = 0.01  # a 3000-s bake lasts 30 s, a 200-s one 2 s


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(startup_timeout=60, invocation_timeout=5, time_scale=TIME_SCALE) as running:
        running.serve()
        yield running


def echo_config(sm: Any, name: str, says: str, **environment: str) -> str:
    sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE, "Environment": {
        "ECHO_MODE": "append", "ECHO_NAME": says, **environment}})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    return name


def watched_endpoint(sm: Any, cloudwatch: Any, unique: Any, name: str, **alarm: Any) -> tuple[str, str, str]:
    """(endpoint, its config, the alarm): an InService endpoint of the old echo and an alarm on its 5XX errors."""
    endpoint, old, alarm_name = unique(name), echo_config(sm, unique("old"), "old"), unique("errors")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=old)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    cloudwatch.put_metric_alarm(AlarmName=alarm_name, Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
                                Dimensions=[{"Name": "EndpointName", "Value": endpoint},
                                            {"Name": "VariantName", "Value": "AllTraffic"}],
                                Statistic="Sum", EvaluationPeriods=1, Threshold=0,
                                ComparisonOperator="GreaterThanThreshold", **alarm)
    return endpoint, old, alarm_name


def rolled_back(sm: Any, endpoint: str, old: str, alarm: str) -> tuple[float, dict]:
    """When the endpoint was InService again (the client calls on 1.5 s more), and its description: on its old
    config, the alarm named in the reason."""
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    back = time.monotonic()
    time.sleep(1.5)
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == old
    assert f"CloudWatch alarm {alarm} went into ALARM" in described["FailureReason"]
    return back, described


class Client:
    """Calls the endpoint without a pause from a thread; keeps who answered, and every failure, with its time."""

    def __init__(self, runtime: Any, endpoint: str):
        self.runtime, self.endpoint = runtime, endpoint
        self.answers: list[tuple[float, str]] = []
        self.model_errors: list[tuple[float, str]] = []  # the new model's own 500s, answered as ModelError
        self.failures: list[str] = []  # anything else
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> "Client":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.runtime.invoke_endpoint(EndpointName=self.endpoint, Body=b"ask\n", ContentType="text/plain")
                self.answers.append((time.monotonic(), json.loads(answer["Body"].read().splitlines()[-1])["host"]))
            except ClientError as error:
                body = error.response.get("OriginalMessage") or error.response["Error"].get("Message", "")
                if error.response["Error"]["Code"] == "ModelError" and "ECHO_STATUS=500" in body:
                    self.model_errors.append((time.monotonic(), body))
                else:
                    self.failures.append(repr(error))
            except Exception as exc:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(exc))


def test_an_alarm_on_5xx_rolls_a_canary_back_with_no_request_failed_by_the_update(example_images, emulator, unique):
    sm, runtime, cloudwatch = (clients(emulator.url, service) for service in ("sagemaker", "sagemaker-runtime",
                                                                              "cloudwatch"))
    endpoint, old, alarm = watched_endpoint(sm, cloudwatch, unique, "canary", Period=10)
    broken = echo_config(sm, unique("broken"), "new", ECHO_STATUS="500")
    with Client(runtime, endpoint) as client:
        time.sleep(1.0)
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=broken, DeploymentConfig={
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
                "Type": "CANARY", "WaitIntervalInSeconds": 3000,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20}},
                "MaximumExecutionTimeoutInSeconds": 28800},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}})
        back, described = rolled_back(sm, endpoint, old, alarm)
    assert f"{broken} was not deployed" in described["FailureReason"]
    assert cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "ALARM"
    # Nothing failed but the canary's own answers; once rolled back, every call is the old fleet's, and succeeds.
    assert client.failures == []
    assert client.model_errors, "the canary took no traffic"
    assert all(at < back + 0.5 for at, _ in client.model_errors)
    assert {who for at, who in client.answers if at > back + 0.5} == {"old"}, Counter(who for _, who in client.answers)
    share = len(client.model_errors) / (len(client.model_errors) + sum(1 for at, _ in client.answers if at < back))
    assert share < 0.5, f"the canary took {share:.0%} of the traffic"
    sm.delete_endpoint(EndpointName=endpoint)


def test_an_alarm_set_during_the_bake_rolls_back_with_zero_failed_requests(example_images, emulator, unique):
    """How AWS suggests rehearsing a rollback: SetAlarmState puts the alarm in ALARM during the bake. The canary is
    healthy, so a client calling the whole time sees no failure at all, before, during or after the rollback."""
    sm, runtime, cloudwatch = (clients(emulator.url, service) for service in ("sagemaker", "sagemaker-runtime",
                                                                              "cloudwatch"))
    endpoint, old, alarm = watched_endpoint(sm, cloudwatch, unique, "rehearsed", Period=60,
                                            TreatMissingData="notBreaching")
    new = echo_config(sm, unique("new"), "new")
    with Client(runtime, endpoint) as client:
        time.sleep(1.0)
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=new, DeploymentConfig={
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
                "Type": "CANARY", "WaitIntervalInSeconds": 3000,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50}}},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}})
        deadline = time.monotonic() + 120
        while not any(who == "new" for _, who in client.answers):  # the canary takes traffic: the bake is on
            assert time.monotonic() < deadline, "the canary never answered"
            time.sleep(0.1)
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="Rehearsing the rollback")
        back, described = rolled_back(sm, endpoint, old, alarm)
    assert client.failures == [] and client.model_errors == []
    assert {who for at, who in client.answers if at > back + 0.5} == {"old"}
    sm.delete_endpoint(EndpointName=endpoint)


def test_a_linear_update_shifts_in_steps_and_completes(example_images, emulator, unique):
    sm, runtime = clients(emulator.url, "sagemaker"), clients(emulator.url, "sagemaker-runtime")
    endpoint = unique("linear")
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=echo_config(sm, unique("old"), "old"))
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    new = echo_config(sm, unique("new"), "new")
    with pytest.raises(ClientError, match="needs LinearStepSize"):
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=new, DeploymentConfig={"BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 200}}})
    config = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "LINEAR", "WaitIntervalInSeconds": 200, "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50}},
        "TerminationWaitInSeconds": 100}}
    with Client(runtime, endpoint) as client:
        started = time.monotonic()
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=new, DeploymentConfig=config)
        sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
        done = time.monotonic()
        time.sleep(1.0)
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointConfigName"] == new and "FailureReason" not in described
    assert described["LastDeploymentConfig"] == config
    assert done - started >= 2 * 200 * TIME_SCALE  # two steps, each baked
    assert client.failures == [] and client.model_errors == []
    during = Counter(who for at, who in client.answers if started + 0.5 < at < done - 2.5)  # the 50 % step
    assert during["old"] and during["new"], during
    assert {who for at, who in client.answers if at > done + 0.3} == {"new"}
    sm.delete_endpoint(EndpointName=endpoint)
