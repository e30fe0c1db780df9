"""The owner's route a front worker asks before invoking a serverless variant stopped for idleness (under
/_emulator/, on the owner's internal server only: the front does not forward it).

    POST /_emulator/serverless/wake  {"endpoint", "variant"}  ->  {"started": bool} or {"failure": reason}
"""

from __future__ import annotations

from typing import Callable

from flask import Blueprint, Response, jsonify, request

from emulator.control.serverless import ServerlessFleet
from emulator.errors import EmulatorError
from emulator.seam.serverless import WAKE_PATH


def serverless_routes(fleet: Callable[[], ServerlessFleet | None]) -> Blueprint:
    """`fleet`: the lifecycle's serverless fleet now (None while the emulator starts or stops)."""
    routes = Blueprint("serverless", __name__)

    @routes.post(WAKE_PATH)
    def wake() -> Response:
        asked = request.get_json(force=True)
        current = fleet()
        if current is None:
            return jsonify({"failure": "the emulator is stopping."})
        try:
            return jsonify({"started": current.wake(asked["endpoint"], asked["variant"])})
        except EmulatorError as failure:
            return jsonify({"failure": str(failure)})

    return routes
