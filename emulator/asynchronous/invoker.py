"""How a worker calls an endpoint's containers: in one of the endpoint's slots (emulator.asynchronous.slots),
under the request's own timeout and limits, and recorded in the request log like every other invocation
(source `async`), when the owner keeps one."""

from __future__ import annotations

import threading

from emulator.invocation.chain import CallPolicy, Chain
from emulator.invocation.outcomes import InvocationResult
from emulator.invocation.request import InvocationRequest
from emulator.observe.recording import Recorder


class AsyncInvoker:
    def __init__(self, chain: Chain, policy: CallPolicy, slot: threading.Semaphore, variant: str, recorder: Recorder):
        self.chain, self.policy, self.slot, self.variant, self.recorder = chain, policy, slot, variant, recorder

    def invoke(self, request: InvocationRequest) -> InvocationResult:
        with self.slot:
            return self.recorder.invoke(self.chain.endpoint, self.variant, request,
                                        lambda: self.chain.invoke(request, policy=self.policy))
