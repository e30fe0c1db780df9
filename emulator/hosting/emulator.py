"""The owner process's composition root: an emulator that answers the SageMaker control plane and the runtime on
one port, optionally preloaded with the endpoints of a definition. It builds the state store, the control plane
and its lifecycle, the owner's internal server with the embedded AWS services, asynchronous inference, the request
log and the HTTP front, wires them together, and stops them in order. Use it through emulator.api."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from emulator.asynchronous.service import AsyncInference
from emulator.aws import s3
from emulator.capture.writer import CaptureWriter
from emulator.hosting.aws_services import AwsServices
from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT
from emulator.hosting.client_side import ClientSide
from emulator.control import preload
from emulator.control.endpoints import DEFAULT_DESCRIBE_WAIT
from emulator.control.lifecycle import Lifecycle, wait_for
from emulator.control.endpoint_states import EndpointStates
from emulator.control.plane import ControlPlane
from emulator.control.server import InternalServer
from emulator.control.store import Store
from emulator.control.transform_jobs import TransformJobs
from emulator.definition import EndpointDefinition, load_file, parse
from emulator.containers import labels as L
from emulator.containers.docker_backend import DockerBackend
from emulator.hosting.emulated_endpoint import EmulatedEndpoint
from emulator.containers.group import Progress
from emulator.errors import EmulatorError, StartupError
from emulator.instances import instance
from emulator.front import async_invocations
from emulator.front.server import MAX_CONNECTIONS, FrontServer
from emulator.containers.leftovers import remove_dead_runs
from emulator.multimodel.loader import ModelLoader
from emulator.multimodel.manager import ModelSettings
from emulator.multimodel.owner_routes import owner_routes as multimodel_routes
from emulator.control.autoscaling import Scaler
from emulator.control.session_routes import session_routes
from emulator.control.serverless import DEFAULT_IDLE as DEFAULT_SERVERLESS_IDLE
from emulator.control.serverless_routes import serverless_routes
from emulator.observe.log import DEFAULT_PER_ENDPOINT, RequestLog
from emulator.observe.metrics import SageMakerMetrics
from emulator.observe.owner import Observer
from emulator.seam.serving import build
from emulator.seam.services import ASYNC_RUNTIME, RUNTIME
from emulator.seam.worker_settings import RequestLogChannel
from emulator.settings import DEFAULT_MAX_INSTANCES, MAX_INSTANCES, SERVERLESS_IDLE, TIME_SCALE, Settings

Source = str | Path | dict | list[EndpointDefinition]
STARTUP_WAIT = 24 * 3600.0  # the containers' own startup timeouts end a start long before this


class Emulator(ClientSide):
    """The SageMaker control plane and runtime on one port, the containers of every endpoint, and the
    endpoints of a definition (if given) created through that control plane at start."""

    def __init__(self, source: Source | None = None, *, names: list[str] | None = None, state: str | Path | None = None,
                 startup_timeout: float | None = None, invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT,
                 docker_host: str | None = None, progress: Progress | None = None, describe_wait: float = DEFAULT_DESCRIBE_WAIT,
                 log_size: int = DEFAULT_PER_ENDPOINT, log_bodies: int = 0, reuse: bool = False,
                 model_settings: ModelSettings | None = None, instance_type: str | None = None,
                 instance_limits: bool = True, max_instances: int | None = None, time_scale: float | None = None,
                 serverless_idle: float | None = None):
        """`state`: the control plane's state folder (None: a private one, removed at stop); `describe_wait`:
        see emulator.control.endpoints; `log_size`: invocations the request log keeps per endpoint (0: no
        request log); `log_bodies`: bytes of each request and response body it keeps (0: none); `reuse`: keep
        the containers running at stop and adopt matching kept ones at start (emulator.containers.reuse; `sagemaker-emulator
        prune` removes them); `model_settings`: multi-model containers' budget of loaded models and load timeout
        (None: from SAGEMAKER_EMULATOR_MAX_LOADED_MODELS and SAGEMAKER_EMULATOR_MODEL_LOAD_TIMEOUT); `instance_type`:
        the instance every endpoint of the definition is checked against, over its own InstanceType;
        `instance_limits`: each variant's containers share its instance type's vCPUs and memory (False: the
        machine's, as before instance sizing); `max_instances`: the most copies of a variant (or inference
        component) that run, whatever its instance count (None: SAGEMAKER_EMULATOR_MAX_INSTANCES, default 4);
        `time_scale`: what a guarded update's waits (its baking periods, TerminationWaitInSeconds,
        MaximumExecutionTimeoutInSeconds) and auto scaling's minutes and cooldowns are multiplied by, e.g. 0.01
        to bake 600 s in 6 (None: SAGEMAKER_EMULATOR_TIME_SCALE, else 1); `serverless_idle`: seconds a serverless
        variant serves nothing before its containers stop, its next invocation starting them again: a cold start
        (None: SAGEMAKER_EMULATOR_SERVERLESS_IDLE, else 600)."""
        self.time_scale = time_scale_of(time_scale)
        self.definitions = definitions_of(source, names) if source is not None else []
        if instance_type is not None:
            instance(instance_type)  # an unknown type is refused with the known ones
            self.definitions = [replace(definition, instance_type=instance_type) for definition in self.definitions]
        self.backend = DockerBackend(docker_host)
        self.state = Path(state) if state is not None else None  # None: a private folder, removed at stop
        self.startup_timeout, self.invocation_timeout = startup_timeout, invocation_timeout
        self.progress, self.describe_wait, self.reuse = progress, describe_wait, reuse
        self.model_settings = model_settings
        self.instance_limits = instance_limits
        self.max_instances = max_instances_of(max_instances)
        self.serverless_idle = serverless_idle_of(serverless_idle)
        self.request_log = RequestLog(log_size, log_bodies) if log_size > 0 else None
        self.metrics = SageMakerMetrics()  # the endpoints' CloudWatch metrics, made from the request log
        if self.request_log is not None:
            self.request_log.listen(self.metrics.add)
        self._observer = Observer(self.request_log, lambda: self.lifecycle.variants() if self.lifecycle else [],
                                  self.state_label)
        self._observer.app.register_blueprint(multimodel_routes())  # the front's workers ask it to load models
        self.capture = CaptureWriter(_write_capture)  # the front's workers hand it what they capture
        self._observer.app.register_blueprint(self.capture.routes())
        self._observer.app.register_blueprint(session_routes(lambda: self.store))  # ... and to record sessions
        self._observer.app.register_blueprint(serverless_routes(lambda: self.lifecycle and self.lifecycle.serverless))
        self.store: Store | None = None
        self.plane: ControlPlane | None = None
        self.lifecycle: Lifecycle | None = None
        self.internal: InternalServer | None = None  # the owner's server; other services mount on it
        self.aws: AwsServices | None = None  # S3, STS and CloudWatch Logs on that server, and container logs
        self.asynchronous: AsyncInference | None = None  # InvokeEndpointAsync's queue and workers
        self.front: FrontServer | None = None
        self.scaler: Scaler | None = None  # Application Auto Scaling's target tracking on the variants
        self._private_state: Path | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    @property
    def endpoints(self) -> dict[str, EmulatedEndpoint]:
        """The endpoints that serve now (InService), by name."""
        served = self.store.serving() if self.store else {}
        log = self.request_log
        return {spec.name: EmulatedEndpoint(build(spec, models=ModelLoader), self.lifecycle.running(spec.name),
                                            log.add_finished if log else None, bool(log and log.body_limit))
                for spec in served.values() if not spec.starting}

    def _served_url(self) -> str:
        return self.serve()

    @property
    def state_label(self) -> str:
        """Which state this emulator keeps, as its containers' labels, `ls` and the web page say it."""
        return L.state_label(str(self.state.resolve()) if self.state is not None else None,
                             sorted({str(d.source) for d in self.definitions}))

    def _state_folder(self) -> Path:
        return self.store.folder

    def start(self) -> "Emulator":
        """Open the state, bring back its endpoints, create the definition's, and wait until they serve."""
        remove_dead_runs(self.backend)
        _live.add(self)
        try:
            if self.state is None:
                self._private_state = Path(tempfile.mkdtemp(prefix="sagemaker-emulator-state-"))
            self.store = Store(self.state or self._private_state)
            self.plane = ControlPlane(self.store, describe_wait=self.describe_wait)
            self.lifecycle = self.plane.lifecycle = Lifecycle(
                self.plane, self.backend, startup_timeout=self.startup_timeout,
                invocation_timeout=self.invocation_timeout, progress=self.progress, serverless_idle=self.serverless_idle,
                events=self.request_log.event if self.request_log else None, reuse=self.reuse,
                model_settings=self.model_settings, state=self.state_label, instance_limits=self.instance_limits,
                max_instances=self.max_instances, time_scale=self.time_scale)
            self.internal = InternalServer(self.plane).start()
            self.aws = self.plane.aws = AwsServices(self.backend, self.store.folder / "s3").start(self.internal)
            self.aws.serve_metrics(self.metrics.datums)
            self.scaler = Scaler(self.plane, self._invocations, self.time_scale, self.progress).start()
            self.plane.transform_jobs = TransformJobs(self.plane, self.backend, self.aws.logs,
                                                      startup_timeout=self.startup_timeout,
                                                      instance_limits=self.instance_limits)
            self.internal.mount(RUNTIME, self._observer.app)  # the /_emulator/ reads the workers forward
            self.asynchronous = AsyncInference(EndpointStates(self.store),
                                               self.request_log.add_finished if self.request_log else None)
            self.internal.mount(ASYNC_RUNTIME, async_invocations.create_app(self.asynchronous))
            if self.front is not None:  # listening already (listen()): the front boots while the containers do
                self._start_front(wait=False)
            preload.forget(self.plane, self.definitions)
            self.lifecycle.restore()
            self.asynchronous.start()  # after restore: the queue's endpoints serve again
            preload.preload(self.plane, self.definitions)
            self._await([definition.name for definition in self.definitions])
            if self.front is not None:
                self.front.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _invocations(self, endpoint: str, variant: str, start: int, end: int) -> float:
        return self.metrics.total(endpoint, variant, "Invocations", start, end)

    def _await(self, names: list[str]) -> None:
        failures = []
        with self.plane.lock:
            for name in names:
                record = wait_for(self.plane, name, ("Creating",), STARTUP_WAIT)
                status = record.status if record else "Deleted"
                if status != "InService":
                    failures.append((record and record.failure_reason) or f"Endpoint {name} is {status}.")
        if failures:
            raise StartupError("\n".join(failures))

    def listen(self, host: str = "127.0.0.1", port: int = 0, *, workers: int = 2,
               max_connections: int = MAX_CONNECTIONS) -> str:
        """Take the front's port now (before `start`, to fail at once on a port in use); returns its URL."""
        if self.front is None:
            self.front = FrontServer(host=host, port=port, workers=workers, max_connections=max_connections).listen()
        return self.front.url

    def serve(self, host: str = "127.0.0.1", port: int = 0, *, workers: int = 2,
              max_connections: int = MAX_CONNECTIONS) -> str:
        """Start the HTTP front (the sagemaker control plane and runtime on one port); returns its URL."""
        self.listen(host, port, workers=workers, max_connections=max_connections)
        self._start_front(wait=True)
        return self.front.url

    def _start_front(self, *, wait: bool) -> None:
        if not self.front.running:
            self.front.start(self.store.path, self.internal.url, self.request_log_channel(), wait=wait)
        if wait:
            self.front.wait_ready()

    def request_log_channel(self) -> RequestLogChannel | None:
        """Where another process adds its invocations to this emulator's request log (the front's workers, a run
        attached to a resident emulator); None when the log is off."""
        return self._observer.start()

    @property
    def url(self) -> str:
        """The front's URL, once `serve()` (or `listen()`) took its port; reading it starts nothing."""
        if self.front is None:
            raise EmulatorError("the emulator has no HTTP front yet, so no URL. Fix: call serve() first "
                                "(it starts the front and returns the URL).")
        return self.front.url

    def stop(self, keep: bool = True) -> None:
        """Stop the front and every container; calling it again is harmless. The state folder keeps what
        was InService (a private one is removed). `keep=False`: remove the containers even with reuse."""
        with self._lock:
            if self.front is not None:
                self.front.stop()
                self.front = None
            self.capture.close()  # after the front: its workers have handed over all they captured
            self._observer.stop()
            if self.asynchronous is not None:  # before the containers: invocations cut short stay queued
                self.asynchronous.stop()
            if self.plane is not None and self.plane.transform_jobs is not None:
                self.plane.transform_jobs.close()
                self.plane.transform_jobs = None
            if self.scaler is not None:
                self.scaler.stop()
                self.scaler = None
            if self.lifecycle is not None:
                self.lifecycle.stop(keep)
                self.lifecycle = None
            if self.aws is not None:
                self.aws.stop()
                self.aws = None
            if self.internal is not None:
                self.internal.stop()
                self.internal = None
            if self.asynchronous is not None:
                self.asynchronous.close()
                self.asynchronous = None
            if self.store is not None:
                self.store.close()
                self.store = None
            if self._private_state is not None:
                shutil.rmtree(self._private_state, ignore_errors=True)
                self._private_state = None
            _live.discard(self)


