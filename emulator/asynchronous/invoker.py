"""How a worker calls an endpoint's containers: in one of the endpoint's slots (emulator.asynchronous.slots),
and recorded in the request log like every other invocation (source `async`), when the owner keeps one."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from emulator.invocation.chain import Chain
from emulator.front.introspection import failed_invocation
from emulator.observe.records import Finished, finished
from emulator.invocation.outcomes import InvocationFailed, InvocationResult

SOURCE = "async"


class AsyncInvoker:
    def __init__(self, chain: Chain, slot: threading.Semaphore, variant: str,
                 record: Callable[[Finished], None] | None = None):
        self.chain, self.slot, self.variant, self.record = chain, slot, variant, record

    def invoke(self, body: bytes, **members: Any) -> InvocationResult:
        with self.slot:
            started, clock = time.time(), time.perf_counter()
            try:
                result = self.chain.invoke(body, **members)
            except InvocationFailed as failure:
                self._record(failed_invocation(self.chain.endpoint, self.variant, started, clock, failure, SOURCE))
                raise
            self._record(finished(self.chain.endpoint, self.variant, started, clock, result.hops, source=SOURCE))
            return result

    def _record(self, record: Finished) -> None:
        if self.record is not None:
            self.record(record)
