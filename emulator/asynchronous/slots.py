"""At most MaxConcurrentInvocationsPerInstance invocations of an endpoint's containers at a time. Only the call
to the containers takes a slot: reading the next request's input from S3 and writing the last one's answer
overlap the invocations, as SageMaker's limit is on the requests sent to the container."""

from __future__ import annotations

import threading


class Slots:
    def __init__(self) -> None:
        self._semaphores: dict[str, tuple[int, threading.Semaphore]] = {}
        self._lock = threading.Lock()

    def of(self, endpoint: str, limit: int) -> threading.Semaphore:
        """The endpoint's slots; a new set when its limit changed (an update), the old one draining."""
        with self._lock:
            current = self._semaphores.get(endpoint)
            if current is None or current[0] != limit:
                current = self._semaphores[endpoint] = (limit, threading.Semaphore(limit))
            return current[1]
