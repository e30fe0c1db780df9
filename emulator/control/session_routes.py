"""The owner's routes the front's workers ask when a container opens or closes a stateful session (paths under
/_emulator/, on the owner's internal server only): the owner alone writes the sessions table
(emulator.seam.sessions), so both workers see each session the moment its call is answered.

    POST /_emulator/sessions/open   {"endpoint", "id", "target", "copy", "expires"} -> {}
    POST /_emulator/sessions/close  {"endpoint", "id"} -> {}
"""

from __future__ import annotations

from typing import Callable

from flask import Blueprint, Response, jsonify, request

from emulator.control.store import Store
from emulator.seam.sessions import CLOSE_PATH, OPEN_PATH, Session


def session_routes(store: Callable[[], Store]) -> Blueprint:
    """`store()`: the owner's store (opened when the emulator starts)."""
    routes = Blueprint("sessions", __name__)

    @routes.post(OPEN_PATH)
    def open_session() -> Response:
        store().open_session(Session(**request.get_json(force=True)))
        return jsonify({})

    @routes.post(CLOSE_PATH)
    def close_session() -> Response:
        asked = request.get_json(force=True)
        store().close_session(asked["endpoint"], asked["id"])
        return jsonify({})

    return routes
