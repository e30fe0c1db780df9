"""InvokeEndpointAsync's HTTP edge, served by the owner process (the front's workers forward
`/endpoints/<name>/async-invocations` there: they open the state read-only, and accepting is a write).

It checks the headers against botocore's model, queues the request (emulator.asynchronous) and answers
202 with where the answer will be; the queue's refusals become SageMaker's ValidationErrors here.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from emulator.asynchronous.requests import NotAccepted, UnknownEndpoint
from emulator.asynchronous.service import AsyncInference
from emulator.front.headers import INVOKE_ASYNC, check_headers
from emulator.invocation.request import InvocationRequest
from emulator.seam.wire_errors import InternalFailure, ServiceError, UnknownRoute, ValidationError, endpoint_not_found
from emulator.shapes import NAME_PATTERN, is_valid_name


def create_app(service: AsyncInference) -> Flask:
    app = Flask("sagemaker-emulator-async")

    @app.post("/endpoints/<path:name>/async-invocations")
    def invoke_endpoint_async(name: str) -> Response:
        if not is_valid_name(name):
            raise ValidationError(f"1 validation error detected: Value '{name}' at 'endpointName' failed to satisfy "
                                  f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}")
        headers = request.headers
        check_headers(headers, INVOKE_ASYNC)
        location = headers.get("X-Amzn-SageMaker-InputLocation")
        if not location:
            raise ValidationError("1 validation error detected: Value null at 'inputLocation' failed to satisfy "
                                  "constraint: Member must not be null")
        try:
            # InvokeEndpointAsync names the payload's content type and accept with headers of its own.
            call = InvocationRequest.from_headers(headers, content_type="X-Amzn-SageMaker-Content-Type",
                                                  accept="X-Amzn-SageMaker-Accept")
            accepted = service.accept(
                name, location, call,
                ttl=_integer(headers.get("X-Amzn-SageMaker-RequestTTLSeconds")),
                timeout=_integer(headers.get("X-Amzn-SageMaker-InvocationTimeoutSeconds")),
                filename=headers.get("X-Amzn-SageMaker-Filename"),
                extension=headers.get("X-Amzn-SageMaker-S3OutputPathExtension"))
        except UnknownEndpoint:
            raise endpoint_not_found(name) from None
        except NotAccepted as refusal:
            raise ValidationError(str(refusal)) from None
        response = Response(json.dumps({"InferenceId": accepted.inference_id}), status=202,
                            content_type="application/json")
        response.headers["X-Amzn-SageMaker-OutputLocation"] = accepted.output
        response.headers["X-Amzn-SageMaker-FailureLocation"] = accepted.failure
        return response

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Response:
        return Response(error.body(), status=error.status, headers=error.headers())

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException) and error.code is not None and error.code < 500:
            return service_error(UnknownRoute(error.code, error.name, request.path))  # a wrong method or path
        app.logger.exception("unexpected failure answering %s %s", request.method, request.path, exc_info=error)
        return service_error(InternalFailure(f"The emulator failed unexpectedly: {type(error).__name__}: {error}. "
                                             "The traceback is in the output of `sagemaker-emulator serve`."))

    return app


def _integer(value: str | None) -> int | None:
    return int(value) if value else None  # check_headers has checked its form and range
