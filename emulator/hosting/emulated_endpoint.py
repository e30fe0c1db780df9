"""One running endpoint as the Python API hands it out: invoke it in-process (no front server needed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator.errors import EmulatorError
from emulator.front.introspection import failed_invocation
from emulator.front.serving import ServedEndpoint
from emulator.observe.records import Finished, finished
from emulator.invocation.outcomes import InvocationFailed, InvocationResult

if TYPE_CHECKING:
    from emulator.invocation.chain import Chain
    from emulator.control.lifecycle import Running
    from emulator.containers.group import ContainerGroup


class EmulatedEndpoint:
    def __init__(self, served: ServedEndpoint, running: "Running | None", record: Callable[[Finished], None] | None = None,
                 capture_bodies: bool = False):
        """`running`: its containers, when this process owns them (None: a resident emulator's, see
        emulator.hosting.resident); `record`: where its invocations go in the request log; `capture_bodies`: the
        log keeps bodies."""
        self.served, self.running = served, running
        self._record, self._capture_bodies = record, capture_bodies

    @property
    def name(self) -> str:
        return self.served.name

    @property
    def chain(self) -> "Chain":
        """The first variant's chain (the only one of an endpoint from a definition)."""
        return self.served.variants[0].chain

    @property
    def endpoint(self) -> "ContainerGroup":
        """The first variant's containers."""
        return self._running()[0][1]

    def invoke(self, body: bytes | str, *, content_type: str | None = None, accept: str | None = None,
               custom_attributes: str | None = None, target_container_hostname: str | None = None,
               target_variant: str | None = None, inference_id: str | None = None, target_model: str | None = None,
               trace_bodies: bool = False) -> InvocationResult:
        """Raises emulator.invocation.outcomes.InvocationFailed (a typed subclass, with .hops and SageMaker's message) on failure."""
        payload = body.encode() if isinstance(body, str) else body
        variant = self.served.choose(target_variant)
        started, clock = time.time(), time.perf_counter()
        try:
            result = variant.chain.invoke(payload, content_type=content_type, accept=accept,
                                          custom_attributes=custom_attributes, inference_id=inference_id,
                                          target_container_hostname=target_container_hostname,
                                          capture_bodies=trace_bodies or self._capture_bodies, target_model=target_model)
        except InvocationFailed as failure:
            self._log(failed_invocation(self.name, variant.name, started, clock, failure, source="api"))
            raise
        self._log(finished(self.name, variant.name, started, clock, result.hops, source="api"))
        return result

    def _log(self, record: Finished) -> None:
        if self._record is not None:
            self._record(record)

    def health(self) -> dict[str, dict]:
        """Each container's health, by hostname (by `variant/hostname` when the endpoint has several variants)."""
        running = self._running()
        if len(running) == 1:
            return running[0][1].health()
        return {f"{variant['VariantName']}/{hostname}": state
                for variant, endpoint in running for hostname, state in endpoint.health().items()}

    def _running(self) -> "Running":
        if self.running is None:
            raise EmulatorError(f"endpoint {self.name}'s containers belong to the resident emulator kept for reuse, "
                                "not to this process: read their health on the web page (/_emulator/ on its "
                                "URL), or run without reuse to hold them here.")
        return self.running
