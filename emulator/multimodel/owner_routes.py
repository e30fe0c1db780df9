"""The owner's route the front's workers ask before invoking a multi-model container (paths under /_emulator/,
on the owner's internal server only: the front does not forward them).

    POST /_emulator/multimodel/ensure  {"endpoint", "url", "target", "reload"}
         -> {"model_name", "hops"} or {"failure": {"kind", "reason"}}
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulator.multimodel import registry
from emulator.multimodel.loader import ENSURE_PATH, failure_to_dict, loaded_to_dict
from emulator.invocation.outcomes import InvocationFailed, ModelLoadFailed


def owner_routes() -> Blueprint:
    routes = Blueprint("multimodel", __name__)

    @routes.post(ENSURE_PATH)
    def ensure() -> Response:
        asked = request.get_json(force=True)
        manager = registry.manager_for(asked["url"])
        try:
            if manager is None:  # replaced (UpdateEndpoint) or removed since the worker read its route
                raise ModelLoadFailed(asked["endpoint"], asked["target"], 0,
                                      "the container no longer serves the endpoint; try again")
            return jsonify(loaded_to_dict(manager.ensure(asked["target"], bool(asked.get("reload")))))
        except InvocationFailed as failure:
            return jsonify(failure_to_dict(failure))

    return routes
