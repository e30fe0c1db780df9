"""One invocation as the runtime takes it: the body and the request headers that shape it.

The edges parse headers into it (`from_headers`), the hop sends what each container gets (`forwarded`), and
the request log shows what the caller asked for (`described`). A new runtime header is a member here, parsed
by the edge that takes it and sent by the hop: nothing in between changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from emulator.invocation.container_http import StreamedFile

# The member each runtime header fills (botocore's sagemaker-runtime model names them so).
HEADERS = {
    "content_type": "Content-Type",
    "accept": "Accept",
    "custom_attributes": "X-Amzn-SageMaker-Custom-Attributes",
    "target_model": "X-Amzn-SageMaker-Target-Model",
    "target_container_hostname": "X-Amzn-SageMaker-Target-Container-Hostname",
    "target_variant": "X-Amzn-SageMaker-Target-Variant",
    "inference_id": "X-Amzn-SageMaker-Inference-Id",
    "inference_component": "X-Amzn-SageMaker-Inference-Component",
    "session_id": "X-Amzn-SageMaker-Session-Id",
}
# What every container of the chain receives as the caller sent it (Content-Type and Accept follow the
# pipeline's own rules, emulator.invocation.content_types).
FORWARDED = ("custom_attributes", "inference_id", "session_id")
# What the request log shows of the request, besides its hops: the caller's InferenceId ties a logged
# invocation to the caller's own records, as SageMaker's data capture and async outputs do; the inference
# component and session say which copy was meant.
DESCRIBED = ("inference_id", "inference_component", "session_id")


@dataclass(frozen=True)
class InvocationRequest:
    body: bytes | StreamedFile = b""
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    target_model: str | None = None
    target_container_hostname: str | None = None
    target_variant: str | None = None
    inference_id: str | None = None
    inference_component: str | None = None
    session_id: str | None = None  # NEW_SESSION opens one; an id the container gave keeps the call on its copy

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], body: bytes | StreamedFile = b"",
                     **renamed: str) -> "InvocationRequest":
        """The members from their headers; `renamed` gives a member another header (InvokeEndpointWithResponseStream
        takes Accept as X-Amzn-SageMaker-Accept)."""
        names = {**HEADERS, **renamed}
        return cls(body, **{member: headers.get(header) for member, header in names.items()})

    @classmethod
    def of(cls, body: bytes | str | StreamedFile, **members: Any) -> "InvocationRequest":
        """For callers in Python: a text body is sent as UTF-8."""
        known = {field.name for field in fields(cls)} - {"body"}
        unknown = set(members) - known
        if unknown:
            raise TypeError(f"unknown invocation member(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return cls(body.encode() if isinstance(body, str) else body, **members)

    def members(self) -> dict[str, str]:
        """Every member the caller set but the body: what a queue keeps to call again later (`of(body, **members)`)."""
        return {member: value for member in HEADERS if (value := getattr(self, member)) is not None}

    def forwarded(self) -> dict[str, str]:
        """The headers every container receives as the caller sent them."""
        return {HEADERS[member]: value for member in FORWARDED if (value := getattr(self, member)) is not None}

    def described(self) -> dict[str, str]:
        """What the request log keeps of the request's own members (none that is unset)."""
        return {member: value for member in DESCRIBED if (value := getattr(self, member)) is not None}
