"""One invocation through an endpoint's containers (Serial or Direct), with a trace of each hop.

This is the per-request path: it parses nothing in the bodies, copies nothing it need
not, and reuses connections to the containers.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import urllib3

from emulator.invocation import container_http
from emulator.invocation.container_http import StreamedFile
from emulator.invocation.content_types import charset_warning, hop_headers
from emulator.invocation.request import InvocationRequest
from emulator.invocation.outcomes import (MB, AnswerTooLarge, ContainerError, ContainerTimedOut, ContainerUnreachable, Hop,
                               InvalidRequest, InvocationFailed, InvocationResult, PayloadTooLarge, StreamedResult,
                               StreamInterrupted)


class LoadedModel(Protocol):
    hops: list[Hop]  # the load and unload hops it took
    invoke_path: str  # where the container answers invocations of that model


class ModelSource(Protocol):
    """What loads the model an invocation of a multi-model container names (emulator.multimodel)."""
    def ensure(self, endpoint: str, url: str, target: str, reload: bool = False) -> LoadedModel: ...


@dataclass(frozen=True)
class PayloadLimits:
    """Body limits in bytes (None: no limit): the caller's request, a container's answer to the next
    container, and the last container's answer to the caller."""
    request: int | None
    between: int | None
    response: int | None


# InvokeEndpoint's body is at most 6,291,456 bytes (botocore's model); between pipeline containers
# SageMaker allows 5 MB (developer guide, inference-pipeline-troubleshoot). An answer over 6 MB to the
# caller is refused as a ModelError too: our reading (unconfirmed) of the 6 MB response limit.
REALTIME_LIMITS = PayloadLimits(request=6 * MB, between=5 * MB, response=6 * MB)
# A transform job sizes its batches by MaxPayloadInMB (up to 100, or 0: unbounded) itself.
BATCH_LIMITS = PayloadLimits(request=None, between=None, response=None)
MAX_PAYLOAD_BYTES = REALTIME_LIMITS.request
SERVERLESS_MAX_PAYLOAD_BYTES = 4 * MB  # a serverless endpoint's request (its developer guide's endpoint quotas)
DEFAULT_INVOCATION_TIMEOUT = 60.0
CONNECT_TIMEOUT = 2.0
STREAM_READ = 64 * 1024  # at most this much per part when a streamed answer is not chunked
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
# A stateful model's answer opens (`<id>; Expires=<time>`) or closes (`<id>`) a session (emulator.seam.sessions).
NEW_SESSION_ID, CLOSED_SESSION_ID = "X-Amzn-SageMaker-New-Session-Id", "X-Amzn-SageMaker-Closed-Session-Id"
INVOCATIONS = "/invocations"


@dataclass(frozen=True)
class CallPolicy:
    """How long a container may take to answer, and the body limits: per call, so one chain serves real time,
    batch transform (ModelClientConfig's timeout, MaxPayloadInMB) and asynchronous requests alike."""
    timeout: float = DEFAULT_INVOCATION_TIMEOUT
    limits: PayloadLimits = REALTIME_LIMITS

    @cached_property
    def urllib3_timeout(self) -> urllib3.Timeout:
        return urllib3.Timeout(connect=CONNECT_TIMEOUT, read=self.timeout)


@dataclass(frozen=True)
class Route:
    """One container as the invoker reaches it."""
    hostname: str
    url: str


