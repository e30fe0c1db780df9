"""One asynchronous request as the queue keeps it, and where its answer goes.

Output `<S3OutputPath>[/<S3OutputPathExtension>]/<Filename or InferenceId.out>`, failure
`<S3FailurePath>/<InferenceId>-error.out` (the failure name as SageMaker writes it; with no S3FailurePath
the failure goes beside the outputs, UNCONFIRMED).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from emulator.aws.s3 import S3Error, S3Url
from emulator.invocation.request import InvocationRequest

# RequestTTLSeconds and InvocationTimeoutSeconds when the caller sets none (botocore's model documents both).
DEFAULT_TTL_SECONDS = 21600
DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900
OUTPUT_SUFFIX, FAILURE_SUFFIX = ".out", "-error.out"


class NotAccepted(Exception):
    """The request cannot be queued; the message says why and how to fix it."""


class UnknownEndpoint(NotAccepted):
    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        super().__init__(f"Endpoint {endpoint} not found.")


@dataclass(frozen=True)
class AsyncRequest:
    endpoint: str
    inference_id: str
    input: str  # s3://bucket/key
    output: str
    failure: str
    accepted: float  # epoch seconds: the TTL counts from here, across restarts
    ttl: int = DEFAULT_TTL_SECONDS
    timeout: int = DEFAULT_INVOCATION_TIMEOUT_SECONDS
    # The invocation's members as the caller set them (InvocationRequest.members): a runtime header the request
    # object gains reaches the queued call with no change here.
    members: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> AsyncRequest:
        data = json.loads(text)
        # A request queued by an earlier version kept three of its members at the top level.
        earlier = {member: value for member in ("content_type", "accept", "custom_attributes")
                   if (value := data.pop(member, None)) is not None}
        return cls(**{**data, "members": {**earlier, **data.get("members", {})}})

    def invocation(self, body: bytes) -> InvocationRequest:
        """The call the queued request makes, with the InferenceId it was given when accepted."""
        return InvocationRequest.of(body, **{**self.members, "inference_id": self.inference_id})

    def expired(self, now: float) -> bool:
        return now > self.accepted + self.ttl


def locations(output_config: dict[str, Any], inference_id: str, *, filename: str | None = None,
              extension: str | None = None) -> tuple[str, str]:
    """(output URL, failure URL) of a request, from the endpoint config's AsyncInferenceConfig.OutputConfig."""
    output = _folder(output_config["S3OutputPath"], "AsyncInferenceConfig.OutputConfig.S3OutputPath")
    if extension:
        output = output.child(extension.strip("/"))
    failure_path = output_config.get("S3FailurePath")
    failure = _folder(failure_path, "AsyncInferenceConfig.OutputConfig.S3FailurePath") if failure_path else output
    return (str(output.child(filename or inference_id + OUTPUT_SUFFIX)),
            str(failure.child(inference_id + FAILURE_SUFFIX)))


def input_url(location: str) -> S3Url:
    """The InputLocation as an S3 URL; NotAccepted for any other form."""
    try:
        return S3Url.parse(location, "InputLocation")
    except S3Error as error:
        raise NotAccepted(f"{error} (the emulator reads s3:// input locations only)") from None


def _folder(url: str, field: str) -> S3Url:
    parsed = S3Url.parse(url, field)
    return S3Url(parsed.bucket, parsed.key.rstrip("/"))
