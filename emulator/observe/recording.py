"""Every invocation into the request log, whoever makes it: the front's workers (source `front`), the Python API
in the owner or in a test's process (`api`), and the asynchronous workers (`async`). A failure is logged with the
wire error the caller is (or would be) answered."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from emulator.invocation.outcomes import Hop, InvocationFailed, InvocationResult
from emulator.invocation.request import InvocationRequest
from emulator.observe.records import Finished, ShadowComparison, finished
from emulator.seam.wire_errors import ServiceError, wire_error

Result = TypeVar("Result")


class Recording:
    """One invocation from its start; it ends once, with its hops and its error, if any."""

    def __init__(self, record: Callable[[Finished], None] | None, source: str, endpoint: str,
                 request: InvocationRequest, variant: str = ""):
        self._record, self.source, self.endpoint, self.request = record, source, endpoint, request
        self.variant = variant or request.target_variant or ""
        self.started, self.clock = time.time(), time.perf_counter()
        self.cold_start: float | None = None  # seconds spent starting a serverless variant stopped for idleness

    def ended(self, hops: list[Hop], error: ServiceError | None = None, shadow: ShadowComparison | None = None) -> None:
        if self._record is not None:
            self._record(finished(self.endpoint, self.variant, self.started, self.clock, hops, error, self.source,
                                  self.request.described(), shadow, self.cold_start))

    def failed(self, failure: InvocationFailed, shadow: ShadowComparison | None = None) -> ServiceError:
        """Logs the failure; returns the wire error it is answered with."""
        error = wire_error(failure)
        self.ended(failure.hops, error, shadow)
        return error


class Recorder:
    def __init__(self, record: Callable[[Finished], None] | None, source: str):
        """`record`: where finished invocations go (None: no request log); `source`: who makes them."""
        self.record, self.source = record, source

    def begin(self, endpoint: str, request: InvocationRequest, variant: str = "") -> Recording:
        return Recording(self.record, self.source, endpoint, request, variant)

    def invoke(self, endpoint: str, variant: str, request: InvocationRequest,
               call: Callable[[], InvocationResult]) -> InvocationResult:
        """`call()` invoked and recorded; its InvocationFailed is recorded and raised again."""
        recording = self.begin(endpoint, request, variant)
        try:
            result = call()
        except InvocationFailed as failure:
            recording.failed(failure)
            raise
        recording.ended(result.hops)
        return result
