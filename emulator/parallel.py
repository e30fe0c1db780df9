"""Run blocking calls in threads without blocking an interrupt (Ctrl-C) on their completion, and a call
repeated in a thread of its own."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_threads(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    items = list(items)
    pool = ThreadPoolExecutor(max_workers=max(1, len(items)))
    try:
        futures = [pool.submit(function, item) for item in items]
    except RuntimeError:  # at interpreter exit (atexit cleanup) no thread can start: go one by one
        return [function(item) for item in items]
    try:
        return [future.result() for future in futures]
    finally:
        # On an interrupt the caller stops everything at once; waiting here would block that.
        pool.shutdown(wait=False, cancel_futures=True)


class Periodic:
    """A daemon thread that calls `tick(now)` (Unix time) every `interval` seconds until `stop`."""

    def __init__(self, name: str, interval: float, tick: Callable[[float], None]):
        self.name, self.interval, self.tick = name, interval, tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Periodic":
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick(time.time())

    def __enter__(self) -> "Periodic":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
