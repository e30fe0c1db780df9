"""The emulator's own views under /_emulator/: the web page (plain files shipped in the package, no build
step, nothing from the internet) and the owner's request log, pipelines and container logs, forwarded to
the owner process (the workers share no memory; the owner collects what every worker saw)."""

from __future__ import annotations

import os
from pathlib import Path

import urllib3
from flask import Blueprint, Response, jsonify, request, send_from_directory

from emulator.outcomes import Hop
from emulator.observe.channel import Sender
from emulator.observe.log import MAX_WAIT
from emulator.observe.records import finished
from emulator.front.wire_errors import ServiceError

OWNER_URL_ENV = "SAGEMAKER_EMULATOR_OWNER_URL"  # to the front's workers: where the owner process answers
STATIC = Path(__file__).parent / "static"
_owner = urllib3.PoolManager(maxsize=8, retries=False)


def introspection_routes() -> Blueprint:
    routes = Blueprint("introspection", __name__, url_prefix="/_emulator")

    @routes.get("/")
    def page() -> Response:
        return send_from_directory(STATIC, "index.html")

    @routes.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(STATIC, name)

    routes.add_url_rule("/invocations", view_func=_forward)
    routes.add_url_rule("/pipelines", view_func=_forward)
    routes.add_url_rule("/endpoints/<name>/containers/<hostname>/logs", view_func=_forward)
    return routes


def record_invocation(sender: Sender | None, endpoint: str, variant: str, started: float, clock: float,
                      hops: list[Hop], error: ServiceError | None = None) -> None:
    """Hand a finished invocation to the request log (an append; the log formats it later)."""
    if sender is not None:
        sender.add(finished(endpoint, variant, started, clock, hops, error))


def _forward(**_: str) -> Response:
    owner = os.environ.get(OWNER_URL_ENV)
    if not owner:
        return jsonify({"error": "this front has no owner process to ask: start it with `sagemaker-emulator serve` "
                                 "or the Python API's Emulator.serve()."}), 503
    try:
        answer = _owner.request("GET", owner + request.full_path, retries=False,
                                timeout=urllib3.Timeout(connect=2.0, read=MAX_WAIT + 5))
    except urllib3.exceptions.HTTPError as exc:
        return jsonify({"error": f"the emulator's owner process at {owner} does not answer ({exc})."}), 502
    return Response(answer.data, status=answer.status, content_type=answer.headers.get("Content-Type"))
