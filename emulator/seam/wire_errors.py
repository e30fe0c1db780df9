"""The service error every service on the port answers with, and its one rendering (moto's pattern); the
sagemaker-runtime errors, each with its AWS code and HTTP status, as botocore parses them; and the one mapping
from an invocation's failure to them."""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from typing import Any, Callable

from emulator.arns import ACCOUNT, log_stream_arn
from emulator.invocation.outcomes import ContainerFailed, InvalidRequest, InvocationFailed, ModelNotReady, StreamInterrupted


# Message and OriginalMessage are of botocore's `Message` shape: at most 2,048 characters.
MESSAGE_LIMIT = 2048
# The header every AWS JSON answer carries, success or error; botocore reads it into ResponseMetadata.RequestId.
REQUEST_ID = "x-amzn-RequestId"
REST_JSON = "application/json"  # sagemaker-runtime (rest-json)
JSON_1_1 = "application/x-amz-json-1.1"  # the sagemaker control plane, CloudWatch Logs (json 1.1)
S3_REQUEST_ID = "x-amz-request-id"  # S3's own name for it


def new_request_id() -> str:
    return str(uuid.uuid4())


def ensure_request_id(headers: list[tuple[str, str]], name: str = REQUEST_ID) -> list[tuple[str, str]]:
    """`headers` with a new request id under `name` when they carry none (of either name)."""
    if any(header.lower() in (REQUEST_ID.lower(), S3_REQUEST_ID) for header, _ in headers):
        return headers
    return [*headers, (name, new_request_id())]


class ServiceError(Exception):
    code = "InternalFailure"
    status = 500

    def __init__(self, message: str, **members: Any):
        message = message[:MESSAGE_LIMIT]
        super().__init__(message)
        self.message = message
        self.members = members

    def to_dict(self) -> dict[str, Any]:
        # botocore reads the code from x-amzn-ErrorType or __type, the message from Message.
        return {"__type": self.code, "Message": self.message, **self.members}

    def body(self) -> bytes:
        return json.dumps(self.to_dict()).encode()

    def headers(self, content_type: str = REST_JSON) -> dict[str, str]:
        return {"x-amzn-ErrorType": self.code, "Content-Type": content_type}

    def wsgi(self, start_response: Callable) -> list[bytes]:
        """The error as a WSGI answer, for the edges that are not Flask apps."""
        body = self.body()
        start_response(f"{self.status} {HTTPStatus(self.status).phrase}",
                       [*self.headers().items(), (REQUEST_ID, new_request_id()), ("Content-Length", str(len(body)))])
        return [body]


class InternalFailure(ServiceError):
    """Something failed in the emulator itself (a bug): SageMaker's InternalFailure, 500."""


class ServiceUnavailable(ServiceError):
    code, status = "ServiceUnavailable", 503


class ValidationError(ServiceError):
    code, status = "ValidationError", 400


class UnknownRoute(ServiceError):
    """A path or method no operation answers (werkzeug's 404 or 405), its status kept: AWS's
    UnknownOperationException, never a web page."""

    code = "UnknownOperationException"

    def __init__(self, status: int, reason: str, path: str):
        super().__init__(f"{status} {reason}: {path}")
        self.status = status


class ModelError(ServiceError):
    code, status = "ModelError", 424

    def __init__(self, message: str, *, original_status: int, original_message: str, endpoint: str):
        original_message = original_message[:MESSAGE_LIMIT]
        super().__init__(message, OriginalStatusCode=original_status, OriginalMessage=original_message,
                         LogStreamArn=log_stream_arn(endpoint))
        self.original_status = original_status
        self.original_message = original_message


class ModelNotReadyException(ServiceError):
    code, status = "ModelNotReadyException", 429


class ThrottlingException(ServiceError):
    """An invocation over a serverless variant's MaxConcurrency. Not in botocore's sagemaker-runtime model: the
    code and status are AWS's common ThrottlingException (400), which botocore's retry rules retry."""
    code, status = "ThrottlingException", 400


class StreamError(ServiceError):
    """An error that ends a response stream already answered 200: sent as the stream's last event (an
    event-stream exception, which boto3 raises as EventStreamError), never as an HTTP status."""

    status = 200

    def event_members(self) -> dict[str, Any]:
        return {"Message": self.message, **self.members}


class ModelStreamError(StreamError):
    code = "ModelStreamError"


class InternalStreamFailure(StreamError):
    code = "InternalStreamFailure"


def stream_error(failure: StreamInterrupted) -> ModelStreamError:
    """SageMaker's two ErrorCodes (botocore's model): the container ran out of time, or its connection broke."""
    return ModelStreamError(failure.message, ErrorCode="ModelInvocationTimeExceeded" if failure.timed_out else "StreamBroken")


def wire_error(failure: InvocationFailed) -> ServiceError:
    """What SageMaker answers for a failed invocation: a container that failed is the model's error (424), a
    multi-model container still loading the model is not ready (429), anything else the caller's (400)."""
    if isinstance(failure, ContainerFailed):
        return ModelError(failure.message, original_status=failure.status, original_message=failure.answer,
                          endpoint=failure.endpoint)
    if isinstance(failure, InvalidRequest):
        return ValidationError(failure.message)
    if isinstance(failure, ModelNotReady):
        return ModelNotReadyException(failure.message)
    raise TypeError(f"no wire error for {type(failure).__name__}")


def traced_failure(failure: InvocationFailed, bodies: bool = False) -> dict[str, Any]:
    """A failed invocation as the emulator's traced route answers it: the wire error, its status, the hops."""
    error = wire_error(failure)
    return {"error": error.to_dict(), "status": error.status, **failure.to_dict(bodies)}


def endpoint_not_found(name: str) -> ValidationError:
    return ValidationError(f"Endpoint {name} of account {ACCOUNT} not found.")
