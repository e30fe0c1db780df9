"""In a front worker: captured invocations handed to the owner in batches, never slowing a request.

A request only appends to a bounded list. A thread, woken by the first capture of a batch, waits
FLUSH_INTERVAL for more and delivers them in one call, framed as bytes (emulator.capture.frames): the owner
makes the lines. The worker flushes what is left when it stops.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from emulator.capture.frames import encode
from emulator.capture.lines import Captured

FLUSH_INTERVAL = 0.1  # seconds
PENDING_LIMIT = 10_000  # captures waiting for the next flush; beyond, a capture is dropped (and counted)


class CaptureSender:
    def __init__(self, deliver: Callable[[bytes], None]):
        """`deliver(frames)`: hands the owner a batch of captures (emulator.capture.frames)."""
        self._deliver = deliver
        self._pending: list[Captured] = []
        self.dropped = 0
        self._wake = threading.Event()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, captured: Captured) -> None:
        """The request path's whole cost: an append, and for the first capture of a batch, a wake-up."""
        if len(self._pending) >= PENDING_LIMIT:
            self.dropped += 1
            return
        self._pending.append(captured)
        if len(self._pending) == 1:
            if self._thread is None:
                self._start()
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="capture-sender", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(FLUSH_INTERVAL)  # what comes meanwhile goes in the same delivery
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        with self._flushing:
            pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                self._deliver(encode(pending))
            except Exception as exc:  # the owner is gone or failing: what it did not take is lost, and said so
                self.dropped += len(pending)
                print(f"sagemaker-emulator: {len(pending)} captured invocation(s) could not be handed to the "
                      f"emulator and are lost ({exc}).", file=sys.stderr)
