"""What one invocation through an endpoint's containers came to: a result, or a typed failure.

Each failure carries the hops made before it and says in SageMaker's words what happened; what it
becomes on the wire (code, HTTP status, members) is decided at the HTTP edge (emulator/front/).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from emulator.arns import see_logs

MB = 1024 * 1024


@dataclass
class Hop:
    container: str
    content_type_in: str | None
    accept_in: str | None
    bytes_in: int
    status: int = 0  # 0: no HTTP answer (timeout, connection refused)
    content_type_out: str | None = None
    bytes_out: int = 0
    ms: float = 0.0
    warning: str | None = None
    request_body: bytes | None = None
    response_body: bytes | None = None
    # A multi-model endpoint's hops: "load", "unload" or "invoke" of `model` (its TargetModel); None elsewhere.
    action: str | None = None
    model: str | None = None
    # Which copy of the variant or inference component answered: its instance (i-2) or component copy (copy-2);
    # None for a variant of one copy, as before copies.
    instance: str | None = None

    def to_dict(self, bodies: bool = False) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("request_body", "response_body")
                and not (k in ("action", "model", "instance") and v is None)}
        if bodies:
            data["request_body"] = _text(self.request_body)
            data["response_body"] = _text(self.response_body)
        return data


@dataclass
class InvocationResult:
    body: bytes
    content_type: str | None
    custom_attributes: str | None
    hops: list[Hop] = field(default_factory=list)
    new_session_id: str | None = None  # the last container opened a stateful session: `<id>; Expires=<time>`
    closed_session_id: str | None = None  # ... or closed one

    def to_dict(self, bodies: bool = False) -> dict[str, Any]:
        return {"status": 200, "content_type": self.content_type, "custom_attributes": self.custom_attributes,
                "body": self.body.decode("utf-8", "replace"), "hops": [hop.to_dict(bodies) for hop in self.hops]}


@dataclass
class StreamedResult:
    """An answer whose body the last container is still producing: `parts` yields it as it comes, and
    raises StreamInterrupted if the container stops before its end. The last hop is complete (size,
    time) once `parts` is exhausted."""
    parts: Generator[bytes, None, None]
    content_type: str | None
    custom_attributes: str | None
    hops: list[Hop] = field(default_factory=list)
    new_session_id: str | None = None
    closed_session_id: str | None = None


class InvocationFailed(Exception):
    """The invocation produced no answer for the caller. `hops`: those made before it failed (the chain
    fills them in); str(): SageMaker's message."""

    kind = "failed"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.hops: list[Hop] = []

    def reason(self) -> dict[str, Any]:
        """The typed fields of this failure."""
        return {}

    def to_dict(self, bodies: bool = False) -> dict[str, Any]:
        return {"failure": {"kind": self.kind, "message": self.message, **self.reason()},
                "hops": [hop.to_dict(bodies) for hop in self.hops]}


class InvalidRequest(InvocationFailed):
    """The request cannot be sent as it is (no container was called for it, or no further one)."""

    kind = "invalid_request"


class PayloadTooLarge(InvalidRequest):
    """The caller's request body is over the limit."""

    kind = "payload_too_large"

    def __init__(self, size: int, limit: int):
        self.size, self.limit = size, limit
        super().__init__(f"Request payload size {size} bytes exceeds the maximum of {limit} bytes.")

    def reason(self) -> dict[str, Any]:
        return {"size": self.size, "limit": self.limit}


class ContainerFailed(InvocationFailed):
    """A container of the endpoint gave no usable answer. `container`: its name as SageMaker reports it
    ("primary" for a single container), `status`: its HTTP status (0: none), `answer`: what it said
    (or what SageMaker says in its place). The message ends as SageMaker's do, pointing at the logs."""

    def __init__(self, endpoint: str, container: str, status: int, answer: str, statement: str | None = None):
        self.endpoint, self.container, self.status, self.answer = endpoint, container, status, answer
        kind = "client" if 0 < status < 500 else "server"
        statement = statement or f'Received {kind} error ({status}) from {container} with message "{answer}".'
        super().__init__(f"{statement} {see_logs(endpoint)}")

    def reason(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "container": self.container, "status": self.status, "answer": self.answer}


