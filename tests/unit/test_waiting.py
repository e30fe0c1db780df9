"""The one wait helper: ready, timed out, or stopped at once by the abort condition."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from emulator.waiting import until_set, wait_until


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


def test_a_signal_the_kernel_hands_another_thread_still_ends_the_main_threads_wait():
    bystander = threading.Thread(target=time.sleep, args=(5,), daemon=True)
    bystander.start()

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        threading.Timer(0.2, lambda: signal.pthread_kill(bystander.ident, signal.SIGUSR1)).start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            until_set(threading.Event())
        assert time.monotonic() - started < 2  # a plain wait() would never return: nobody sets the event
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_a_stop_signal_ends_the_wait_without_raising_in_the_main_thread():
    import os
    import signal
    import threading

    from emulator.waiting import StopSignals, until_set

    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop = StopSignals().install()
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        until_set(threading.Event(), stop)  # returns, raising nothing, once the signal is noted
        assert stop.asked
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
