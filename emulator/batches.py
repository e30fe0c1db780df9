"""A bounded list a request path appends to, and a thread that hands on what came: the request never waits for
where its items go.

The thread starts with the first item (after gunicorn's fork, in a worker) and is woken by the first item of
each batch, so an idle process never runs it; it waits `interval` for more and calls `flush()`. Items beyond
`limit` waiting are dropped and counted."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Batched(Generic[Item]):
    def __init__(self, limit: int, interval: float, name: str):
        self._limit, self._interval, self._name = limit, interval, name
        self._pending: list[Item] = []
        self._dropped = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()  # set by the first item of a batch
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        return self._dropped

    def add(self, item: Item) -> None:
        """The request path's whole cost: an append (atomic under the GIL), and for the first item of a batch,
        waking the thread."""
        if len(self._pending) >= self._limit:
            self._dropped += 1
            return
        self._pending.append(item)
        if len(self._pending) == 1:
            if self._thread is None:
                self._start()
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._opened()
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _opened(self) -> None:
        """Called once, before the thread starts: open what `flush` uses."""

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self._interval)  # what comes meanwhile goes in the same batch
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        raise NotImplementedError
