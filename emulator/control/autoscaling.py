"""Target tracking on SageMakerVariantInvocationsPerInstance, as Application Auto Scaling does it for a
SageMaker variant registered as a scalable target (emulator.aws.autoscaling reads them from the embedded service).

Each (time-scaled) minute the scaler takes a datapoint per target: the variant's invocations in that minute per
instance. As AWS's target tracking alarms do, it scales out when the last 3 datapoints are above the target value,
and in when the last 15 are below 90 % of it (so it scales in slowly), to ceil(instances × metric / target)
within MinCapacity and MaxCapacity. ScaleOutCooldown (default 300 s) holds back the next scale-out;
ScaleInCooldown (default 300 s) holds back a scale-in after any scaling; DisableScaleIn leaves the scaling in to
the caller. The change goes through UpdateEndpointWeightsAndCapacities, so the real copies follow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.aws import autoscaling
from emulator.control.errors import ValidationException
from emulator.control.records import EndpointRecords
from emulator.parallel import Periodic

METRIC = "SageMakerVariantInvocationsPerInstance"
MINUTE = 60.0  # seconds of a datapoint (scaled by the time scale)
OUT_DATAPOINTS, IN_DATAPOINTS = 3, 15  # AWS's target-tracking alarms: high over 3 minutes, low over 15
IN_THRESHOLD = 0.9  # the low alarm's threshold, as a share of the target value
DEFAULT_COOLDOWN = 300.0
MIN_WINDOW = 3  # whole seconds the invocation rate is measured over, at least (the metrics' resolution is 1 s)

# (endpoint, variant, start, end): the variant's invocations in those whole seconds (Unix time, end excluded).
Invocations = Callable[[str, str, int, int], float]


@dataclass(frozen=True)
class Tracking:
    """A target-tracking policy's TargetTrackingScalingPolicyConfiguration on invocations per instance."""
    target: float
    scale_out_cooldown: float = DEFAULT_COOLDOWN
    scale_in_cooldown: float = DEFAULT_COOLDOWN
    disable_scale_in: bool = False

    @classmethod
    def of(cls, config: dict[str, Any]) -> "Tracking | None":
        """None for a policy on another metric (a customized one is stored, not acted on)."""
        predefined = config.get("PredefinedMetricSpecification") or {}
        if predefined.get("PredefinedMetricType") != METRIC or not config.get("TargetValue"):
            return None
        return cls(float(config["TargetValue"]), float(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN)),
                   float(config.get("ScaleInCooldown", DEFAULT_COOLDOWN)), bool(config.get("DisableScaleIn")))


@dataclass
class History:
    """A target's datapoints (newest last) and when it last scaled (time-scaled seconds of the scaler's clock)."""
    datapoints: list[float] = field(default_factory=list)
    scaled_out: float = -math.inf
    scaled_in: float = -math.inf

    def add(self, datapoint: float) -> None:
        self.datapoints = (self.datapoints + [datapoint])[-IN_DATAPOINTS:]


def proportional(current: int, metric: float, target: float, low: int, high: int) -> int:
    """The instance count that brings `metric` to `target`: ceil(current × metric / target), within [low, high]."""
    return min(max(math.ceil(current * metric / target), low), high)


def decide(tracking: Tracking, history: History, current: int, low: int, high: int, now: float) -> int:
    """The instance count the policy asks for now (`current` when it asks for no change)."""
    if not low <= current <= high:
        return min(max(current, low), high)  # registered bounds the count is outside of: brought inside at once
    points = history.datapoints
    if len(points) >= OUT_DATAPOINTS and all(p > tracking.target for p in points[-OUT_DATAPOINTS:]) \
            and now - history.scaled_out >= tracking.scale_out_cooldown:
        return max(proportional(current, points[-1], tracking.target, low, high), current)
    if not tracking.disable_scale_in and len(points) >= IN_DATAPOINTS \
            and all(p < IN_THRESHOLD * tracking.target for p in points[-IN_DATAPOINTS:]) \
            and now - max(history.scaled_in, history.scaled_out) >= tracking.scale_in_cooldown:
        return min(proportional(current, points[-1], tracking.target, low, high), current)
    return current


class Scaler(Periodic):
    """A thread of the owner that takes each target's datapoint every time-scaled minute and scales its variant
    when its policies ask (with several policies, the largest count asked for wins, as AWS's does)."""

    def __init__(self, plane: Any, invocations: Invocations, time_scale: float = 1.0,
                 progress: Callable[[str], None] | None = None):
        """`plane`: emulator.control.plane.ControlPlane."""
        self.plane, self.invocations, self.time_scale = plane, invocations, time_scale
        self.progress = progress or (lambda message: None)
        self.period = MINUTE * time_scale
        self._histories: dict[str, History] = {}
        super().__init__("auto-scaling", self.period, self.evaluate)

    def evaluate(self, now: float) -> None:
        """One datapoint per registered target, and the scaling its policies ask for."""
        targets = list(autoscaling.sagemaker_targets())
        self._histories = {t.resource_id: self._histories.get(t.resource_id, History()) for t in targets}
        for target in targets:
            trackings = [t for t in map(Tracking.of, target.policies) if t is not None]
            record = EndpointRecords(self.plane.store).get(target.endpoint)
            variant = record.deployed.variant(target.variant) if record else None
            if not trackings or variant is None:
                continue
            current = variant.instance_count or 1
            history = self._histories[target.resource_id]
            history.add(self._per_instance(target, current, now))
            if record.in_progress:
                continue
            scaled_now = now / self.time_scale  # cooldowns are in the policy's (unscaled) seconds
            wanted = max(decide(t, history, current, target.min_capacity, target.max_capacity, scaled_now)
                         for t in trackings)
            suspended = target.scale_out_suspended if wanted > current else target.scale_in_suspended
            if wanted != current and not suspended:
                self._scale(target, current, wanted, history, scaled_now, now)

    def _per_instance(self, target: autoscaling.Target, current: int, now: float) -> float:
        """Invocations per instance in the last time-scaled minute, from the rate over whole seconds."""
        end = int(now)
        window = max(MIN_WINDOW, round(self.period))
        rate = self.invocations(target.endpoint, target.variant, end - window, end) / window
        return rate * self.period / current

    def _scale(self, target: autoscaling.Target, current: int, wanted: int, history: History, scaled_now: float,
               now: float) -> None:
        metric = history.datapoints[-1]
        cause = (f"monitor alarm TargetTracking-{target.resource_id}-Alarm{'High' if wanted > current else 'Low'} "
                 f"in state ALARM triggered policy: {METRIC} was {metric:g} per instance per minute")
        request = {"EndpointName": target.endpoint,
                   "DesiredWeightsAndCapacities": [{"VariantName": target.variant, "DesiredInstanceCount": wanted}]}
        try:
            self.plane.call("UpdateEndpointWeightsAndCapacities", request, validate=False)
        except ValidationException as refused:  # the endpoint began an update or was deleted meanwhile
            autoscaling.record_activity(target, current, wanted, cause, now, "Failed", str(refused))
            return
        if wanted > current:
            history.scaled_out = scaled_now
        else:
            history.scaled_in = scaled_now
        autoscaling.record_activity(target, current, wanted, cause, now)
        self.progress(f"scaled {target.variant} of {target.endpoint} from {current} to {wanted} instances "
                      f"({METRIC} {metric:g} per instance per minute, target {', '.join(self._targets(target))})")

    @staticmethod
    def _targets(target: autoscaling.Target) -> list[str]:
        return [f"{t.target:g}" for t in map(Tracking.of, target.policies) if t is not None]
