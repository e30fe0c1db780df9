"""The sagemaker-runtime REST protocol as a Flask app; gunicorn runs `emulator.front.app:create_app()`.

AWS routes are under /endpoints/; the emulator's own introspection routes live under /_emulator/.
Every other request (the sagemaker control plane, other AWS services) is forwarded to the owner
process by the Dispatch middleware (emulator/front/dispatch.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge, RequestTimeout

from emulator.invocation.chain import MAX_PAYLOAD_BYTES, SERVERLESS_MAX_PAYLOAD_BYTES
from emulator.invocation.request import InvocationRequest
from emulator.invocation.container_http import pings
from emulator.capture.frames import CONTENT_TYPE
from emulator.capture.sender import CaptureSender
from emulator.capture.writer import CAPTURE_PATH
from emulator.front import event_stream, sessions
from emulator.front.followups import Followups
from emulator.front.headers import INVOKE, INVOKE_STREAMING, check_headers
from emulator.front.dispatch import Dispatch
from emulator.front.introspection import introspection_routes
from emulator.front.response_stream import payload_events
from emulator.front.serverless import ServerlessGate
from emulator.multimodel.loader import ModelLoader
from emulator.seam.owner import OwnerClient, FORWARD_TIMEOUT
from emulator.seam.serving import ServedEndpoint, ServedVariant, ServingTable
from emulator.seam.worker_settings import WorkerSettings
from emulator.seam.wire_errors import (REQUEST_ID, InternalFailure, ServiceError, UnknownRoute, ValidationError,
                                       endpoint_not_found, new_request_id, traced_failure)
from emulator.observe.channel import Sender
from emulator.observe.recording import Recorder, Recording
from emulator.invocation.outcomes import InvocationFailed, InvocationResult, StreamedResult
from emulator.shapes import NAME_PATTERN, is_valid_name

TRACE_HEADER = "X-Emulator-Trace"
# InvokeEndpointWithResponseStream takes Accept as X-Amzn-SageMaker-Accept (botocore's model).
STREAMING_ACCEPT = {"accept": "X-Amzn-SageMaker-Accept"}


def create_app(settings: WorkerSettings | None = None) -> Flask:
    """The front of the emulator whose serving table and owner `settings` name (by default: the settings the
    owner process starts gunicorn with)."""
    app = Flask("sagemaker-emulator")
    settings = settings or WorkerSettings.from_environment()
    owner = OwnerClient(settings.control_url)
    table = ServingTable(settings.state_database, models=lambda: ModelLoader(owner))
    serverless = ServerlessGate(Path(settings.state_database).parent, owner)
    app.wsgi_app = Dispatch(app.wsgi_app, owner)
    # One byte over the limit is enough to know the body is too large: a chunked body (no Content-Length)
    # is cut there, a declared one refused before it is read.
    app.config["MAX_CONTENT_LENGTH"] = MAX_PAYLOAD_BYTES + 1
    channel = settings.request_log
    request_log = Sender(channel.socket, channel.body_limit) if channel else None  # None: the owner keeps no log
    keep_bodies = request_log is not None and request_log.capture_bodies
    app.register_blueprint(introspection_routes(owner))

    recorder = Recorder(request_log.add if request_log else None, "front")
    # Captures go to the owner, which writes them to S3; the worker flushes what is left when it stops.
    capture = app.extensions["capture"] = CaptureSender(
        lambda frames: owner.send(CAPTURE_PATH, frames, CONTENT_TYPE, FORWARD_TIMEOUT)) if owner.present else None
    followups = Followups(capture, Recorder(recorder.record, "shadow"), keep_bodies)

    def answer_invocation(name: str, input_shape: str, parsed: InvocationRequest,
                          respond: Callable[[ServedEndpoint, ServedVariant, Recording], Response]) -> Response:
        """The part both invocation routes share: the endpoint, its headers and variant, and the request log
        (`respond(endpoint, variant, recording)` ends the recording once its invocation has ended)."""
        recording = recorder.begin(name, parsed)
        try:
            endpoint = _endpoint_for(table, name)
            if endpoint.asynchronous:
                raise _asynchronous(name)
            check_headers(request.headers, input_shape)
            variant = endpoint.target(parsed.target_variant, parsed.inference_component)
            recording.variant = variant.name
            recording.request = _with_body(parsed, variant)  # whole before a serverless variant may cold-start
            if variant.serverless:
                return serverless.answer(name, variant, recording, lambda served, again: respond(endpoint, served, again),
                                         lambda: table.get(name))
            return respond(endpoint, variant, recording)
        except InvocationFailed as failure:
            raise recording.failed(failure) from None
        except ServiceError as error:  # refused before the chain ran (the endpoint, a header, the payload size)
            recording.ended([], error)
            raise

    # `path`: a name holding an encoded slash (a%2Fb) is a bad name (ValidationError), not an unknown route.
    @app.post("/endpoints/<path:name>/invocations")
    def invoke_endpoint(name: str) -> Response:
        def respond(endpoint: ServedEndpoint, variant: ServedVariant, recording: Recording) -> Response:
            invocation = recording.request
            copy, result = variant.through(lambda chain: chain.invoke(invocation, capture_bodies=keep_bodies),
                                           sessions.copy_for(table, name, variant, invocation))
            sessions.record(owner, name, variant, copy, result)
            recording.ended(result.hops)
            response = Response(result.body, status=200, content_type=result.content_type or "application/octet-stream")
            followups.answered(endpoint, variant, invocation, result, response, recording.started)
            return _with_answer_headers(response, variant, result)
        return answer_invocation(name, INVOKE, InvocationRequest.from_headers(request.headers), respond)

    @app.post("/endpoints/<path:name>/invocations-response-stream")
    def invoke_endpoint_with_response_stream(name: str) -> Response:
        def respond(_: ServedEndpoint, variant: ServedVariant, recording: Recording) -> Response:
            invocation = recording.request
            copy, result = variant.through(lambda chain: chain.invoke_streaming(invocation),
                                           sessions.copy_for(table, name, variant, invocation))
            sessions.record(owner, name, variant, copy, result)
            response = Response(payload_events(result, recording.ended), status=200, content_type=event_stream.CONTENT_TYPE)
            response.headers["X-Amzn-SageMaker-Content-Type"] = result.content_type or "application/octet-stream"
            return _with_answer_headers(response, variant, result)
        return answer_invocation(name, INVOKE_STREAMING, InvocationRequest.from_headers(request.headers, **STREAMING_ACCEPT),
                                 respond)

    @app.get("/ping")
    def ping() -> Response:
        return Response(status=200)

    @app.get("/_emulator/endpoints")
    def list_endpoints() -> Response:
        def described(variant: ServedVariant) -> dict:
            return {"weight": variant.weight, "mode": variant.chain.mode,
                    "containers": [{"hostname": r.hostname, "url": r.url} for r in variant.chain.routes],
                    **({"copies": {copy.name: [{"hostname": r.hostname, "url": r.url} for r in copy.chain.routes]
                                   for copy in variant.copies}} if variant.copies else {})}
        return jsonify({endpoint.name: {"variants": {variant.name: described(variant) for variant in endpoint.variants},
                                        **({"components": {c.component: described(c) for c in endpoint.components}}
                                           if endpoint.hosts_components else {})}
                        for endpoint in table.all().values()})

    @app.get("/_emulator/endpoints/<name>/health")
    def endpoint_health(name: str) -> Response:
        endpoint = _endpoint_for(table, name)
        several = len(endpoint.variants) > 1 or endpoint.hosts_components
        health = {"/".join(filter(None, (variant.component or variant.name if several else None, copy.name,
                                         route.hostname))): pings(route.url)
                  for variant in endpoint.variants + endpoint.components
                  for copy in (variant.copies or (variant.pick(),)) for route in copy.chain.routes}
        return jsonify({"endpoint": name, "healthy": all(health.values()), "containers": health}), 200 if all(health.values()) else 503

    @app.post("/_emulator/endpoints/<name>/invocations")
    def traced_invocation(name: str) -> Response:
        """The same invocation, answered as JSON with every hop (and bodies when ?bodies=true)."""
        bodies = request.args.get("bodies", "false").lower() in ("1", "true", "yes")
        endpoint = _endpoint_for(table, name)
        check_headers(request.headers)
        recording = recorder.begin(name, InvocationRequest.from_headers(request.headers))
        try:
            variant = endpoint.target(recording.request.target_variant, recording.request.inference_component)
            recording.variant = variant.name
            invocation = _with_body(recording.request, variant)
            _, result = variant.through(lambda chain: chain.invoke(invocation, capture_bodies=bodies or keep_bodies))
        except InvocationFailed as failure:
            recording.failed(failure)
            return jsonify(traced_failure(failure, bodies))
        recording.ended(result.hops)
        return jsonify(result.to_dict(bodies))

    @app.after_request
    def with_request_id(response: Response) -> Response:
        if not response.headers.get(REQUEST_ID):  # AWS sends one on every answer, success or error
            response.headers[REQUEST_ID] = new_request_id()
        return response

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Response:
        return Response(error.body(), status=error.status, headers=error.headers())

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Response:
        return service_error(_payload_too_large())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code is None or error.code >= 500:
            return unexpected(error)
        return service_error(UnknownRoute(error.code, error.name, request.path))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        """A failure of the front itself: logged with its traceback, answered as SageMaker's InternalFailure."""
        app.logger.exception("unexpected failure answering %s %s", request.method, request.path, exc_info=error)
        return service_error(InternalFailure(f"The emulator failed unexpectedly: {type(error).__name__}: {error}. "
                                             "This is a bug in sagemaker-emulator; its log has the traceback."))

    return app


