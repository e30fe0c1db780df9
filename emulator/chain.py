"""One invocation through an endpoint's containers (Serial or Direct), with a trace of each hop.

This is the per-request path: it parses nothing in the bodies, copies nothing it need
not, and reuses connections to the containers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import urllib3

from emulator import container_http
from emulator.content_types import charset_warning, hop_headers
from emulator.wire_errors import ModelError, ServiceError, ValidationError, log_stream_arn

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # 6,291,456: InvokeEndpoint's body limit, also applied between containers
DEFAULT_INVOCATION_TIMEOUT = 60.0
CONNECT_TIMEOUT = 2.0
TIMED_OUT = "Your invocation timed out"  # SageMaker's words, which callers may look for


@dataclass(frozen=True)
class Route:
    """One container as the invoker reaches it."""
    hostname: str
    url: str


@dataclass
class Hop:
    container: str
    content_type_in: str | None
    accept_in: str | None
    bytes_in: int
    status: int = 0  # 0: no HTTP answer (timeout, connection refused)
    content_type_out: str | None = None
    bytes_out: int = 0
    ms: float = 0.0
    warning: str | None = None
    request_body: bytes | None = None
    response_body: bytes | None = None

    def to_dict(self, bodies: bool = False) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("request_body", "response_body")}
        if bodies:
            data["request_body"] = _text(self.request_body)
            data["response_body"] = _text(self.response_body)
        return data


@dataclass
class InvocationResult:
    body: bytes
    content_type: str | None
    custom_attributes: str | None
    hops: list[Hop] = field(default_factory=list)


class InvocationFailed(Exception):
    """Carries the service error for the caller and the hops made before it, for the trace."""

    def __init__(self, error: ServiceError, hops: list[Hop]):
        super().__init__(error.message)
        self.error, self.hops = error, hops


class Chain:
    def __init__(self, endpoint: str, routes: list[Route], mode: str = "Serial", *,
                 timeout: float = DEFAULT_INVOCATION_TIMEOUT, max_payload: int = MAX_PAYLOAD_BYTES,
                 pool: urllib3.PoolManager | None = None):
        self.endpoint, self.routes, self.mode = endpoint, routes, mode
        self.timeout, self.max_payload = timeout, max_payload
        self._by_hostname = {route.hostname: route for route in routes}
        shared = pool or container_http.pool
        # Each container's connection pool, found once: PoolManager.request parses the URL and looks the
        # pool up on every call, a tenth of the front's CPU per request.
        self._pools = {route.url: shared.connection_from_url(route.url) for route in routes}
        self._timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=timeout)
        self._single = len(routes) == 1

    def invoke(self, body: bytes, *, content_type: str | None = None, accept: str | None = None,
               custom_attributes: str | None = None, target_container_hostname: str | None = None,
               inference_id: str | None = None, capture_bodies: bool = False) -> InvocationResult:
        """Raises InvocationFailed (wrapping the ServiceError for the caller) when the invocation fails."""
        hops: list[Hop] = []
        try:
            if len(body) > self.max_payload:
                raise ValidationError(f"Request payload size {len(body)} bytes exceeds the maximum of {self.max_payload} bytes.")
            route_list = self._select(target_container_hostname)
            extras = dict(custom_attributes=custom_attributes, inference_id=inference_id)
            current_type = content_type
            response_attributes = None
            for index, route in enumerate(route_list):
                if index and len(body) > self.max_payload:
                    previous = route_list[index - 1].hostname
                    raise ValidationError(
                        f"The request payload from {previous} to {route.hostname} is {len(body)} bytes, "
                        f"which has exceeded the maximum limit of {self.max_payload} bytes.")
                headers = hop_headers(index, len(route_list), content_type=current_type, accept=accept, **extras)
                hop = Hop(route.hostname, current_type, headers.get("Accept"), len(body),
                          request_body=body if capture_bodies else None)
                hops.append(hop)
                if index:
                    hop.warning = charset_warning(current_type, route_list[index - 1].hostname, route.hostname)
                body, current_type, response_attributes = self._call(route, body, headers, hop, capture_bodies)
            return InvocationResult(body, current_type, response_attributes, hops)
        except ServiceError as error:
            raise InvocationFailed(error, hops) from None

    def _select(self, target: str | None) -> list[Route]:
        if self.mode == "Direct":
            if not target:
                raise ValidationError("The endpoint's inference execution mode is Direct: the request must set "
                                      "TargetContainerHostname (X-Amzn-SageMaker-Target-Container-Hostname).")
            if target not in self._by_hostname:
                known = ", ".join(self._by_hostname)
                raise ValidationError(f"Container with hostname {target} is not found in endpoint {self.endpoint}; "
                                      f"its containers are: {known}.")
            return [self._by_hostname[target]]
        if target:
            raise ValidationError("TargetContainerHostname is only allowed for an endpoint whose inference execution "
                                  f"mode is Direct; endpoint {self.endpoint} is Serial.")
        return self.routes

    def _call(self, route: Route, body: bytes, headers: dict[str, str], hop: Hop,
              capture_bodies: bool) -> tuple[bytes, str | None, str | None]:
        name = "primary" if self._single else route.hostname
        started = time.perf_counter()
        try:
            response = self._post(self._pools[route.url], body, headers)
        except urllib3.exceptions.ReadTimeoutError:
            hop.ms = _ms_since(started)
            raise self._model_error(0, name, f"{TIMED_OUT} while waiting for a response from container "
                                             f"{name}. Review the latency metrics for each container, resolve the issue, "
                                             "and try again.", server=True) from None
        except urllib3.exceptions.HTTPError as exc:
            hop.ms = _ms_since(started)
            raise self._model_error(0, name, f"Container {name} is not reachable ({_reason(exc)}); it may have "
                                             "crashed or be restarting. See `sagemaker-emulator logs`.", server=True) from None
        hop.ms = _ms_since(started)
        hop.status = response.status
        hop.content_type_out = response.headers.get("Content-Type")
        hop.bytes_out = len(response.data)
        if capture_bodies:
            hop.response_body = response.data
        if response.status >= 400:
            raise self._model_error(response.status, name, response.data.decode("utf-8", "replace"),
                                    server=response.status >= 500)
        return response.data, hop.content_type_out, response.headers.get("X-Amzn-SageMaker-Custom-Attributes")

    def _post(self, pool: urllib3.HTTPConnectionPool, body: bytes, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        def post() -> urllib3.BaseHTTPResponse:
            return pool.urlopen("POST", "/invocations", body=body, headers=headers, timeout=self._timeout,
                                retries=False, redirect=False)
        try:
            return post()
        except urllib3.exceptions.ProtocolError:
            # A kept-alive connection that the container closed as it went idle fails before the request
            # is read. One more try, on another connection, tells that race from a container that is gone
            # (which refuses the new connection at once).
            return post()

    def _model_error(self, status: int, name: str, message: str, *, server: bool) -> ModelError:
        kind = "server" if server else "client"
        return ModelError(
            f'Received {kind} error ({status}) from {name} with message "{message}". '
            f"See {log_stream_arn(self.endpoint)} for more information.",
            original_status=status, original_message=message, endpoint=self.endpoint)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "it closed the connection without answering"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "nothing accepts connections on its port"
    reason = getattr(exc, "reason", None) or exc
    return " ".join(str(reason).split())[:200]


def _text(body: bytes | None) -> str | None:
    return None if body is None else body.decode("utf-8", "replace")
