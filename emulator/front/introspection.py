"""The emulator's own views under /_emulator/: the web page (plain files shipped in the package, no build
step, nothing from the internet) and the owner's request log, pipelines and container logs, forwarded to
the owner process (the workers share no memory; the owner collects what every worker saw)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from flask import Blueprint, Response, jsonify, send_from_directory

from emulator.seam.owner import OwnerClient

STATIC = Path(__file__).parent / "static"


def introspection_routes(owner: OwnerClient) -> Blueprint:
    routes = Blueprint("introspection", __name__, url_prefix="/_emulator")

    @routes.get("/")
    def page() -> Response:
        return send_from_directory(STATIC, "index.html")

    @routes.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(STATIC, name)

    def to_owner(**_: str) -> Response | Callable[[dict, Callable], Iterable[bytes]]:
        if not owner.present:
            return jsonify({"error": "this front has no owner process to ask: start it with `sagemaker-emulator serve` "
                                     "or the Python API's Emulator.serve()."}), 503
        return owner.forward

    for rule in ("/invocations", "/pipelines", "/endpoints/<name>/containers/<hostname>/logs"):
        routes.add_url_rule(rule, view_func=to_owner, endpoint=rule)
    return routes