class Chain:
    def __init__(self, endpoint: str, routes: list[Route], mode: str = "Serial", *,
                 timeout: float = DEFAULT_INVOCATION_TIMEOUT, pool: urllib3.PoolManager | None = None,
                 models: ModelSource | None = None, instance: str | None = None):
        """`timeout`: the default policy's (real time); `models`: for a multi-model container, what loads the
        model an invocation names (TargetModel); `instance`: the copy these containers are, named on every hop."""
        self.endpoint, self.routes, self.mode, self.models = endpoint, routes, mode, models
        self.instance = instance
        self.policy = CallPolicy(timeout)
        self._by_hostname = {route.hostname: route for route in routes}
        shared = pool or container_http.pool
        # Each container's connection pool, found once: PoolManager.request parses the URL and looks the
        # pool up on every call, a tenth of the front's CPU per request.
        self._pools = {route.url: shared.connection_from_url(route.url) for route in routes}
        self._single = len(routes) == 1

    def invoke(self, request: InvocationRequest, *, policy: CallPolicy | None = None,
               capture_bodies: bool = False) -> InvocationResult:
        """Raises an InvocationFailed outcome, carrying the hops made, when the invocation fails."""
        return self._through(request, policy or self.policy, stream_last=False, capture_bodies=capture_bodies)

    def invoke_streaming(self, request: InvocationRequest, *, policy: CallPolicy | None = None) -> StreamedResult:
        """The same invocation with the last container's answer streamed as it produces it (the earlier
        hops buffered, as SageMaker does): returns once that container has begun to answer 2xx."""
        return self._through(request, policy or self.policy, stream_last=True, capture_bodies=False)

    def _through(self, request: InvocationRequest, policy: CallPolicy, *, stream_last: bool,
                 capture_bodies: bool) -> Any:
        hops: list[Hop] = []
        body, limits, timeout = request.body, policy.limits, policy.urllib3_timeout
        try:
            if limits.request is not None and len(body) > limits.request:
                raise PayloadTooLarge(len(body), limits.request)
            route_list = self._select(request.target_container_hostname, request.target_model)
            forwarded = request.forwarded()
            current_type = request.content_type
            answered: Any = {}  # the headers of the last container's answer
            for index, route in enumerate(route_list):
                if index and limits.between is not None and len(body) > limits.between:
                    raise AnswerTooLarge(self.endpoint, route_list[index - 1].hostname, len(body), limits.between,
                                         route.hostname)
                headers = hop_headers(index, len(route_list), current_type, request.accept, forwarded)
                if self.models is not None:  # one container (definition.py): the model it is asked for
                    body, current_type, answered = self._call_model(route, body, headers, hops, timeout,
                                                                               capture_bodies, request.target_model)
                    continue
                hop = Hop(route.hostname, current_type, headers.get("Accept"), len(body),
                          request_body=body if capture_bodies else None)
                hops.append(hop)
                if index:
                    hop.warning = charset_warning(current_type, route_list[index - 1].hostname, route.hostname)
                if stream_last and index == len(route_list) - 1:
                    return self._open_stream(route, body, headers, hop, hops, timeout)
                body, current_type, answered = self._call(route, body, headers, hop, timeout, capture_bodies)
            if limits.response is not None and len(body) > limits.response:
                raise AnswerTooLarge(self.endpoint, self._name(route_list[-1]), len(body), limits.response)
            return InvocationResult(body, current_type, answered.get(CUSTOM_ATTRIBUTES), hops,
                                    answered.get(NEW_SESSION_ID), answered.get(CLOSED_SESSION_ID))
        except InvocationFailed as failure:
            failure.hops = hops
            raise
        finally:
            if self.instance is not None:
                for hop in hops:
                    hop.instance = self.instance

    def _select(self, target: str | None, target_model: str | None = None) -> list[Route]:
        if target_model is not None and self.models is None:
            raise InvalidRequest(f"Endpoint {self.endpoint} is not a multi-model endpoint and does not support "
                                 "target model header.")  # SageMaker's words
        if target_model is None and self.models is not None:
            raise InvalidRequest(f"Endpoint {self.endpoint} is a multi-model endpoint: the request must name the model "
                                 "to invoke with TargetModel (X-Amzn-SageMaker-Target-Model), e.g. model-1.tar.gz.")
        if self.mode == "Direct":
            if not target:
                raise InvalidRequest("The endpoint's inference execution mode is Direct: the request must set "
                                     "TargetContainerHostname (X-Amzn-SageMaker-Target-Container-Hostname).")
            if target not in self._by_hostname:
                known = ", ".join(self._by_hostname)
                raise InvalidRequest(f"Container with hostname {target} is not found in endpoint {self.endpoint}; "
                                     f"its containers are: {known}.")
            return [self._by_hostname[target]]
        if target:
            raise InvalidRequest("TargetContainerHostname is only allowed for an endpoint whose inference execution "
                                 f"mode is Direct; endpoint {self.endpoint} is Serial.")
        return self.routes

    def _call_model(self, route: Route, body: bytes | StreamedFile, headers: dict[str, str], hops: list[Hop],
                    timeout: urllib3.Timeout, capture_bodies: bool, target_model: str) -> tuple[bytes, str | None, Any]:
        """A multi-model container: its model loaded (the loader's load and unload hops), then invoked. A 404
        means the container lost it meanwhile (restarted, or another request's load unloaded it): once more."""
        reload = False
        while True:
            loaded = self.models.ensure(self.endpoint, route.url, target_model, reload=reload)
            hops.extend(loaded.hops)
            hop = Hop(route.hostname, headers.get("Content-Type"), headers.get("Accept"), len(body),
                      request_body=body if capture_bodies else None, action="invoke", model=target_model)
            hops.append(hop)
            try:
                return self._call(route, body, headers, hop, timeout, capture_bodies, loaded.invoke_path)
            except ContainerError as error:
                if error.status != 404 or reload:
                    raise
                reload = True

    def _call(self, route: Route, body: bytes | StreamedFile, headers: dict[str, str], hop: Hop,
              timeout: urllib3.Timeout, capture_bodies: bool, path: str = INVOCATIONS) -> tuple[bytes, str | None, Any]:
        started = time.perf_counter()
        response = self._send(route, body, headers, hop, started, timeout, preload=True, path=path)
        hop.ms = _ms_since(started)
        hop.bytes_out = len(response.data)
        if capture_bodies:
            hop.response_body = response.data
        self._refuse_errors(route, response)
        return response.data, hop.content_type_out, response.headers

    def _open_stream(self, route: Route, body: bytes | StreamedFile, headers: dict[str, str], hop: Hop,
                     hops: list[Hop], timeout: urllib3.Timeout) -> StreamedResult:
        started = time.perf_counter()
        response = self._send(route, body, headers, hop, started, timeout, preload=False)
        if response.status >= 400:  # an error answer is not streamed: it is the invocation's failure
            hop.bytes_out = len(response.data)
            hop.ms = _ms_since(started)
            response.release_conn()
            self._refuse_errors(route, response)
        return StreamedResult(self._parts(route, response, hop, started), hop.content_type_out,
                              response.headers.get(CUSTOM_ATTRIBUTES), hops,
                              response.headers.get(NEW_SESSION_ID), response.headers.get(CLOSED_SESSION_ID))

    def _parts(self, route: Route, response: urllib3.BaseHTTPResponse, hop: Hop, started: float) -> Generator[bytes, None, None]:
        """The container's answer as it sends it: each chunk of a chunked answer, else what each read brings."""
        ended = False
        try:
            reads = response.read_chunked() if response.chunked else iter(lambda: response.read1(STREAM_READ), b"")
            for part in reads:
                if part:
                    hop.bytes_out += len(part)
                    yield part
            ended = True
        except urllib3.exceptions.ReadTimeoutError:
            raise StreamInterrupted(self.endpoint, self._name(route), "no data for the invocation timeout",
                                    timed_out=True) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            why = ("it closed the connection before the end of its answer"
                   if isinstance(exc, urllib3.exceptions.ProtocolError) else _reason(exc))
            raise StreamInterrupted(self.endpoint, self._name(route), why) from None
        finally:
            hop.ms = _ms_since(started)
            if ended:
                response.release_conn()
            else:  # broken, or the caller went away: this connection is mid-answer, never reused
                response.close()

    def _send(self, route: Route, body: bytes | StreamedFile, headers: dict[str, str], hop: Hop, started: float,
              timeout: urllib3.Timeout, preload: bool, path: str = INVOCATIONS) -> urllib3.BaseHTTPResponse:
        name = self._name(route)
        try:
            response = self._post(self._pools[route.url], body, headers, timeout, preload, path)
        except urllib3.exceptions.ReadTimeoutError:
            hop.ms = _ms_since(started)
            raise ContainerTimedOut(self.endpoint, name) from None
        except urllib3.exceptions.HTTPError as exc:
            hop.ms = _ms_since(started)
            raise ContainerUnreachable(self.endpoint, name, _reason(exc)) from None
        hop.status = response.status
        hop.content_type_out = response.headers.get("Content-Type")
        return response

    def _refuse_errors(self, route: Route, response: urllib3.BaseHTTPResponse) -> None:
        if response.status >= 400:
            raise ContainerError(self.endpoint, self._name(route), response.status,
                                 response.data.decode("utf-8", "replace"))

    def _name(self, route: Route) -> str:
        return "primary" if self._single else route.hostname

    def _post(self, pool: urllib3.HTTPConnectionPool, body: bytes | StreamedFile, headers: dict[str, str],
              timeout: urllib3.Timeout, preload: bool = True, path: str = INVOCATIONS) -> urllib3.BaseHTTPResponse:
        streamed = isinstance(body, StreamedFile)

        def post() -> urllib3.BaseHTTPResponse:
            return pool.urlopen("POST", path, body=body.chunks() if streamed else body, headers=headers,
                                timeout=timeout, retries=False, redirect=False, chunked=streamed,
                                preload_content=preload)
        try:
            return post()
        except urllib3.exceptions.ProtocolError:
            # A kept-alive connection that the container closed as it went idle fails before the request
            # is read. One more try, on another connection, tells that race from a container that is gone
            # (which refuses the new connection at once).
            return post()


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "it closed the connection without answering"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "nothing accepts connections on its port"
    reason = getattr(exc, "reason", None) or exc
    return " ".join(str(reason).split())[:200]

