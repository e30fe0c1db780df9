"""The Python API for tests and notebooks: start endpoints from a definition, invoke them, stop them.

    with Emulator("pipeline.yaml") as emulator:
        result = emulator["penguins"].invoke(b"Torgersen,39.1,18.7,181,3750,male", content_type="text/csv")
        print(result.body, [hop.container for hop in result.hops])
"""

from __future__ import annotations

import atexit
import threading
import time
from pathlib import Path
from typing import Any

from emulator.chain import DEFAULT_INVOCATION_TIMEOUT, Chain, InvocationFailed, InvocationResult
from emulator.definition import EndpointDefinition, load_file, parse
from emulator.docker_backend import DockerBackend
from emulator.endpoint import Endpoint, Progress
from emulator.errors import EmulatorError
from emulator.front.routes_state import EndpointRoutes
from emulator.front.server import FrontServer
from emulator.leftovers import remove_dead_runs
from emulator.observe.log import DEFAULT_PER_ENDPOINT, RequestLog
from emulator.observe.owner import Observer
from emulator.observe.records import finished
from emulator.parallel import map_in_threads

Source = str | Path | dict | list[EndpointDefinition]
VARIANT = "AllTraffic"


class EmulatedEndpoint:
    """One running endpoint: invoke it in-process (no front server needed), read its health."""

    def __init__(self, endpoint: Endpoint, invocation_timeout: float, log: RequestLog | None = None):
        self.endpoint, self._log = endpoint, log
        self.chain = Chain(endpoint.name, endpoint.routes, endpoint.definition.mode, timeout=invocation_timeout)

    @property
    def name(self) -> str:
        return self.endpoint.name

    def invoke(self, body: bytes | str, *, content_type: str | None = None, accept: str | None = None,
               custom_attributes: str | None = None, target_container_hostname: str | None = None,
               inference_id: str | None = None, trace_bodies: bool = False) -> InvocationResult:
        """Raises emulator.chain.InvocationFailed (with .error, the SageMaker error, and .hops) on failure."""
        payload = body.encode() if isinstance(body, str) else body
        started, clock = time.time(), time.perf_counter()
        capture = trace_bodies or bool(self._log and self._log.body_limit)
        try:
            result = self.chain.invoke(payload, content_type=content_type, accept=accept,
                                       custom_attributes=custom_attributes, inference_id=inference_id,
                                       target_container_hostname=target_container_hostname, capture_bodies=capture)
        except InvocationFailed as failure:
            self._record(started, clock, failure.hops, failure.error)
            raise
        self._record(started, clock, result.hops)
        return result

    def _record(self, started: float, clock: float, hops: list, error: Any = None) -> None:
        if self._log is not None:
            self._log.add_finished(finished(self.name, VARIANT, started, clock, hops, error, source="api"))

    def health(self) -> dict[str, dict]:
        return self.endpoint.health()

    def routes(self) -> EndpointRoutes:
        return EndpointRoutes(self.name, self.chain.mode, tuple(self.chain.routes), self.chain.timeout)


