"""The sagemaker control plane's errors, each with its AWS code and HTTP status (moto's pattern).

They serialize as every AWS error does (`emulator.seam.wire_errors.ServiceError`): botocore's JSON 1.1
parser reads the code from `__type` and the text from `Message`. Missing or duplicate resources are
ValidationExceptions in SageMaker's own words, not the modeled ResourceNotFound.
"""

from __future__ import annotations

# InternalFailure is the runtime's own class, re-exported: one error, one place.
from emulator.seam.wire_errors import InternalFailure, ServiceError  # noqa: F401


class ValidationException(ServiceError):
    code, status = "ValidationException", 400


class ResourceNotFound(ServiceError):
    code, status = "ResourceNotFound", 400


class ResourceInUse(ServiceError):
    code, status = "ResourceInUse", 400


class ResourceLimitExceeded(ServiceError):
    code, status = "ResourceLimitExceeded", 400


class UnknownOperationException(ServiceError):
    code, status = "UnknownOperationException", 400


def not_found(kind: str, arn: str) -> ValidationException:
    """`kind` as SageMaker says it: model, endpoint configuration, endpoint."""
    return ValidationException(f'Could not find {kind} "{arn}".')


def already_exists(kind: str, arn: str) -> ValidationException:
    return ValidationException(f'Cannot create already existing {kind} "{arn}".')

