"""What one invocation through an endpoint's containers came to: a result, or a typed failure.

Each failure carries the hops made before it and says in SageMaker's words what happened; what it
becomes on the wire (code, HTTP status, members) is decided at the HTTP edge (emulator/front/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.arns import log_stream_arn


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

    def to_dict(self, bodies: bool = False) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("request_body", "response_body")}
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

    def to_dict(self, bodies: bool = False) -> dict[str, Any]:
        return {"status": 200, "content_type": self.content_type, "custom_attributes": self.custom_attributes,
                "body": self.body.decode("utf-8", "replace"), "hops": [hop.to_dict(bodies) for hop in self.hops]}


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
    """A body over the limit: the request's (`sender` None) or one container's answer to the next."""

    kind = "payload_too_large"

    def __init__(self, size: int, limit: int, sender: str | None = None, receiver: str | None = None):
        self.size, self.limit, self.sender, self.receiver = size, limit, sender, receiver
        if sender is None:
            message = f"Request payload size {size} bytes exceeds the maximum of {limit} bytes."
        else:
            message = (f"The request payload from {sender} to {receiver} is {size} bytes, "
                       f"which has exceeded the maximum limit of {limit} bytes.")
        super().__init__(message)

    def reason(self) -> dict[str, Any]:
        return {"size": self.size, "limit": self.limit, "sender": self.sender, "receiver": self.receiver}


class ContainerFailed(InvocationFailed):
    """A container of the endpoint gave no usable answer. `container`: its name as SageMaker reports it
    ("primary" for a single container), `status`: its HTTP status (0: none), `answer`: what it said
    (or what SageMaker says in its place)."""

    def __init__(self, endpoint: str, container: str, status: int, answer: str):
        self.endpoint, self.container, self.status, self.answer = endpoint, container, status, answer
        kind = "client" if 0 < status < 500 else "server"
        super().__init__(f'Received {kind} error ({status}) from {container} with message "{answer}". '
                         f"See {log_stream_arn(endpoint)} for more information.")

    def reason(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "container": self.container, "status": self.status, "answer": self.answer}


class ContainerError(ContainerFailed):
    """The container answered 4xx or 5xx."""

    kind = "container_error"


class ContainerTimedOut(ContainerFailed):
    """The container did not answer within the invocation timeout."""

    kind = "container_timed_out"

    def __init__(self, endpoint: str, container: str):
        super().__init__(endpoint, container, 0,
                         f"Your invocation timed out while waiting for a response from container {container}. "
                         "Review the latency metrics for each container, resolve the issue, and try again.")


class ContainerUnreachable(ContainerFailed):
    """Nothing answered on the container's port, or it closed the connection without answering."""

    kind = "container_unreachable"

    def __init__(self, endpoint: str, container: str, why: str):
        self.why = why
        super().__init__(endpoint, container, 0,
                         f"Container {container} is not reachable ({why}); it may have crashed or be restarting. "
                         "See `sagemaker-emulator logs`.")


def _text(body: bytes | None) -> str | None:
    return None if body is None else body.decode("utf-8", "replace")