def time_scale_of(given: float | None) -> float:
    """The time scale given, else SAGEMAKER_EMULATOR_TIME_SCALE's, else 1; refused unless a positive number."""
    return _positive(given, Settings.from_environment().time_scale, 1.0, "the time scale", f"{TIME_SCALE} or --time-scale",
                     "give e.g. 0.01 to make a guarded update's 600-s bake last 6 s, or 1 for real time.")


def serverless_idle_of(given: float | None) -> float:
    """The serverless idle time given, else SAGEMAKER_EMULATOR_SERVERLESS_IDLE's, else the default (600 s)."""
    return _positive(given, Settings.from_environment().serverless_idle, DEFAULT_SERVERLESS_IDLE,
                     "the serverless idle time", f"{SERVERLESS_IDLE} or --serverless-idle",
                     "give the seconds a serverless variant serves nothing before its containers stop, e.g. 5 in tests.")


def _positive(given: float | None, setting: str | None, default: float, what: str, where: str, fix: str) -> float:
    """`given`, else the setting's text, else `default`; an EmulatorError naming `what`, `where` it is set and the
    `fix` unless positive."""
    text = given if given is not None else setting
    try:
        value = float(text) if text is not None else default
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise EmulatorError(f"{what} {text!r} ({where}) is not a positive number. Fix: {fix}")
    return value


