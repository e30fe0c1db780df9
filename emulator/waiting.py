"""Waiting for something to become ready: poll often, give up at a deadline or as soon as waiting is pointless."""

from __future__ import annotations

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
