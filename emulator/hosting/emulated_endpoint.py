"""One running endpoint as the Python API hands it out: invoke it in-process (no front server needed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator.errors import EmulatorError
from emulator.invocation.outcomes import InvocationResult
from emulator.invocation.request import InvocationRequest
from emulator.observe.recording import Recorder
from emulator.observe.records import Finished
from emulator.seam.serving import ServedEndpoint

Running = list[tuple["DeployedVariant", "ContainerGroup"]]  # (variant, one copy's containers), each copy of each variant

if TYPE_CHECKING:
    from emulator.control.records import DeployedVariant
    from emulator.invocation.chain import Chain
    from emulator.containers.group import ContainerGroup


class EmulatedEndpoint:
    def __init__(self, served: ServedEndpoint, running: "Running | None", record: Callable[[Finished], None] | None = None,
                 capture_bodies: bool = False):
        """`running`: its containers, when this process owns them (None: a resident emulator's, see
        emulator.hosting.resident); `record`: where its invocations go in the request log; `capture_bodies`: the
        log keeps bodies."""
        self.served, self.running = served, running
        self._recorder, self._capture_bodies = Recorder(record, "api"), capture_bodies

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

    def invoke(self, body: bytes | str, *, trace_bodies: bool = False, **members: str | None) -> InvocationResult:
        """`members`: the request's headers as InvocationRequest names them (content_type, accept, custom_attributes,
        target_container_hostname, target_variant, target_model, inference_id, ...). Raises
        emulator.invocation.outcomes.InvocationFailed (a typed subclass, with .hops and SageMaker's message) on failure."""
        request = InvocationRequest.of(body, **members)
        variant = self.served.target(request.target_variant, request.inference_component)
        return self._recorder.invoke(self.name, variant.name, request, lambda: variant.through(
            lambda chain: chain.invoke(request, capture_bodies=trace_bodies or self._capture_bodies))[1])

    def health(self) -> dict[str, dict]:
        """Each container's health, by hostname (by `variant/hostname` when the endpoint has several variants)."""
        running = self._running()
        if len(running) == 1:
            return running[0][1].health()
        return {f"{variant.name}/{index}/{hostname}" if len(running) > len(self.served.variants)
                else f"{variant.name}/{hostname}": state
                for index, (variant, endpoint) in enumerate(running) for hostname, state in endpoint.health().items()}

    def _running(self) -> "Running":
        if self.running is None:
            raise EmulatorError(f"endpoint {self.name}'s containers belong to the resident emulator kept for reuse, "
                                "not to this process: read their health on the web page (/_emulator/ on its "
                                "URL), or run without reuse to hold them here.")
        return self.running