class AnswerTooLarge(ContainerFailed):
    """A container answered 200 with a body over the limit: to the next container (`receiver`), or to
    the caller (`receiver` None). SageMaker calls the first a ModelError (developer guide,
    inference-pipeline-troubleshoot); the second is our reading of the 6 MB response limit."""

    kind = "answer_too_large"

    def __init__(self, endpoint: str, container: str, size: int, limit: int, receiver: str | None = None):
        self.size, self.limit, self.receiver = size, limit, receiver
        what = f"the request payload from {container} to {receiver}" if receiver else f"the response payload from {container}"
        statement = (f"Received response from {container} with status code 200. However, {what} is {size} bytes, "
                     f"which has exceeded the maximum limit of {_megabytes(limit)}.")
        super().__init__(endpoint, container, 200, statement, statement)

    def reason(self) -> dict[str, Any]:
        return {**super().reason(), "size": self.size, "limit": self.limit, "receiver": self.receiver}


class ContainerError(ContainerFailed):
    """The container answered 4xx or 5xx."""

    kind = "container_error"


class ContainerTimedOut(ContainerFailed):
    """The container did not answer within the invocation timeout."""

    kind = "container_timed_out"

    def __init__(self, endpoint: str, container: str):
        super().__init__(endpoint, container, 0,
                         f"Your invocation timed out while waiting for a response from container {container}. "
                         "Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, "
                         "and try again.")


class ContainerUnreachable(ContainerFailed):
    """Nothing answered on the container's port, or it closed the connection without answering."""

    kind = "container_unreachable"

    def __init__(self, endpoint: str, container: str, why: str):
        self.why = why
        super().__init__(endpoint, container, 0,
                         f"Container {container} is not reachable ({why}); it may have crashed or be restarting. "
                         "See `sagemaker-emulator logs`.")


class StreamInterrupted(ContainerFailed):
    """The last container's streamed answer stopped before its end, after it had begun: its connection
    closed or broke, or it sent nothing more for the invocation timeout (`timed_out`)."""

    kind = "stream_interrupted"

    def __init__(self, endpoint: str, container: str, why: str, *, timed_out: bool = False):
        self.why, self.timed_out = why, timed_out
        statement = (f"Container {container} sent nothing more for the invocation timeout while streaming its response."
                     if timed_out else f"The response stream from container {container} broke: {why}.")
        super().__init__(endpoint, container, 200, statement, statement)

    def reason(self) -> dict[str, Any]:
        return {**super().reason(), "why": self.why, "timed_out": self.timed_out}


class ModelNotFound(InvalidRequest):
    """A multi-model endpoint's TargetModel names no readable artifact under the endpoint's prefix, or is not a
    path below it. (SageMaker's own text for this is not documented.)"""

    kind = "model_not_found"

    def __init__(self, endpoint: str, target: str, prefix: str, problem: str):
        self.endpoint, self.target, self.prefix, self.problem = endpoint, target, prefix, problem
        super().__init__(f"Could not find model data for TargetModel {target!r} of multi-model endpoint {endpoint} "
                         f"under {prefix}: {problem}")

    def reason(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "target": self.target, "prefix": self.prefix, "problem": self.problem}


class ModelLoadFailed(ContainerFailed):
    """A multi-model container answered its load request (POST /models) with an error, or not at all (status 0)."""

    kind = "model_load_failed"

    def __init__(self, endpoint: str, target: str, status: int, answer: str):
        self.target = target
        kind = "client" if 0 < status < 500 else "server"
        statement = (f'Failed to load model {target}: received {kind} error ({status}) from primary with message '
                     f'"{answer}".')
        super().__init__(endpoint, "primary", status, answer, statement)

    def reason(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "target": self.target, "status": self.status, "answer": self.answer}


class ModelNotReady(InvocationFailed):
    """A multi-model container took longer than the load timeout to load the model (SageMaker: 60 s)."""

    kind = "model_not_ready"

    def __init__(self, endpoint: str, target: str, seconds: float):
        self.endpoint, self.target, self.seconds = endpoint, target, seconds
        super().__init__(f"Model {target} of endpoint {endpoint} is not ready: it is still loading after "
                         f"{seconds:g} s. Try again later.")

    def reason(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "target": self.target, "seconds": self.seconds}


def _megabytes(limit: int) -> str:
    return f"{limit // MB} MB" if limit % MB == 0 else f"{limit} bytes"


def _text(body: bytes | None) -> str | None:
    return None if body is None else body.decode("utf-8", "replace")
