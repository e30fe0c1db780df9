"""CloudWatch on the emulator's port, with real boto3 against real containers: SageMaker's endpoint metrics made
from the invocations, alarms on them evaluated, and bad input answered with CloudWatch's errors."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients, unique  # noqa: F401 - a fixture

pytestmark = pytest.mark.docker
FAST = {"Delay": 1, "MaxAttempts": 60}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(startup_timeout=60, invocation_timeout=10) as running:
        running.serve()
        yield running


def echo_endpoint(sm: Any, name: str, environment: dict[str, str] | None = None) -> str:
    sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE, "Environment": environment or {}})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def dimensions(endpoint: str) -> list[dict[str, str]]:
    return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def statistics(cloudwatch: Any, endpoint: str, metric: str, statistic: str = "Sum") -> tuple[float, str]:
    """The metric's `statistic` over the last ten minutes, in one period, and its unit."""
    now = datetime.now(timezone.utc)
    points = cloudwatch.get_metric_statistics(Namespace="AWS/SageMaker", MetricName=metric,
                                              Dimensions=dimensions(endpoint), StartTime=now - timedelta(minutes=10),
                                              EndTime=now + timedelta(minutes=1), Period=3600, Statistics=[statistic])
    assert points["Datapoints"], f"no datapoint of {metric}"
    return sum(point[statistic] for point in points["Datapoints"]), points["Datapoints"][0]["Unit"]


def test_invocations_make_sagemakers_metrics_and_an_alarm_on_5xx_fires(example_images, emulator, unique):
    sm, runtime = clients(emulator.url, "sagemaker"), clients(emulator.url, "sagemaker-runtime")
    cloudwatch = clients(emulator.url, "cloudwatch")
    good, bad = echo_endpoint(sm, unique("good")), echo_endpoint(sm, unique("bad"), {"ECHO_STATUS": "500"})
    for name in (good, bad):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)
    for name in (good, bad):
        cloudwatch.put_metric_alarm(AlarmName=f"{name}-5xx", Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
                                    Dimensions=dimensions(name), Statistic="Sum", Period=10, EvaluationPeriods=1,
                                    Threshold=0, ComparisonOperator="GreaterThanThreshold")
    for _ in range(5):
        runtime.invoke_endpoint(EndpointName=good, Body=b"1", ContentType="text/plain")
    for _ in range(3):
        with pytest.raises(ClientError, match="ModelError"):
            runtime.invoke_endpoint(EndpointName=bad, Body=b"1", ContentType="text/plain")

    eventually(lambda: _assert_equal(statistics(cloudwatch, bad, "Invocations")[0], 3))
    assert statistics(cloudwatch, good, "Invocations") == (5, "None")
    assert statistics(cloudwatch, good, "Invocation5XXErrors")[0] == 0
    assert statistics(cloudwatch, bad, "Invocation5XXErrors")[0] == 3
    assert statistics(cloudwatch, bad, "Invocation4XXErrors")[0] == 0  # the caller got 424, the model said 500
    latency, unit = statistics(cloudwatch, good, "ModelLatency", "Average")
    overhead, _ = statistics(cloudwatch, good, "OverheadLatency", "Average")
    assert unit == "Microseconds" and latency > 100 and overhead > 0  # a container answers in well over 0.1 ms
    listed = cloudwatch.list_metrics(Namespace="AWS/SageMaker", Dimensions=[{"Name": "EndpointName", "Value": good}])
    assert {metric["MetricName"] for metric in listed["Metrics"]} == {
        "Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency", "OverheadLatency"}
    now = datetime.now(timezone.utc)
    data = cloudwatch.get_metric_data(StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1), MetricDataQueries=[
        {"Id": "calls", "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations",
                                                  "Dimensions": dimensions(good)}, "Period": 600, "Stat": "Sum"}}])
    assert sum(data["MetricDataResults"][0]["Values"]) == 5

    def states() -> dict[str, str]:
        alarms = cloudwatch.describe_alarms(AlarmNames=[f"{good}-5xx", f"{bad}-5xx"])["MetricAlarms"]
        found = {alarm["AlarmName"]: alarm["StateValue"] for alarm in alarms}
        assert found == {f"{good}-5xx": "OK", f"{bad}-5xx": "ALARM"}, found
        return {alarm["AlarmName"]: alarm["StateReason"] for alarm in alarms}

    assert "greater than the threshold (0)" in eventually(states)[f"{bad}-5xx"]
    # Ten seconds without a call: no datapoint in the alarm's period, as CloudWatch says of missing data.
    eventually(lambda: _assert_equal(cloudwatch.describe_alarms(AlarmNames=[f"{bad}-5xx"])["MetricAlarms"][0]["StateValue"],
                                     "INSUFFICIENT_DATA"), timeout=30)
    for name in (good, bad):
        sm.delete_endpoint(EndpointName=name)


def test_bad_cloudwatch_input_gets_cloudwatchs_errors(emulator):
    cloudwatch = clients(emulator.url, "cloudwatch")
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_alarm(AlarmName="x" * 300, Namespace="N", MetricName="m", Statistic="Sum", Period=10,
                                    EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "length less than or equal to 255" in refused.value.response["Error"]["Message"]
    now = datetime.now(timezone.utc)
    with pytest.raises(ClientError) as backwards:
        cloudwatch.get_metric_statistics(Namespace="N", MetricName="m", StartTime=now, EndTime=now - timedelta(minutes=1),
                                         Period=60, Statistics=["Sum"])
    assert backwards.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _assert_equal(value: Any, expected: Any) -> None:
    assert value == expected, value
