"""Waiting for something to become ready: poll often, give up at a deadline or as soon as waiting is pointless."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class Waited:
    ready: bool
    seconds: float
    aborted: Any = None  # what `abort` returned when it ended the wait; None when it did not

    @property
    def timed_out(self) -> bool:
        return not self.ready and self.aborted is None


def wait_until(ready: Callable[[], bool], *, timeout: float, interval: float = POLL_INTERVAL,
               abort: Callable[[], Any] | None = None) -> Waited:
    """Call `ready` every `interval` seconds until it is true or `timeout` seconds have passed.
    `abort`, called before each try, ends the wait at once when it returns something (the reason)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        reason = abort() if abort is not None else None
        if reason is not None:
            return Waited(False, time.monotonic() - started, reason)
        if ready():
            return Waited(True, time.monotonic() - started)
        if time.monotonic() >= deadline:
            return Waited(False, time.monotonic() - started)
        time.sleep(interval)


SIGNAL_CHECK = 0.5  # seconds


def until_set(event: threading.Event, stop: StopSignals | None = None) -> None:
    """Wait for `event` (or, given `stop`, for a stop signal) in the main thread and still answer SIGTERM and
    Ctrl-C. The kernel may hand a process's signal to any of its threads; Python runs the handler in the main
    thread only when that thread next runs bytecode, and a wait without a timeout never returns to it (a `serve`
    once ignored a SIGTERM so)."""
    while not (stop is not None and stop.asked) and not event.wait(SIGNAL_CHECK):
        pass


class StopSignals:
    """SIGTERM and SIGINT, once installed, only note that a stop was asked; `until_set` reads the note. Raising
    KeyboardInterrupt wherever the main thread happens to be can leave a lock held: a `serve` stopped while a
    lazy import held the import lock deadlocked its own shutdown. (Setting an Event from the handler can deadlock
    on the Event's lock too; appending to a list takes none.)"""

    def __init__(self) -> None:
        self._signals: list[int] = []

    def install(self) -> "StopSignals":
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._note)
        return self

    @property
    def asked(self) -> bool:
        return bool(self._signals)

    def _note(self, number: int, frame: Any) -> None:
        self._signals.append(number)
