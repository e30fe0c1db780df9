"""The owner's introspection routes (paths as the front serves them, so the front forwards them unchanged):

    GET /_emulator/invocations?since=N&endpoint=NAME&wait=S   the request log after number N (see RequestLog.read)
    GET /_emulator/pipelines                                  endpoints, variants, containers: health, port, restarts
    GET /_emulator/endpoints/NAME/containers/HOST/logs?tail=N the container's last log lines (docker logs --tail)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

from emulator.observe.log import RequestLog

if TYPE_CHECKING:
    from emulator.containers.group import ContainerGroup

LOG_TAIL, MAX_LOG_TAIL = 200, 5000


def owner_routes(log: RequestLog | None, variants: Callable[[], list[tuple[str, "ContainerGroup"]]],
                 state: str = "unknown") -> Blueprint:
    """`variants`: (variant name, its containers) of every endpoint now, those starting and draining too;
    `state`: which state the owner keeps (a folder, or none)."""
    routes = Blueprint("owner-introspection", __name__, url_prefix="/_emulator")

    @routes.errorhandler(BadParameter)
    def bad_parameter(error: BadParameter) -> tuple[Response, int]:
        return jsonify({"error": str(error)}), 400

    @routes.get("/invocations")
    def invocations() -> Response:
        since = _number("since", int, 0)
        wait = _number("wait", float, 0.0)
        if log is None:
            return jsonify({"error": "the request log is off (started with log_size=0 / --log-size 0)."}), 404
        return jsonify(log.read(since, request.args.get("endpoint") or None, wait))

    @routes.get("/pipelines")
    def pipelines() -> Response:
        return jsonify({"endpoints": _pipelines(variants()), "state": state,
                        "request_log": log and {"per_endpoint": log.per_endpoint, "body_limit": log.body_limit,
                                                "dropped": log.dropped}})

    @routes.get("/endpoints/<name>/containers/<hostname>/logs")
    def container_logs(name: str, hostname: str) -> Response:
        tail = min(_number("tail", int, LOG_TAIL), MAX_LOG_TAIL)
        for _, endpoint in variants():
            for container in endpoint.containers if endpoint.name == name else ():
                if container.hostname == hostname and container.id:
                    text = endpoint.backend.logs(container.id, tail=max(tail, 1))
                    return Response(text, content_type="text/plain; charset=utf-8")
        return Response(f"no running container {hostname} in endpoint {name}.\n", status=404,
                        content_type="text/plain; charset=utf-8")

    return routes


def _pipelines(variants: list[tuple[str, "ContainerGroup"]]) -> list[dict[str, Any]]:
    """Each endpoint with its variants, each variant's containers in the order a request passes them."""
    endpoints: dict[str, dict[str, Any]] = {}
    for variant, endpoint in variants:
        entry = endpoints.setdefault(endpoint.name, {"name": endpoint.name, "variants": []})
        entry["variants"].append({"name": variant, "mode": endpoint.definition.mode, "containers": _containers(endpoint)})
    return list(endpoints.values())


def _containers(endpoint: "ContainerGroup") -> list[dict[str, Any]]:
    # Containers still starting are not asked: a page must not wait for a slow /ping of each.
    health = endpoint.health() if endpoint.serving else {}
    containers = []
    for container in endpoint.containers:
        state = health.get(container.hostname, {"status": "starting", "healthy": False, "restarts": 0})
        containers.append({"hostname": container.hostname, "image": container.definition.image,
                           "id": container.id[:12], "name": container.name, "url": container.url,
                           "port": urlsplit(container.url).port if container.url else None, **state})
    return containers


class BadParameter(ValueError):
    pass


def _number(name: str, kind: type, default: Any) -> Any:
    text = request.args.get(name)
    try:
        return kind(text) if text else default
    except ValueError:
        raise BadParameter(f"query parameter {name}={text[:40]!r} is not a{'n integer' if kind is int else ' number'}; "
                           f"pass e.g. {name}={kind(default)}.") from None
