"""The owner's request log: the last N invocations of each endpoint and the last container events, numbered
in one sequence so a reader asks for everything after the last number it saw (`since`)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from emulator.observe.records import Finished, invocation_record

DEFAULT_PER_ENDPOINT = 200
EVENTS_KEPT = 500
MAX_WAIT = 10.0  # seconds a reader may wait for something new
MAX_ENDPOINTS = 256  # rings kept: requests for names that do not exist (typos, scanners) must not grow the log


class RequestLog:
    def __init__(self, per_endpoint: int = DEFAULT_PER_ENDPOINT, body_limit: int = 0):
        """`per_endpoint`: invocations kept per endpoint; `body_limit`: bytes of each body kept (0: no bodies)."""
        self.per_endpoint, self.body_limit = per_endpoint, body_limit
        self.dropped = 0  # records the workers could not hand over (their queue or ours was full)
        self._invocations: OrderedDict[str, deque[dict[str, Any]]] = OrderedDict()  # least recently used first
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self._seq = 0
        self._changed = threading.Condition()
        self._listeners: list[Callable[[list[dict[str, Any]]], None]] = []

    def listen(self, listener: Callable[[list[dict[str, Any]]], None]) -> None:
        """`listener` gets every batch of invocation records as they come (the endpoint metrics are made so)."""
        self._listeners.append(listener)

    def add(self, records: list[dict[str, Any]], dropped: int = 0) -> None:
        """Invocation records (from a worker's batch)."""
        with self._changed:
            self.dropped += dropped
            for record in records:
                ring = self._invocations.get(record["endpoint"])
                if ring is None:
                    ring = self._invocations[record["endpoint"]] = deque(maxlen=self.per_endpoint)
                    if len(self._invocations) > MAX_ENDPOINTS:
                        self._invocations.popitem(last=False)
                else:
                    self._invocations.move_to_end(record["endpoint"])
                ring.append(self._numbered(record))
            self._changed.notify_all()
        for listener in self._listeners:
            listener(records)

    def add_finished(self, finished: Finished) -> None:
        """An invocation made in this process (the Python API, InvokeEndpointAsync's workers)."""
        self.add([invocation_record(finished, self.body_limit)])

    def event(self, endpoint: str, container: str, event: str, detail: str = "") -> None:
        """A container event: started, healthy, exited, restarted, adopted, kept, removed."""
        with self._changed:
            self._events.append(self._numbered({"kind": "container", "time": time.time(), "endpoint": endpoint,
                                                "container": container, "event": event, "detail": detail}))
            self._changed.notify_all()

    def read(self, since: int = 0, endpoint: str | None = None, wait: float = 0.0) -> dict[str, Any]:
        """Everything numbered after `since`, oldest first; waits up to `wait` seconds for something new."""
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT)
        with self._changed:
            while self._seq <= since and (remaining := deadline - time.monotonic()) > 0:
                self._changed.wait(remaining)
            rings = [self._invocations.get(endpoint, ())] if endpoint else list(self._invocations.values())
            invocations = sorted((r for ring in rings for r in ring if r["seq"] > since), key=lambda r: r["seq"])
            events = [e for e in self._events if e["seq"] > since and (not endpoint or e["endpoint"] == endpoint)]
            return {"next": self._seq, "dropped": self.dropped, "invocations": invocations, "events": events}

    def _numbered(self, record: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        record["seq"] = self._seq
        return record
