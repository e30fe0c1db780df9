"""A very cheap test container: /invocations answers the request body, bent by environment knobs.

ECHO_MODE                    `echo` (default) or `append`: add one JSON line saying what this hop received
ECHO_NAME                    the name `append` reports (default: the hostname)
ECHO_RESPONSE_CONTENT_TYPE   answer with this Content-Type instead of the request's
ECHO_STATUS                  answer invocations with this status and a JSON error body
ECHO_DELAY_SECONDS           sleep this long before answering an invocation (a hanging container)
ECHO_PING_STATUS             answer /ping with this status (e.g. 503: never healthy)
ECHO_PING_DELAY_SECONDS      sleep this long before answering /ping (pings slower than SageMaker's 2 s)
ECHO_ACCEPT_CONTENT_TYPES    comma list of accepted content types; others get 415 (default: any)
ECHO_STRICT_CONTENT_TYPE     `true`: compare the whole Content-Type header, parameters included, as
                             XGBoost's container does (so `text/csv; charset=utf-8` is refused)
ECHO_EXECUTION_PARAMETERS    JSON to answer GET /execution-parameters with (default: 404)
ECHO_STREAM_DELAY_SECONDS    stream the answer word by word (chunked), sleeping this long before each word,
                             as a language model's server sends tokens
ECHO_STREAM_BREAK_AFTER      with streaming: close the connection after this many words, mid-answer
ECHO_ALLOCATE_MB             at the first invocation, take and keep this many MB of memory (a model that loads big)
"""
import json
import os
import re
import socket
import time

from flask import Flask, Response, request

import sagemaker_serving as serving

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


def create_app() -> Flask:
    env = os.environ.get
    mode = env("ECHO_MODE", "echo")
    if mode not in ("echo", "append"):
        raise ValueError(f"ECHO_MODE must be echo or append, not {mode!r}")
    name = env("ECHO_NAME") or socket.gethostname()
    strict = env("ECHO_STRICT_CONTENT_TYPE", "false").lower() == "true"
    compared = (lambda t: (t or "").strip().lower()) if strict else serving.base_type
    accepted_types = {compared(t) for t in env("ECHO_ACCEPT_CONTENT_TYPES", "").split(",") if t.strip()}
    app = Flask(__name__)
    held: list[bytes] = []  # ECHO_ALLOCATE_MB's memory, kept for the container's life

    @app.get("/ping")
    def ping():
        time.sleep(float(env("ECHO_PING_DELAY_SECONDS", "0")))
        return "", int(env("ECHO_PING_STATUS", "200"))

    @app.post("/invocations")
    def invocations():
        if env("ECHO_ALLOCATE_MB") and not held:
            held.append(b"\x01" * (int(env("ECHO_ALLOCATE_MB")) << 20))  # written, so really resident
        time.sleep(float(env("ECHO_DELAY_SECONDS", "0")))
        if accepted_types and compared(request.content_type) not in accepted_types:
            return serving.error_response(f"unsupported content type {request.content_type!r}", 415)
        if env("ECHO_STATUS"):
            return serving.error_response(f"ECHO_STATUS={env('ECHO_STATUS')}", int(env("ECHO_STATUS")))
        body = request.get_data()
        if mode == "append":
            body += (json.dumps(what_this_hop_received(name)) + "\n").encode()
        if env("ECHO_STREAM_DELAY_SECONDS"):
            body = word_by_word(body, float(env("ECHO_STREAM_DELAY_SECONDS")), env("ECHO_STREAM_BREAK_AFTER"))
        response = Response(body, content_type=env("ECHO_RESPONSE_CONTENT_TYPE") or request.content_type
                            or "application/octet-stream")
        if CUSTOM_ATTRIBUTES in request.headers:
            response.headers[CUSTOM_ATTRIBUTES] = request.headers[CUSTOM_ATTRIBUTES]
        return response

    @app.get("/execution-parameters")
    def execution_parameters():
        parameters = env("ECHO_EXECUTION_PARAMETERS")
        if parameters is None:
            return serving.error_response("no ECHO_EXECUTION_PARAMETERS", 404)
        return Response(parameters, mimetype="application/json")

    return app


def word_by_word(body: bytes, delay: float, break_after: str | None):
    """The body in chunks of one word (with the spaces after it), each after `delay`; after `break_after`
    words, an error that makes gunicorn close the connection with the chunked answer unfinished."""
    for count, word in enumerate(re.findall(rb"\S*\s*", body)[:-1]):  # the last match is empty
        if break_after is not None and count == int(break_after):
            raise ConnectionAbortedError(f"ECHO_STREAM_BREAK_AFTER={break_after}")
        time.sleep(delay)
        yield word


def what_this_hop_received(name: str) -> dict:
    return {
        "host": name,
        "content_type": request.headers.get("Content-Type"),
        "accept": request.headers.get("Accept"),
        "custom_attributes": request.headers.get(CUSTOM_ATTRIBUTES),
    }


if __name__ == "__main__":
    serving.run()
