"""A fleet's copies, with stand-in groups (no containers): adding and removing copies, the copies routed to as the
supervisor's events take one out and bring it back, and a start that fails leaving none of the new copies."""

from __future__ import annotations

import pytest

from emulator.containers.fleet import Fleet, copy_namer
from emulator.errors import EmulatorError


class StandIn:
    """What a fleet asks of a container group: start, stop, and the events it reports."""

    def __init__(self, events, fails: bool = False):
        self.events, self.fails, self.stopped = events, fails, False

    def start(self):
        if self.fails:
            raise EmulatorError("primary exited with code 3 during startup.")
        self.events("e", "primary", "healthy", "after 0.1 s")
        return self

    def stop(self, **_):
        self.stopped = True


def fleet(made: list, changes: list, fails=lambda index: False) -> Fleet:
    def make(events):
        made.append(StandIn(events, fails(len(made))))
        return made[-1]
    return Fleet(make, on_change=lambda: changes.append(1), name_copy=copy_namer("copy"))


def test_copies_are_added_and_removed_last_first_the_removed_ones_drained_then_stopped():
    made, changes, drained = [], [], []
    copies = fleet(made, changes)
    copies.scale(3, drained.extend)
    assert [name for name, _ in copies.serving()] == ["copy-1", "copy-2", "copy-3"] and changes
    copies.scale(1, drained.extend)
    assert [name for name, _ in copies.serving()] == ["copy-1"]
    assert drained == made[1:]  # handed to the drain once out of the routes; the drain stops them
    copies.scale(2, drained.extend)
    assert [name for name, _ in copies.serving()] == ["copy-1", "copy-4"]  # a name is never given twice


def test_a_copy_whose_container_stopped_leaves_the_routes_until_it_answers_again():
    made, changes = [], []
    copies = fleet(made, changes)
    copies.scale(2, lambda groups: None)
    before = len(changes)
    made[0].events("e", "primary", "exited", "code 137")
    assert [name for name, _ in copies.serving()] == ["copy-2"] and len(changes) == before + 1
    made[1].events("e", "primary", "exited", "code 137")
    assert len(copies.serving()) == 2  # none answers: every copy stays, its requests fail as a dead container's
    made[0].events("e", "primary", "healthy", "after restart 1")
    assert [name for name, _ in copies.serving()] == ["copy-1"]


def test_when_a_new_copy_fails_none_of_the_new_ones_stays():
    made, changes = [], []
    copies = fleet(made, changes, fails=lambda index: index == 2)
    copies.scale(1, lambda groups: None)
    with pytest.raises(EmulatorError, match="exited with code 3"):
        copies.scale(3, lambda groups: None)
    assert copies.count == 1 and made[1].stopped and made[2].stopped and not made[0].stopped


def test_the_instance_cap_comes_from_the_argument_the_environment_or_the_default(monkeypatch):
    from emulator.hosting.emulator import max_instances_of

    monkeypatch.delenv("SAGEMAKER_EMULATOR_MAX_INSTANCES", raising=False)
    assert max_instances_of(None) == 4 and max_instances_of(2) == 2
    monkeypatch.setenv("SAGEMAKER_EMULATOR_MAX_INSTANCES", "6")
    assert max_instances_of(None) == 6 and max_instances_of(1) == 1
    for bad in (0, "two"):
        monkeypatch.setenv("SAGEMAKER_EMULATOR_MAX_INSTANCES", str(bad))
        with pytest.raises(EmulatorError, match=f"the instance cap '{bad}' .* is not a whole number of at least 1"):
            max_instances_of(None)