def _payload_too_large(limit: int = MAX_PAYLOAD_BYTES) -> ValidationError:
    return ValidationError(f"Request payload size exceeds the maximum of {limit} bytes.")


def _asynchronous(name: str) -> ValidationError:
    # SageMaker refuses these with a ValidationError; its exact text is UNCONFIRMED.
    return ValidationError(f"Endpoint {name} is an asynchronous inference endpoint (its endpoint configuration sets "
                           "AsyncInferenceConfig). Fix: put the input in S3 and call InvokeEndpointAsync.")


def _endpoint_for(table: ServingTable, name: str) -> ServedEndpoint:
    if not is_valid_name(name):
        raise ValidationError(f"1 validation error detected: Value '{name}' at 'endpointName' failed to satisfy "
                              f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}")
    endpoint = table.started(name)
    if endpoint is None:
        raise endpoint_not_found(name)
    return endpoint


def _with_body(parsed: InvocationRequest, variant: ServedVariant) -> InvocationRequest:
    """The invocation with this request's body, read within the payload limit (a serverless variant's is lower)."""
    body = _read_body()
    limit = SERVERLESS_MAX_PAYLOAD_BYTES if variant.serverless else MAX_PAYLOAD_BYTES
    if len(body) > limit:
        raise _payload_too_large(limit)
    return replace(parsed, body=body)


