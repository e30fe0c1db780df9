"""An endpoint's containers: start them as SageMaker does, wait until healthy, stop them.

One process owns an endpoint's containers; request handlers only reach them by URL.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emulator import labels as L
from emulator.artifacts import model_folder
from emulator.container_http import pings
from emulator.chain import Route
from emulator.definition import ContainerDefinition, EndpointDefinition
from emulator.docker_backend import BIND_TO_PORT_LABEL, ContainerSpec, DockerBackend
from emulator.errors import EmulatorError, StartupError
from emulator.isolation import NamespaceRelay
from emulator.parallel import map_in_threads
from emulator.supervisor import Supervisor

DEFAULT_STARTUP_TIMEOUT = 240.0
PING_INTERVAL = 0.05
INSPECT_EVERY = 4  # pings: a container that died is reported within 0.2 s
SINGLE_CONTAINER_PORT = 8080
PIPELINE_FIRST_PORT = 9081  # not 8080, so an image that ignores SAGEMAKER_BIND_TO_PORT is caught
SAFE_PORT_RANGE = "9000-9999"
LOG_LINES = 20
CANCELLED = "cancelled"  # another container failed first, or the endpoint was stopped

Progress = Callable[[str], None]


@dataclass
class RunningContainer:
    definition: ContainerDefinition
    name: str
    id: str = ""
    url: str = ""
    relay: NamespaceRelay | None = None  # only with EnableNetworkIsolation

    @property
    def hostname(self) -> str:
        return self.definition.hostname


class Endpoint:
    def __init__(self, definition: EndpointDefinition, backend: DockerBackend, *,
                 startup_timeout: float | None = None, progress: Progress | None = None):
        self.definition = definition
        self.backend = backend
        self.startup_timeout = startup_timeout or definition.startup_timeout or DEFAULT_STARTUP_TIMEOUT
        self._progress = progress or (lambda message: None)
        # Unique per start, so one process may run the same endpoint twice (two fixtures, two tests).
        self._suffix = uuid.uuid4().hex[:8]
        self.containers = [RunningContainer(c, _container_name(definition.name, c.hostname, self._suffix))
                           for c in definition.containers]
        self._supervisor: Supervisor | None = None
        self._abort = threading.Event()  # one container failed: the others stop waiting at once
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def routes(self) -> list[Route]:
        return [Route(c.hostname, c.url) for c in self.containers]

    # -- start --------------------------------------------------------------------------------------------------
    def start(self) -> "Endpoint":
        """Start every container in parallel and wait for all pings; on any failure remove them all."""
        try:
            folders = self._prepare()
            results = map_in_threads(lambda pair: self._start_one(*pair), zip(self.containers, folders))
            failures = [failure for failure in results if failure and failure is not CANCELLED]
            if failures:
                raise StartupError(self._failure_report(failures))
            if CANCELLED in results:
                raise StartupError(f"Endpoint {self.name}: startup was interrupted; its containers were removed.")
            # SageMaker replaces a failed instance: a container that stops after a healthy start is started again.
            self._supervisor = Supervisor(self.backend, {c.hostname: c.id for c in self.containers},
                                          lambda message: self._progress(f"{self.name}/{message}")).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare(self) -> list[Path | None]:
        """Checks that need no container: images present, labels, artifacts unpacked."""
        folders = []
        for container in self.containers:
            image = container.definition.image
            image_labels = self.backend.image_labels(image)
            if self.definition.is_pipeline and image_labels.get(BIND_TO_PORT_LABEL) != "true":
                raise EmulatorError(
                    f"{self.definition.source}: endpoint {self.name}, container {container.hostname}: image {image} "
                    f"does not contain the required {BIND_TO_PORT_LABEL}=true Docker label. SageMaker refuses such an "
                    "image in a multi-container model, because the container must listen on the port given in "
                    f"SAGEMAKER_BIND_TO_PORT. Fix: make the server bind to $SAGEMAKER_BIND_TO_PORT (default 8080) and add "
                    f"`LABEL {BIND_TO_PORT_LABEL}=true` to the Dockerfile.")
            self._progress(f"{self.name}/{container.hostname}: preparing model for {image}")
            folders.append(model_folder(container.definition.model_data))
        return folders

    def _start_one(self, container: RunningContainer, folder: Path | None) -> str | None:
        """Start and wait for one container; returns a failure description, or None when healthy."""
        index = self.containers.index(container)
        port = PIPELINE_FIRST_PORT + index if self.definition.is_pipeline else SINGLE_CONTAINER_PORT
        environment = dict(container.definition.environment)
        if self.definition.is_pipeline:
            environment.update(SAGEMAKER_BIND_TO_PORT=str(port), SAGEMAKER_SAFE_PORT_RANGE=SAFE_PORT_RANGE)
        spec = ContainerSpec(image=container.definition.image, name=container.name, container_port=port,
                             environment=environment, labels=self._labels(container.hostname),
                             model_folder=folder, network_isolated=self.definition.network_isolation)
        if self._abort.is_set():
            return CANCELLED
        try:
            container.id, container.url = self.backend.run(spec)
            if spec.network_isolated:
                container.url = self._relay(container, port)
        except EmulatorError as exc:
            self._abort.set()
            return f"{container.hostname} ({spec.image}): {exc}"
        if self._abort.is_set():  # stopped while Docker was creating it
            self.backend.remove(container.id, timeout=0)
            return CANCELLED
        self._progress(f"{self.name}/{container.hostname}: started {spec.image}, waiting for /ping")
        failure = self._wait_healthy(container)
        if failure and failure is not CANCELLED:
            self._abort.set()
        return failure

    def _relay(self, container: RunningContainer, port: int) -> str:
        container.relay = NamespaceRelay(lambda: self.backend.network_namespace(container.id), port)
        container.relay.check()
        return container.relay.start().url

    def _wait_healthy(self, container: RunningContainer) -> str | None:
        started = time.monotonic()
        deadline = started + self.startup_timeout
        polls = 0
        while time.monotonic() < deadline:
            if self._abort.is_set():
                return CANCELLED
            # Asking Docker costs CPU the booting containers want: ping often, inspect now and then.
            state = self.backend.state(container.id) if polls % INSPECT_EVERY == 0 else None
            polls += 1
            if state and state.status not in ("running", "created"):
                return (f"{container.hostname} ({container.definition.image}) exited with code {state.exit_code} "
                        f"during startup.{self._last_logs(container)}")
            if pings(container.url):
                self._progress(f"{self.name}/{container.hostname}: healthy after {time.monotonic() - started:.1f} s")
                return None
            time.sleep(PING_INTERVAL)
        return (f"{container.hostname} ({container.definition.image}) did not pass /ping within "
                f"{self.startup_timeout:g} s.{self._last_logs(container)}")

    def _last_logs(self, container: RunningContainer) -> str:
        text = self.backend.logs(container.id, tail=LOG_LINES).decode("utf-8", "replace").rstrip()
        if not text:
            return " It printed nothing."
        return " Its last log lines:\n    " + "\n    ".join(text.splitlines()[-LOG_LINES:])

    def _failure_report(self, failures: list[str]) -> str:
        listing = "\n".join(f"  - {failure}" for failure in failures)
        return (f"Endpoint {self.name} failed to start ({len(failures)} of {len(self.containers)} containers), "
                f"as SageMaker fails CreateEndpoint when any container fails its pings. All its containers were "
                f"removed.\n{listing}\nFix: run the image by hand (`docker run IMAGE serve`) and read its logs.")

    def _labels(self, hostname: str) -> dict[str, str]:
        return {**L.owner_labels(), L.ENDPOINT: self.name, L.CONTAINER_HOSTNAME: hostname}

    # -- run time -----------------------------------------------------------------------------------------------
    def health(self) -> dict[str, dict]:
        """Each container's Docker state and whether it answers /ping now."""
        report = {}
        for container in self.containers:
            state = self.backend.state(container.id)
            restarts = self._supervisor.restarts(container.hostname) if self._supervisor else 0
            report[container.hostname] = {"status": state.status, "restarts": restarts,
                                          "healthy": state.status == "running" and pings(container.url)}
        return report

    # -- stop ---------------------------------------------------------------------------------------------------
    def stop(self, timeout: int = 10) -> None:
        """Remove every container (and relay); calling it again is harmless."""
        self._abort.set()
        with self._lock:
            if self._supervisor:
                self._supervisor.stop()  # first, so it does not start what is being removed
            ids = [c.id or c.name for c in self.containers]
            map_in_threads(lambda cid: self.backend.remove(cid, timeout=timeout), ids)
            for container in self.containers:
                if container.relay:
                    container.relay.stop()


def _container_name(endpoint: str, hostname: str, suffix: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"sme-{endpoint}-{hostname}-{suffix}")