def max_instances_of(given: int | None) -> int:
    """The cap given, else SAGEMAKER_EMULATOR_MAX_INSTANCES's, else DEFAULT_MAX_INSTANCES; refused unless a whole
    number of at least 1."""
    text = str(given) if given is not None else Settings.from_environment().max_instances
    if text is None:
        return DEFAULT_MAX_INSTANCES
    if not text.strip().isdigit() or int(text) < 1:
        raise EmulatorError(f"the instance cap {text[:20]!r} ({MAX_INSTANCES} or --max-instances) is not a whole "
                            f"number of at least 1. Fix: give e.g. {DEFAULT_MAX_INSTANCES} (copies of a variant that run "
                            "at most), or leave it unset.")
    return int(text)


def definitions_of(source: Source, names: list[str] | None = None) -> list[EndpointDefinition]:
    """The endpoints a source defines (read now, from a file), or those of them `names` picks."""
    return _select(_definitions(source), names)


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


def _write_capture(url: str, body: bytes) -> None:
    s3.write(s3.S3Url.parse(url, "DataCaptureConfig.DestinationS3Uri"), body)


# Emulators still running when the interpreter exits (an uncaught error, Ctrl-C) are stopped.
_live: set[Emulator] = set()


@atexit.register
def _stop_all() -> None:
    for emulator in list(_live):
        emulator.stop()
