"""The sagemaker-runtime errors, each with its AWS code and HTTP status, as botocore parses them."""

from __future__ import annotations

import json
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


class ServiceError(Exception):
    code = "InternalFailure"
    status = 500

    def __init__(self, message: str, **members: Any):
        super().__init__(message)
        self.message = message
        self.members = members

    def body(self) -> bytes:
        # botocore reads the code from x-amzn-ErrorType or __type, the message from Message.
        return json.dumps({"__type": self.code, "Message": self.message, **self.members}).encode()

    def headers(self) -> dict[str, str]:
        return {"x-amzn-ErrorType": self.code, "Content-Type": "application/json"}


class ValidationError(ServiceError):
    code, status = "ValidationError", 400


class ModelError(ServiceError):
    code, status = "ModelError", 424

    def __init__(self, message: str, *, original_status: int, original_message: str, endpoint: str):
        super().__init__(message, OriginalStatusCode=original_status, OriginalMessage=original_message,
                         LogStreamArn=log_stream_arn(endpoint))
        self.original_status = original_status
        self.original_message = original_message


class InternalFailure(ServiceError):
    code, status = "InternalFailure", 500


class ServiceUnavailable(ServiceError):
    code, status = "ServiceUnavailable", 503


def log_stream_arn(endpoint: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}"


def endpoint_not_found(name: str) -> ValidationError:
    return ValidationError(f"Endpoint {name} of account {ACCOUNT} not found.")
