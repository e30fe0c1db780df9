"""The embedded CloudWatch's metrics and alarms beyond what moto does: metrics the emulator makes itself, served
by moto as its own (in any account and region), and alarms evaluated, which moto only stores.

Metrics come in through moto's own door for them (`CloudWatchMetricProvider`: moto asks every provider for its
datapoints whenever a call reads metrics), so GetMetricStatistics, GetMetricData and ListMetrics see them without
a copy in moto's list. Alarms are evaluated by `AlarmEvaluator`, a thread of the owner, from the datapoints moto
answers with (the emulator's and those a caller put), each alarm with its own period, evaluation periods,
datapoints to alarm, statistic, comparison, threshold and treatment of missing data. Its periods are windows that
end at the evaluation, so an alarm with a 10-second period reacts within a second or two of its datapoints.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from emulator.parallel import Periodic
EVALUATION_INTERVAL = 1.0  # seconds between two evaluations of every alarm
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (lambda value, threshold: value > threshold, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda value, threshold: value >= threshold, "greater than or equal to"),
    "LessThanThreshold": (lambda value, threshold: value < threshold, "less than"),
    "LessThanOrEqualToThreshold": (lambda value, threshold: value <= threshold, "less than or equal to"),
}
ALARM, OK, INSUFFICIENT_DATA = "ALARM", "OK", "INSUFFICIENT_DATA"
MOTO_CLOUDWATCH = "moto.cloudwatch.models"  # loaded by the first CloudWatch call (or alarm state asked for)

Source = Callable[[], Iterable[Any]]  # datapoints (moto's MetricAggregatedDatum) a part of the emulator makes
_sources: list[Source] = []
_sources_lock = threading.Lock()


def publish(source: Source) -> None:
    """Serve `source`'s datapoints from the embedded CloudWatch, in every account and region, until `withdraw`."""
    _install_provider()
    with _sources_lock:
        _sources.append(source)


def withdraw(source: Source) -> None:
    with _sources_lock:
        if source in _sources:
            _sources.remove(source)


def statistic_set(namespace: str, name: str, dimensions: list[dict[str, str]], second: int, unit: str) -> Any:
    """An empty statistic set (moto's MetricAggregatedDatum) at `second` (Unix time), for its owner to fill."""
    from moto.cloudwatch.models import MetricAggregatedDatum  # noqa: PLC0415 - moto is heavy, imported when used

    return MetricAggregatedDatum(namespace, name, 0.0, 0.0, 0, 0.0, dimensions, moto_time(second), unit)


def moto_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)  # moto keeps naive UTC times


_provider: list[type] = []  # the one provider class, once defined


def _install_provider() -> None:
    """moto finds providers as the subclasses of CloudWatchMetricProvider: one is defined, once per process."""
    with _sources_lock:
        if _provider:
            return
        from moto.core.common_models import CloudWatchMetricProvider  # noqa: PLC0415

        class EmulatorMetrics(CloudWatchMetricProvider):
            @staticmethod
            def get_cloudwatch_metrics(account_id: str, region: str) -> list[Any]:
                with _sources_lock:
                    sources = list(_sources)
                return [datum for source in sources for datum in source()]

        _provider.append(EmulatorMetrics)


# -- alarms ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlarmRule:
    """What an alarm on one metric asks (moto's Alarm holds it): the emulator evaluates it."""
    namespace: str
    metric: str
    dimensions: frozenset[tuple[str, str]]
    statistic: str  # SampleCount, Sum, Average, Minimum, Maximum
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    comparison: str
    threshold: float
    treat_missing: str = "missing"  # missing, notBreaching, breaching, ignore
    unit: str | None = None

    @classmethod
    def of(cls, alarm: Any) -> "AlarmRule | None":
        """The rule of moto's `alarm`; None for what is not evaluated here (metric math, percentiles,
        anomaly detection, composite alarms)."""
        if not alarm.metric_name or alarm.metric_data_queries or alarm.statistic not in _STATISTICS \
                or alarm.comparison_operator not in COMPARISONS:
            return None
        dimensions = frozenset((d.name, d.value) for d in alarm.dimensions)
        periods = int(alarm.evaluation_periods)
        return cls(alarm.namespace, alarm.metric_name, dimensions, alarm.statistic, int(alarm.period), periods,
                   int(alarm.datapoints_to_alarm or periods), alarm.comparison_operator, float(alarm.threshold),
                   alarm.treat_missing_data or "missing", alarm.unit)

    def matches(self, datum: Any) -> bool:
        return (datum.namespace == self.namespace and datum.name == self.metric
                and frozenset((d.name, d.value) for d in datum.dimensions) == self.dimensions
                and (self.unit is None or datum.unit == self.unit))


_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str


