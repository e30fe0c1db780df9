"""SageMaker's endpoint metrics in the embedded CloudWatch, made from the request log's records: namespace
`AWS/SageMaker`, dimensions `EndpointName` and `VariantName`, one statistic set per metric, variant and second.

As SageMaker documents them, per real-time invocation (InvokeEndpoint and its response stream):
    Invocations          1                                           (unit None)
    Invocation4XXErrors  1 when the model answered 4xx, else 0       (unit None)
    Invocation5XXErrors  1 when the model answered 5xx, else 0       (unit None)
    ModelLatency         the containers' time, summed over a pipeline's containers (Microseconds)
    OverheadLatency      the rest of the time from request to answer (Microseconds)
"The model answered" is the container's status when one answered (a ModelError's OriginalStatusCode), else the
status the caller was answered (a timeout is 5xx). Asynchronous invocations are left out, as SageMaker leaves
them out of these metrics. Seconds older than RETENTION are dropped.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from emulator.aws import cloudwatch

NAMESPACE = "AWS/SageMaker"
RETENTION = 3 * 3600  # seconds: CloudWatch keeps one-second datapoints for three hours
LATENCIES = ("ModelLatency", "OverheadLatency")
REAL_TIME_SOURCES = ("front", "api")


def values_of(record: dict[str, Any]) -> dict[str, float]:
    """The metrics one request log record adds (name: value); none for what SageMaker does not count."""
    if record.get("source") not in REAL_TIME_SOURCES or not record.get("variant") or not record.get("endpoint"):
        return {}
    error = record.get("error") or {}
    status = int(error.get("OriginalStatusCode") or record["status"])
    values = {"Invocations": 1.0, "Invocation4XXErrors": float(400 <= status < 500),
              "Invocation5XXErrors": float(status >= 500)}
    model_hops = [hop for hop in record.get("hops", ()) if hop.get("action") in (None, "invoke")]
    if model_hops:
        model_ms = sum(hop.get("ms", 0.0) for hop in model_hops)
        values["ModelLatency"] = round(model_ms * 1000)
        values["OverheadLatency"] = round(max(record["ms"] - model_ms, 0.0) * 1000)
    return values


class SageMakerMetrics:
    """The statistic sets of every endpoint's metrics, fed with request log records, read by the embedded
    CloudWatch (emulator.aws.cloudwatch.publish). moto's datapoints are made from them only when moto asks (moto
    is loaded then anyway): an emulator whose CloudWatch nobody calls never loads it."""

    def __init__(self, retention: float = RETENTION):
        self.retention = retention
        self._sets: dict[tuple[str, str, str, int], list[float]] = {}  # [count, sum, minimum, maximum]
        self._datums: dict[tuple[str, str, str, int], Any] = {}  # moto's, made from _sets when asked for
        self._order: deque[tuple[str, str, str, int]] = deque()  # keys, oldest second first (about)
        self._lock = threading.Lock()

    def add(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            for record in records:
                second = int(record.get("time", 0))
                for name, value in values_of(record).items():
                    key = (record["endpoint"], record["variant"], name, second)
                    statistics = self._sets.get(key)
                    if statistics is None:
                        self._sets[key] = [1, value, value, value]
                        self._order.append(key)
                    else:
                        statistics[0] += 1
                        statistics[1] += value
                        statistics[2], statistics[3] = min(statistics[2], value), max(statistics[3], value)
            newest = max((int(record.get("time", 0)) for record in records), default=0)
            while self._order and self._order[0][3] < newest - self.retention:
                key = self._order.popleft()
                self._sets.pop(key, None)
                self._datums.pop(key, None)

    def total(self, endpoint: str, variant: str, name: str, start: int, end: int) -> float:
        """The sum of a variant's metric over the seconds from `start` to `end` (Unix time, end excluded)."""
        with self._lock:
            return sum(self._sets.get((endpoint, variant, name, second), (0, 0.0))[1] for second in range(start, end))

    def datums(self) -> list[Any]:
        """moto's datapoints (MetricAggregatedDatum), one per metric, variant and second."""
        with self._lock:
            for key, (count, total, low, high) in self._sets.items():
                datum = self._datums.get(key)
                if datum is None:
                    endpoint, variant, name, second = key
                    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
                    unit = "Microseconds" if name in LATENCIES else "None"
                    datum = self._datums[key] = cloudwatch.statistic_set(NAMESPACE, name, dimensions, second, unit)
                datum.sample_count, datum.sum, datum.min, datum.max = count, total, low, high
            return list(self._datums.values())
