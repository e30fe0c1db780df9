"""The emulator's own views under /_emulator/: the web page (plain files shipped in the package, no build
step, nothing from the internet) and the owner's request log, pipelines and container logs, forwarded to
the owner process (the workers share no memory; the owner collects what every worker saw)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import urllib3
from flask import Blueprint, Response, jsonify, send_from_directory

from emulator.front.dispatch import CONTROL_URL_ENV, forward
from emulator.front.wire_errors import wire_error
from emulator.observe.channel import Sender
from emulator.observe.records import Finished, finished
from emulator.invocation.outcomes import Hop, InvocationFailed

STATIC = Path(__file__).parent / "static"


def introspection_routes() -> Blueprint:
    routes = Blueprint("introspection", __name__, url_prefix="/_emulator")
    owner: list[urllib3.HTTPConnectionPool] = []  # created on first use, after gunicorn's fork

    @routes.get("/")
    def page() -> Response:
        return send_from_directory(STATIC, "index.html")

    @routes.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(STATIC, name)

    def to_owner(**_: str) -> Response | Callable[[dict, Callable], Iterable[bytes]]:
        url = os.environ.get(CONTROL_URL_ENV)
        if not url:
            return jsonify({"error": "this front has no owner process to ask: start it with `sagemaker-emulator serve` "
                                     "or the Python API's Emulator.serve()."}), 503
        if not owner:
            owner.append(urllib3.connection_from_url(url, maxsize=8, block=False))
        return lambda environ, start_response: forward(environ, start_response, owner[0])

    for rule in ("/invocations", "/pipelines", "/endpoints/<name>/containers/<hostname>/logs"):
        routes.add_url_rule(rule, view_func=to_owner, endpoint=rule)
    return routes


def record_invocation(sender: Sender | None, endpoint: str, variant: str, started: float, clock: float,
                      hops: list[Hop], error: object = None) -> None:
    """Hand a finished invocation to the request log (an append; the log formats it later)."""
    if sender is not None:
        sender.add(finished(endpoint, variant, started, clock, hops, error))


def failed_invocation(endpoint: str, variant: str, started: float, clock: float, failure: InvocationFailed,
                      source: str) -> Finished:
    """A failed invocation as the request log keeps it, whoever made it: with the wire error the front answers."""
    return finished(endpoint, variant, started, clock, failure.hops, wire_error(failure), source)
