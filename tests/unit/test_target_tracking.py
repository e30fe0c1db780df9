"""Target tracking's arithmetic and cooldowns (emulator.control.autoscaling), and the scaling activities'
paging (emulator.aws.autoscaling): pure logic, no engine."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.aws import autoscaling
from emulator.control.autoscaling import IN_DATAPOINTS, OUT_DATAPOINTS, History, Tracking, decide, proportional

POLICY = Tracking(target=100.0, scale_out_cooldown=300, scale_in_cooldown=600)


def history(*datapoints: float, scaled_out: float = -1e9, scaled_in: float = -1e9) -> History:
    kept = History(scaled_out=scaled_out, scaled_in=scaled_in)
    for datapoint in datapoints:
        kept.add(datapoint)
    return kept


def test_the_count_is_proportional_to_the_metric_rounded_up_within_the_bounds():
    assert proportional(1, 250, 100, 1, 10) == 3
    assert proportional(2, 100, 100, 1, 10) == 2
    assert proportional(2, 101, 100, 1, 10) == 3
    assert proportional(1, 1000, 100, 1, 4) == 4
    assert proportional(3, 0, 100, 1, 4) == 1


def test_it_scales_out_after_three_datapoints_above_the_target():
    assert decide(POLICY, history(300, 300), 1, 1, 5, now=0) == 1
    assert decide(POLICY, history(90, 300, 300), 1, 1, 5, now=0) == 1
    assert decide(POLICY, history(300, 300, 300), 1, 1, 5, now=0) == 3
    assert decide(POLICY, history(300, 300, 900), 1, 1, 5, now=0) == 5  # clamped to MaxCapacity


def test_it_scales_in_only_after_fifteen_datapoints_under_ninety_percent_of_the_target():
    low = [40.0] * IN_DATAPOINTS
    assert decide(POLICY, history(*low[1:]), 4, 1, 5, now=0) == 4
    assert decide(POLICY, history(*low[:-1], 95), 4, 1, 5, now=0) == 4  # 95 is not under 90
    assert decide(POLICY, history(*low), 4, 1, 5, now=0) == 2
    assert decide(Tracking(100.0, disable_scale_in=True), history(*low), 4, 1, 5, now=0) == 4


def test_cooldowns_hold_back_the_next_scaling():
    high = [300.0] * OUT_DATAPOINTS
    assert decide(POLICY, history(*high, scaled_out=0), 2, 1, 9, now=299) == 2
    assert decide(POLICY, history(*high, scaled_out=0), 2, 1, 9, now=300) == 6
    low = [10.0] * IN_DATAPOINTS
    assert decide(POLICY, history(*low, scaled_out=0), 4, 1, 9, now=599) == 4  # any scaling starts the scale-in wait
    assert decide(POLICY, history(*low, scaled_in=100), 4, 1, 9, now=699) == 4
    assert decide(POLICY, history(*low, scaled_in=100), 4, 1, 9, now=700) == 1


def test_a_count_outside_new_bounds_is_brought_inside_at_once():
    assert decide(POLICY, history(), 1, 2, 5, now=0) == 2
    assert decide(POLICY, history(), 6, 1, 5, now=0) == 5


@settings(max_examples=300, deadline=None)
@given(points=st.lists(st.floats(0, 1e6), max_size=20), current=st.integers(1, 20), low=st.integers(1, 10),
       span=st.integers(0, 10), target=st.floats(0.1, 1e4))
def test_the_count_asked_for_stays_within_the_bounds(points, current, low, span, target):
    high = low + span
    wanted = decide(Tracking(target), history(*points), current, low, high, now=1e9)
    assert low <= wanted <= high
    if low <= current <= high and points and points[-1] > target:
        assert wanted >= current  # a metric above the target never scales in


def test_policies_on_other_metrics_are_not_tracked():
    assert Tracking.of({"TargetValue": 5, "PredefinedMetricSpecification": {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}, "ScaleInCooldown": 30}) == \
        Tracking(5.0, 300.0, 30.0, False)
    assert Tracking.of({"TargetValue": 5, "CustomizedMetricSpecification": {"MetricName": "CPUUtilization"}}) is None


def test_activities_page_newest_first_and_new_ones_never_repeat_a_page():
    target = autoscaling.Target("paged", "AllTraffic", 1, 5, False, False, ())
    for count in (2, 3, 4):
        autoscaling.record_activity(target, count - 1, count, "load", at=float(count))
    asked = {"ServiceNamespace": "sagemaker", "ResourceId": target.resource_id, "MaxResults": 2}
    first = autoscaling.activities(asked)
    autoscaling.record_activity(target, 4, 5, "load", at=5.0)
    second = autoscaling.activities({**asked, "NextToken": first["NextToken"]})
    described = [a["Description"][-2] for a in first["ScalingActivities"] + second["ScalingActivities"]]
    assert described == ["4", "3", "2"] and "NextToken" not in second