class Emulator:
    """The endpoints of a pipeline definition, their containers, and (after `serve`) the HTTP front."""

    def __init__(self, source: Source, *, names: list[str] | None = None, startup_timeout: float | None = None,
                 invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT, docker_host: str | None = None,
                 progress: Progress | None = None, log_size: int = DEFAULT_PER_ENDPOINT, log_bodies: int = 0,
                 reuse: bool = False):
        """`log_size`: invocations the request log keeps per endpoint (0: no request log); `log_bodies`: bytes of
        each request and response body it keeps (0: none); `reuse`: keep the containers running at stop and adopt
        matching kept ones at start (emulator.reuse; `sagemaker-emulator prune` removes them)."""
        self.definitions = _select(_definitions(source), names)
        self.backend = DockerBackend(docker_host)
        self.startup_timeout, self.invocation_timeout = startup_timeout, invocation_timeout
        self.progress, self.reuse = progress, reuse
        self.endpoints: dict[str, EmulatedEndpoint] = {}
        self.front: FrontServer | None = None
        self._starting: list[Endpoint] = []
        self._lock = threading.Lock()
        self.request_log = RequestLog(log_size, log_bodies) if log_size > 0 else None
        self._observer = Observer(self.request_log, lambda: list(self._starting))

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def __getitem__(self, name: str) -> EmulatedEndpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise EmulatorError(f"no endpoint {name!r} here; running: {', '.join(self.endpoints) or 'none'}.") from None

    @property
    def endpoint(self) -> EmulatedEndpoint:
        """The only endpoint, for definitions that hold one."""
        if len(self.endpoints) != 1:
            raise EmulatorError(f"{len(self.endpoints)} endpoints run here; pick one with emulator[name].")
        return next(iter(self.endpoints.values()))

    def start(self) -> "Emulator":
        remove_dead_runs(self.backend)
        _live.add(self)
        events = self.request_log.event if self.request_log else None
        self._starting = [Endpoint(d, self.backend, startup_timeout=self.startup_timeout, progress=self.progress,
                                   events=events, reuse=self.reuse) for d in self.definitions]
        try:
            map_in_threads(Endpoint.start, self._starting)
        except BaseException:
            self.stop()
            raise
        self.endpoints = {e.name: EmulatedEndpoint(e, self.invocation_timeout, self.request_log) for e in self._starting}
        return self

    def listen(self, host: str = "127.0.0.1", port: int = 0, *, workers: int = 2, threads: int = 16) -> str:
        """Take the front's port now (before `start`, to fail at once on a port in use); returns its URL."""
        if self.front is None:
            self.front = FrontServer(host=host, port=port, workers=workers, threads=threads).listen()
        return self.front.url

    def serve(self, host: str = "127.0.0.1", port: int = 0, *, workers: int = 2, threads: int = 16) -> str:
        """Start the sagemaker-runtime HTTP front for all endpoints; returns its URL."""
        self.listen(host, port, workers=workers, threads=threads)
        if not self.front.running:
            self.front.start([endpoint.routes() for endpoint in self.endpoints.values()], self._observer.start())
        return self.front.url

    @property
    def url(self) -> str:
        return self.serve()

    def boto3_client(self, region: str = "us-east-1") -> Any:
        """A real boto3 sagemaker-runtime client pointed at the front, with dummy credentials."""
        import boto3  # noqa: PLC0415 - optional: only tests and users who want boto3 need it
        from botocore.config import Config  # noqa: PLC0415

        return boto3.client("sagemaker-runtime", endpoint_url=self.url, region_name=region,
                            aws_access_key_id="emulator", aws_secret_access_key="emulator",
                            config=Config(read_timeout=self.invocation_timeout + 10))

    def stop(self) -> None:
        """Stop the front and every container; calling it again is harmless."""
        with self._lock:
            if self.front is not None:
                self.front.stop()
                self.front = None
            self._observer.stop()
            endpoints, self._starting = self._starting, []
            map_in_threads(Endpoint.stop, endpoints)
            self.endpoints = {}
            _live.discard(self)


def start_endpoints(source: Source, **options: Any) -> Emulator:
    """Start every endpoint of a definition (a file path, a CreateModel dict or `{"Endpoints": ...}`)."""
    return Emulator(source, **options).start()


def _definitions(source: Source) -> list[EndpointDefinition]:
    if isinstance(source, list):
        return source
    if isinstance(source, dict):
        return parse(source)
    return load_file(source)


def _select(definitions: list[EndpointDefinition], names: list[str] | None) -> list[EndpointDefinition]:
    if not names:
        return definitions
    known = {d.name: d for d in definitions}
    missing = [n for n in names if n not in known]
    if missing:
        raise EmulatorError(f"no endpoint named {', '.join(missing)} in the definition; it defines: {', '.join(known)}.")
    return [known[n] for n in names]


# Emulators still running when the interpreter exits (an uncaught error, Ctrl-C) are stopped.
_live: set[Emulator] = set()


@atexit.register
def _stop_all() -> None:
    for emulator in list(_live):
        emulator.stop()