def evaluate(rule: AlarmRule, datums: Iterable[Any], now: float, current: str) -> Verdict:
    """The alarm's state at `now` (Unix time) from the datapoints of its metric: its last `evaluation_periods`
    windows of `period` seconds; ALARM when `datapoints_to_alarm` of them breach the threshold."""
    values = windows(rule, datums, now)
    treated = [_treated(value, rule.treat_missing) for value in values]
    present = [value for value in treated if value is not None]
    breaching = [value for value in present if value is True or COMPARISONS[rule.comparison][0](value, rule.threshold)]
    words = COMPARISONS[rule.comparison][1]
    if len(breaching) >= rule.datapoints_to_alarm:
        shown = ", ".join("missing" if value is True else f"{value:g}" for value in breaching)
        return Verdict(ALARM, f"Threshold Crossed: {len(breaching)} out of the last {rule.evaluation_periods} "
                              f"datapoints [{shown}] {'was' if len(breaching) == 1 else 'were'} {words} the "
                              f"threshold ({rule.threshold:g}) (minimum {rule.datapoints_to_alarm} datapoint"
                              f"{'' if rule.datapoints_to_alarm == 1 else 's'} for OK -> ALARM transition).")
    if not present:
        if rule.treat_missing == "ignore":
            return Verdict(current, "")
        return Verdict(INSUFFICIENT_DATA, f"Insufficient Data: no datapoint in the last {rule.evaluation_periods} "
                                          f"period{'' if rule.evaluation_periods == 1 else 's'} of {rule.period} s.")
    return Verdict(OK, f"Threshold Crossed: no more than {rule.datapoints_to_alarm - 1} of the last "
                       f"{rule.evaluation_periods} datapoints {words} the threshold ({rule.threshold:g}).")


def windows(rule: AlarmRule, datums: Iterable[Any], now: float) -> list[float | None]:
    """The statistic of each of the last `evaluation_periods` windows, oldest first (None: no datapoint in it)."""
    end = moto_time(now)
    period = timedelta(seconds=rule.period)
    start = end - period * rule.evaluation_periods
    sets: list[list[Any]] = [[] for _ in range(rule.evaluation_periods)]
    for datum in datums:
        if start <= datum.timestamp < end and rule.matches(datum):
            sets[min(int((datum.timestamp - start) / period), rule.evaluation_periods - 1)].append(datum)
    return [_statistic(rule.statistic, data) if data else None for data in sets]


def _statistic(statistic: str, data: list[Any]) -> float:
    count = sum(getattr(d, "sample_count", 1) for d in data)
    total = sum(getattr(d, "sum", getattr(d, "value", 0.0)) for d in data)
    if statistic == "SampleCount":
        return float(count)
    if statistic == "Sum":
        return total
    if statistic == "Average":
        return total / count if count else 0.0
    if statistic == "Minimum":
        return min(getattr(d, "min", getattr(d, "value", 0.0)) for d in data)
    return max(getattr(d, "max", getattr(d, "value", 0.0)) for d in data)


def _treated(value: float | None, treat_missing: str) -> float | bool | None:
    """A window's value, or for a missing one: True (breaching), None (not counted) or a value that never
    breaches (notBreaching counts as good)."""
    if value is not None:
        return value
    if treat_missing == "breaching":
        return True
    if treat_missing == "notBreaching":
        return float("nan")  # every comparison with NaN is False: present, never breaching
    return None


class AlarmEvaluator(Periodic):
    """A thread that evaluates every metric alarm of the embedded CloudWatch each EVALUATION_INTERVAL and
    records a changed state on the alarm (DescribeAlarms shows it, with its reason and history)."""

    def __init__(self, interval: float = EVALUATION_INTERVAL):
        super().__init__("cloudwatch-alarms", interval, evaluate_all)


def evaluate_all(now: float) -> None:
    if MOTO_CLOUDWATCH not in sys.modules:
        return  # no CloudWatch call was made in this process: there is no alarm
    for backend in _backends():
        alarms = list(backend.alarms.values())
        if not alarms:
            continue
        datums = backend.get_all_metrics()
        for alarm in alarms:
            rule = AlarmRule.of(alarm)
            if rule is None or _held(alarm, rule, now):
                continue
            verdict = evaluate(rule, datums, now, alarm.state_value)
            if verdict.state != alarm.state_value:
                alarm.update_state(verdict.reason, "{}", verdict.state)
                _set_here[alarm.alarm_arn] = alarm.state_updated_timestamp


# When the evaluator last set each alarm's state (by ARN): a state set at another time was a caller's.
_set_here: dict[str, datetime] = {}


def _held(alarm: Any, rule: AlarmRule, now: float) -> bool:
    """A state a caller set with SetAlarmState (to test an alarm's actions, or a deployment's rollback) holds until
    the alarm's next evaluation, one period later, as on CloudWatch."""
    if not alarm.history or alarm.state_updated_timestamp == _set_here.get(alarm.alarm_arn):
        return False
    return moto_time(now) - alarm.state_updated_timestamp < timedelta(seconds=rule.period)


def alarm_states(names: Iterable[str]) -> dict[str, str]:
    """The state of each named alarm that exists (in any account and region of the embedded CloudWatch)."""
    wanted = set(names)
    return {name: alarm.state_value for backend in _backends() for name, alarm in list(backend.alarms.items())
            if name in wanted}


def _backends() -> Iterator[Any]:
    from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

    for regions in list(cloudwatch_backends.values()):
        yield from list(regions.values())
