"""The one wait helper: ready, timed out, or stopped at once by the abort condition."""

from __future__ import annotations

import time

from emulator.waiting import wait_until


def test_ready_ends_the_wait():
    calls = iter([False, False, True])
    waited = wait_until(lambda: next(calls), timeout=5, interval=0.001)
    assert waited.ready and not waited.timed_out and waited.aborted is None


def test_a_condition_never_met_times_out_after_trying():
    tries = []
    started = time.monotonic()
    waited = wait_until(lambda: tries.append(1) or False, timeout=0.05, interval=0.01)
    assert waited.timed_out and not waited.ready and len(tries) >= 2
    assert 0.05 <= time.monotonic() - started < 1


def test_abort_stops_at_once_with_its_reason_before_trying_again():
    polls = iter([None, None, "exited"])
    tries = []
    waited = wait_until(lambda: tries.append(1) or False, timeout=60, interval=0.001, abort=lambda: next(polls))
    assert (waited.ready, waited.aborted, len(tries)) == (False, "exited", 2)
    assert not waited.timed_out
