"""The alarm evaluation the embedded CloudWatch adds to moto, and the SageMaker metrics one invocation makes."""

from __future__ import annotations

from types import SimpleNamespace

from emulator.aws.cloudwatch import ALARM, INSUFFICIENT_DATA, OK, AlarmRule, _held, _set_here, evaluate, moto_time
from emulator.observe.metrics import values_of

NOW = 1_800_000_000.0
DIMENSIONS = [SimpleNamespace(name="EndpointName", value="e"), SimpleNamespace(name="VariantName", value="v")]


def datum(seconds_ago: float, total: float, count: int = 1, metric: str = "Invocation5XXErrors", dimensions=DIMENSIONS):
    return SimpleNamespace(namespace="AWS/SageMaker", name=metric, dimensions=dimensions, unit="None",
                           timestamp=moto_time(NOW - seconds_ago), sum=total, sample_count=count, min=0.0, max=total)


def rule(**changes) -> AlarmRule:
    fields = dict(namespace="AWS/SageMaker", metric="Invocation5XXErrors",
                  dimensions=frozenset({("EndpointName", "e"), ("VariantName", "v")}), statistic="Sum", period=10,
                  evaluation_periods=1, datapoints_to_alarm=1, comparison="GreaterThanThreshold", threshold=0.0)
    return AlarmRule(**{**fields, **changes})


def test_a_breaching_window_alarms_and_a_quiet_one_is_ok():
    assert evaluate(rule(), [datum(3, 1.0)], NOW, OK).state == ALARM
    assert evaluate(rule(), [datum(3, 0.0, count=5)], NOW, ALARM).state == OK


def test_datapoints_outside_the_periods_or_of_another_variant_do_not_count():
    other = [SimpleNamespace(name="EndpointName", value="e"), SimpleNamespace(name="VariantName", value="w")]
    assert evaluate(rule(), [datum(11, 4.0), datum(2, 4.0, dimensions=other)], NOW, OK).state == INSUFFICIENT_DATA


def test_m_out_of_n_windows_must_breach():
    two_of_three = rule(evaluation_periods=3, datapoints_to_alarm=2)
    assert evaluate(two_of_three, [datum(25, 1.0), datum(5, 0.0)], NOW, OK).state == OK
    assert evaluate(two_of_three, [datum(25, 1.0), datum(5, 2.0)], NOW, OK).state == ALARM


def test_missing_data_is_treated_as_the_alarm_says():
    assert evaluate(rule(treat_missing="breaching"), [], NOW, OK).state == ALARM
    assert evaluate(rule(treat_missing="notBreaching"), [], NOW, ALARM).state == OK
    assert evaluate(rule(treat_missing="ignore"), [], NOW, ALARM).state == ALARM
    assert evaluate(rule(), [], NOW, OK).state == INSUFFICIENT_DATA


def test_average_and_the_reason_name_the_threshold():
    average = rule(statistic="Average", comparison="GreaterThanOrEqualToThreshold", threshold=0.5)
    verdict = evaluate(average, [datum(4, 3.0, count=4)], NOW, OK)
    assert verdict.state == ALARM and "greater than or equal to the threshold (0.5)" in verdict.reason


def test_an_invocation_counts_once_and_errors_by_the_models_status():
    hop = {"container": "primary", "status": 500, "ms": 4.0}
    failed = {"source": "front", "endpoint": "e", "variant": "v", "status": 424, "ms": 5.5, "hops": [hop],
              "error": {"code": "ModelError", "OriginalStatusCode": 500}}
    assert values_of(failed) == {"Invocations": 1.0, "Invocation4XXErrors": 0.0, "Invocation5XXErrors": 1.0,
                                 "ModelLatency": 4000, "OverheadLatency": 1500}
    refused = {"source": "front", "endpoint": "e", "variant": "v", "status": 400, "ms": 1.0, "hops": [],
               "error": {"code": "ValidationError"}}
    assert values_of(refused) == {"Invocations": 1.0, "Invocation4XXErrors": 1.0, "Invocation5XXErrors": 0.0}


def test_asynchronous_and_unrouted_invocations_make_no_metrics():
    assert values_of({"source": "async", "endpoint": "e", "variant": "v", "status": 200, "ms": 1.0, "hops": []}) == {}
    assert values_of({"source": "front", "endpoint": "e", "variant": "", "status": 400, "ms": 1.0, "hops": []}) == {}


def test_records_fold_into_one_statistic_set_per_metric_variant_and_second():
    from emulator.observe.metrics import SageMakerMetrics

    metrics = SageMakerMetrics(retention=60)
    record = {"source": "front", "endpoint": "e", "variant": "v", "status": 200, "hops": [{"ms": 2.0}], "error": None}
    metrics.add([{**record, "time": NOW + 0.1, "ms": 3.0}, {**record, "time": NOW + 0.9, "ms": 5.0}])
    latency = next(d for d in metrics.datums() if d.name == "OverheadLatency")
    assert (latency.sample_count, latency.sum, latency.min, latency.max, latency.unit) == (2, 4000, 1000, 3000,
                                                                                          "Microseconds")
    assert latency.timestamp == moto_time(NOW) and len(metrics.datums()) == 5
    metrics.add([{**record, "time": NOW + 120, "ms": 3.0}])  # two minutes on: the first second is dropped
    assert {d.timestamp for d in metrics.datums()} == {moto_time(NOW + 120)}


def test_a_state_a_caller_set_holds_for_one_period_and_the_evaluators_own_never():
    rule = SimpleNamespace(period=60)
    set_at = moto_time(1000)
    alarm = SimpleNamespace(alarm_arn="arn:alarm", history=[("StateUpdate",)], state_updated_timestamp=set_at)
    assert _held(alarm, rule, 1059) and not _held(alarm, rule, 1060)  # SetAlarmState: until the next period
    _set_here["arn:alarm"] = set_at
    assert not _held(alarm, rule, 1001)  # the evaluator's own change is evaluated again at once
    created = SimpleNamespace(alarm_arn="arn:new", history=[], state_updated_timestamp=set_at)
    assert not _held(created, rule, 1001)  # a new alarm is evaluated at once
