"""Guarded updates: UpdateEndpoint's `DeploymentConfig.BlueGreenUpdatePolicy` and `AutoRollbackConfiguration`,
acted on as SageMaker's deployment guardrails act.

Both fleets run; the serving table's weights carry the split. The new (green) fleet takes the share of traffic
each step names: ALL_AT_ONCE all of it; CANARY first `CanarySize` of its capacity, then all; LINEAR
`LinearStepSize` more at each step. After each step comes a baking period of `WaitIntervalInSeconds`, during
which the named CloudWatch alarms are watched (emulator.aws.cloudwatch evaluates them). An alarm in ALARM, or
the deployment outlasting `MaximumExecutionTimeoutInSeconds`, rolls back: all traffic to the old fleet in one
write, the new fleet stopped, the endpoint InService on its old configuration with the reason. Once the last
bake passes, the old fleet gets no traffic and is stopped `TerminationWaitInSeconds` later.

Every wait is multiplied by the emulator's time scale (`serve --time-scale`), so a 600-second bake can pass in
seconds in a test. A capacity is the new fleet's instance count (the sum of its variants' InitialInstanceCount);
shares of traffic are exact fractions of it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ALARM_POLL = 0.2  # seconds between two looks at the alarms while waiting
ALL_AT_ONCE, CANARY, LINEAR = "ALL_AT_ONCE", "CANARY", "LINEAR"


@dataclass(frozen=True)
class Policy:
    routing: str
    wait: float  # seconds of each baking period
    step: dict[str, Any] | None  # CanarySize or LinearStepSize: {"Type": INSTANCE_COUNT | CAPACITY_PERCENT, "Value"}
    termination_wait: float
    maximum_time: float | None
    alarms: tuple[str, ...]

    @classmethod
    def of(cls, config: dict[str, Any] | None) -> "Policy | None":
        """The guarded update `config` (an UpdateEndpoint's DeploymentConfig) asks for; None for a plain one."""
        if not config or not (config.get("BlueGreenUpdatePolicy") or config.get("AutoRollbackConfiguration")):
            return None
        blue_green = config.get("BlueGreenUpdatePolicy") or {}
        routing = blue_green.get("TrafficRoutingConfiguration") or {"Type": ALL_AT_ONCE, "WaitIntervalInSeconds": 0}
        kind = routing["Type"]
        alarms = tuple(alarm["AlarmName"] for alarm in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", ()))
        return cls(kind, float(routing.get("WaitIntervalInSeconds", 0)),
                   routing.get("CanarySize") if kind == CANARY else routing.get("LinearStepSize") if kind == LINEAR else None,
                   float(blue_green.get("TerminationWaitInSeconds", 0)),
                   float(blue_green["MaximumExecutionTimeoutInSeconds"])
                   if blue_green.get("MaximumExecutionTimeoutInSeconds") else None, alarms)

    def problem(self, capacity: int) -> str | None:
        """Why SageMaker refuses this policy for a new fleet of `capacity` instances (None: it does not)."""
        if self.routing not in (CANARY, LINEAR):
            return None
        member = "CanarySize" if self.routing == CANARY else "LinearStepSize"
        if self.step is None:
            return f"TrafficRoutingConfiguration of type {self.routing} needs {member}."
        share = _share(self.step, capacity)
        if self.routing == CANARY and share > 0.5:
            return (f"{member} must be at most 50% of the new fleet's capacity ({capacity} instance"
                    f"{'s' if capacity != 1 else ''}); it asks for {share:.0%}.")
        if self.routing == LINEAR and not 0.1 <= share <= 0.5:
            return f"{member} must be 10-50% of the new fleet's capacity ({capacity} instances); it asks for {share:.0%}."
        return None


def steps(policy: Policy, capacity: int) -> list[float]:
    """The new fleet's share of the traffic at each step, the last one 1.0; each step is followed by a bake."""
    if policy.routing == CANARY:
        return [_share(policy.step, capacity), 1.0]
    if policy.routing == LINEAR:
        share = _share(policy.step, capacity)
        count = math.ceil(round(1 / share, 9))
        return [min(round(share * number, 9), 1.0) for number in range(1, count)] + [1.0]
    return [1.0]


def _share(size: dict[str, Any], capacity: int) -> float:
    if size["Type"] == "CAPACITY_PERCENT":
        return min(size["Value"] / 100, 1.0)
    return min(size["Value"] / max(capacity, 1), 1.0)


def split(old: list[float], new: list[float], share: float) -> tuple[list[float], list[float]]:
    """The weights of the old and the new variants when the new fleet takes `share` of the traffic (each fleet
    keeps its own variants' proportions)."""
    def scaled(weights: list[float], part: float) -> list[float]:
        total = sum(weights)
        return [part * weight / total if total else part / len(weights) for weight in weights]

    return scaled(old, 1.0 - share), scaled(new, share)


class Rollout:
    """One guarded update: shifts traffic step by step and bakes, watching the alarms. `shift(share)` publishes a
    split; `firing(names)` says which alarms are in ALARM; `stopping` is set when the emulator stops."""

    def __init__(self, policy: Policy, capacity: int, time_scale: float, shift: Callable[[float], bool],
                 firing: Callable[[tuple[str, ...]], list[str]], stopping: threading.Event,
                 clock: Callable[[], float] = time.monotonic):
        self.policy, self.capacity, self.time_scale = policy, capacity, time_scale
        self.shift, self.firing, self.stopping, self.clock = shift, firing, stopping, clock
        self.started = clock()

    def run(self) -> str | None:
        """None when every step baked without an alarm; else why it rolled back."""
        for share in steps(self.policy, self.capacity):
            if not self.shift(share):
                return "The endpoint is being deleted."
            reason = self._bake(self.policy.wait)
            if reason is not None:
                return reason
        return None

    def _bake(self, seconds: float) -> str | None:
        deadline = self.clock() + seconds * self.time_scale
        while True:
            alarms = self.firing(self.policy.alarms) if self.policy.alarms else []
            if alarms:
                return (f"The update was rolled back: CloudWatch alarm{'s' if len(alarms) > 1 else ''} "
                        f"{', '.join(alarms)} went into ALARM during the deployment.")
            if self.policy.maximum_time is not None and \
                    self.clock() - self.started > self.policy.maximum_time * self.time_scale:
                return (f"The update was rolled back: the deployment took longer than its "
                        f"MaximumExecutionTimeoutInSeconds ({self.policy.maximum_time:g} s).")
            left = deadline - self.clock()
            if left <= 0:
                return None
            if self.stopping.wait(min(left, ALARM_POLL)):
                return "The emulator stopped during the update."