def _with_answer_headers(response: Response, variant: ServedVariant, result: InvocationResult | StreamedResult) -> Response:
    response.headers["x-Amzn-Invoked-Production-Variant"] = variant.name
    if result.custom_attributes is not None:
        response.headers["X-Amzn-SageMaker-Custom-Attributes"] = result.custom_attributes
    sessions.answer_headers(response, result)
    # For a stream: the hops as they stood when the last container began to answer.
    response.headers[TRACE_HEADER] = json.dumps([hop.to_dict() for hop in result.hops], separators=(",", ":"))
    return response


def _read_body() -> bytes:
    """The body in one read of its Content-Length. get_data() reads 64 KiB at a time, and gunicorn
    copies what it has buffered on each read: quadratic in the body size (most of the front's CPU at 1 MB)."""
    length = request.content_length
    if length is not None and length > MAX_PAYLOAD_BYTES:
        raise _payload_too_large()
    try:
        if length is None:  # chunked: Flask's reader enforces MAX_CONTENT_LENGTH as it goes
            return request.get_data(cache=False)
        body = request.environ["wsgi.input"].read(length)
    except TimeoutError:  # the front's worker gives a silent client this long (server.CLIENT_TIMEOUT)
        raise RequestTimeout("The client stopped sending the request body.") from None
    if len(body) < length:
        raise ClientDisconnected("The client closed the connection before the end of the request body.")
    return body
