"""What the engine needs from a model: the lead implements it on real containers, tests on fakes."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from emulator.invocation.container_http import StreamedFile


@runtime_checkable
class TransformTarget(Protocol):
    def execution_parameters(self) -> dict[str, Any] | None:
        """GET /execution-parameters of the (first) container; None when it answers 404 or not at all."""

    def invoke(self, body: bytes | StreamedFile, *, content_type: str | None, accept: str | None,
               timeout: float) -> tuple[str | None, bytes]:
        """POST /invocations; returns (response Content-Type, body).

        Raises the chain's outcomes (emulator.invocation.outcomes): ContainerError when the container answers
        4xx/5xx, ContainerTimedOut when it does not answer within `timeout` seconds, ContainerUnreachable
        when it cannot be reached, InvalidRequest when the request cannot be sent.
        """
