"""The transform engine's view of a running endpoint (a TransformTarget): its first container's execution
parameters, and invocations through the whole chain.

Apart from batch.py (which starts the containers) so that a transform shard in an exported pod, whose
containers run beside it, imports no more than the chain.
"""

from __future__ import annotations

import json
from typing import Any

import urllib3

from emulator.invocation import container_http
from emulator.invocation.chain import BATCH_LIMITS, CallPolicy, Chain
from emulator.invocation.container_http import StreamedFile
from emulator.errors import EmulatorError
from emulator.invocation.request import InvocationRequest


class ChainTarget:
    """The transform engine's view of a running endpoint: its first container's execution
    parameters, and invocations through the whole chain."""

    def __init__(self, chain: Chain):
        self.chain = chain

    def execution_parameters(self) -> dict[str, Any] | None:
        try:
            response = container_http.pool.request("GET", self.chain.routes[0].url + "/execution-parameters",
                                                   timeout=container_http.PING_TIMEOUT)
        except urllib3.exceptions.HTTPError:
            return None
        if response.status != 200:
            return None
        try:
            return json.loads(response.data)
        except ValueError:
            raise EmulatorError(f"{self.chain.routes[0].hostname} answered GET /execution-parameters with "
                                f"invalid JSON: {response.data[:200]!r}. Fix: return a JSON object or 404.") from None

    def invoke(self, body: bytes | StreamedFile, *, content_type: str | None, accept: str | None,
               timeout: float) -> tuple[str | None, bytes]:
        """ModelClientConfig's timeout, not the real-time 60 s, and batches of up to MaxPayloadInMB (100, or
        unbounded), not the real-time 6 MB."""
        result = self.chain.invoke(InvocationRequest(body, content_type, accept),
                                   policy=CallPolicy(timeout, BATCH_LIMITS))
        return result.content_type, result.body
