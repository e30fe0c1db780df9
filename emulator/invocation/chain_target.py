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
from emulator.invocation.chain import BATCH_LIMITS, Chain
from emulator.invocation.container_http import StreamedFile
from emulator.errors import EmulatorError


class ChainTarget:
    """The transform engine's view of a running endpoint: its first container's execution
    parameters, and invocations through the whole chain."""

    def __init__(self, chain: Chain):
        self.chain = chain
        self._timed: dict[float, Chain] = {}

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
        result = self._chain_with(timeout).invoke(body, content_type=content_type, accept=accept)
        return result.content_type, result.body

    def _chain_with(self, timeout: float) -> Chain:
        """ModelClientConfig's timeout, not the real-time 60 s, and batches of up to MaxPayloadInMB
        (100, or unbounded), not the real-time 6 MB."""
        chain = self._timed.get(timeout)
        if chain is None:
            chain = self._timed[timeout] = Chain(self.chain.endpoint, self.chain.routes, self.chain.mode,
                                                 timeout=timeout, limits=BATCH_LIMITS)
        return chain
