"""A guarded update's schedule: the new fleet's share at each step, the weights of a split, and a rollout that
bakes, rolls back on an alarm or on its maximum time (on a fake clock)."""

from __future__ import annotations

import threading

import pytest

from emulator.control.deployment import Policy, Rollout, split, steps


def policy(kind: str, wait: int = 60, size: dict | None = None, alarms: tuple[str, ...] = (), **blue_green) -> Policy:
    routing = {"Type": kind, "WaitIntervalInSeconds": wait}
    if size is not None:
        routing["CanarySize" if kind == "CANARY" else "LinearStepSize"] = size
    config = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, **blue_green}}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return Policy.of(config)


@pytest.mark.parametrize(("kind", "size", "capacity", "expected"), [
    ("ALL_AT_ONCE", None, 1, [1.0]),
    ("CANARY", {"Type": "CAPACITY_PERCENT", "Value": 10}, 1, [0.1, 1.0]),
    ("CANARY", {"Type": "INSTANCE_COUNT", "Value": 1}, 4, [0.25, 1.0]),
    ("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 25}, 1, [0.25, 0.5, 0.75, 1.0]),
    ("LINEAR", {"Type": "INSTANCE_COUNT", "Value": 1}, 3, [1 / 3, 2 / 3, 1.0]),
    ("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 40}, 1, [0.4, 0.8, 1.0]),
])
def test_steps_give_the_new_fleet_its_share(kind, size, capacity, expected):
    assert steps(policy(kind, size=size), capacity) == pytest.approx(expected)


def test_sagemakers_limits_on_step_sizes_are_refused_with_the_member_named():
    assert "CanarySize must be at most 50%" in policy("CANARY", size={"Type": "CAPACITY_PERCENT", "Value": 60}).problem(1)
    assert "LinearStepSize must be 10-50%" in policy("LINEAR", size={"Type": "INSTANCE_COUNT", "Value": 1}).problem(1)
    assert "needs CanarySize" in policy("CANARY").problem(1)
    assert policy("LINEAR", size={"Type": "INSTANCE_COUNT", "Value": 1}).problem(4) is None
    assert Policy.of({}) is None and Policy.of({"RollingUpdatePolicy": {}}) is None


def test_a_split_keeps_each_fleets_proportions():
    assert split([1.0, 3.0], [2.0], 0.2) == (pytest.approx([0.2, 0.6]), pytest.approx([0.2]))
    assert split([1.0], [0.0, 0.0], 0.5) == ([0.5], [0.25, 0.25])


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def stopping(self) -> threading.Event:
        time = self

        class Advancing(threading.Event):
            def wait(self, timeout=None):
                time.now += timeout
                return False

        return Advancing()


def run(plan: Policy, firing=lambda names: [], time_scale: float = 1.0) -> tuple[str | None, list[tuple[float, float]]]:
    fake = FakeTime()
    shifts: list[tuple[float, float]] = []
    rollout = Rollout(plan, 1, time_scale, lambda share: shifts.append((fake.now, share)) or True,
                      firing, fake.stopping(), fake.clock)
    return rollout.run(), shifts


def test_a_linear_update_bakes_after_every_step_scaled_in_time():
    reason, shifts = run(policy("LINEAR", wait=600, size={"Type": "CAPACITY_PERCENT", "Value": 50}), time_scale=0.01)
    assert reason is None
    assert [share for _, share in shifts] == [0.5, 1.0]
    assert shifts[1][0] == pytest.approx(6.0)  # one 600-s bake at a hundredth of real time


def test_an_alarm_during_the_canarys_bake_rolls_back_before_the_rest_shifts():
    fake_alarm = {"fired": False}

    def firing(names):
        fake_alarm["fired"] = fake_alarm["fired"] or len(calls) > 3
        calls.append(names)
        return ["errors"] if fake_alarm["fired"] else []

    calls: list[tuple[str, ...]] = []
    reason, shifts = run(policy("CANARY", wait=60, size={"Type": "CAPACITY_PERCENT", "Value": 10}, alarms=("errors",)),
                         firing)
    assert [share for _, share in shifts] == [0.1]
    assert reason.startswith("The update was rolled back: CloudWatch alarm errors went into ALARM")


def test_the_maximum_execution_time_rolls_back():
    reason, _ = run(policy("ALL_AT_ONCE", wait=900, MaximumExecutionTimeoutInSeconds=600))
    assert "longer than its MaximumExecutionTimeoutInSeconds (600 s)" in reason


def test_the_time_scale_comes_from_the_argument_or_the_environment_and_must_be_positive(monkeypatch):
    from emulator.errors import EmulatorError
    from emulator.hosting.emulator import time_scale_of

    monkeypatch.delenv("SAGEMAKER_EMULATOR_TIME_SCALE", raising=False)
    assert time_scale_of(None) == 1.0 and time_scale_of(0.01) == 0.01
    monkeypatch.setenv("SAGEMAKER_EMULATOR_TIME_SCALE", "0.5")
    assert time_scale_of(None) == 0.5
    for bad in ("0", "-1", "fast", "inf"):
        monkeypatch.setenv("SAGEMAKER_EMULATOR_TIME_SCALE", bad)
        with pytest.raises(EmulatorError, match="not a positive number. Fix:"):
            time_scale_of(None)
