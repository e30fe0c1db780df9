"""In a front worker: captured invocations handed to the owner in batches, never slowing a request.

A request only appends to a bounded list (emulator.batches); a thread delivers what came every FLUSH_INTERVAL
in one call, framed as bytes (emulator.capture.frames): the owner makes the lines. The worker flushes what is
left when it stops.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from emulator.batches import Batched
from emulator.capture.frames import encode
from emulator.capture.lines import Captured

FLUSH_INTERVAL = 0.5  # seconds: larger batches cost the worker less per capture; the owner cuts files every second anyway
PENDING_LIMIT = 10_000  # captures waiting for the next flush; beyond, a capture is dropped (and counted)


class CaptureSender(Batched[Captured]):
    def __init__(self, deliver: Callable[[bytes], None]):
        """`deliver(frames)`: hands the owner a batch of captures (emulator.capture.frames)."""
        super().__init__(PENDING_LIMIT, FLUSH_INTERVAL, "capture-sender")
        self._deliver = deliver
        self._flushing = threading.Lock()  # the thread's flush and the worker's last one at its stop

    def flush(self) -> None:
        with self._flushing:
            pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                self._deliver(encode(pending))
            except Exception as exc:  # the owner is gone or failing: what it did not take is lost, and said so
                self._dropped += len(pending)
                print(f"sagemaker-emulator: {len(pending)} captured invocation(s) could not be handed to the "
                      f"emulator and are lost ({exc}).", file=sys.stderr)
