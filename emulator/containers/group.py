"""One variant's containers (a container group): start them as SageMaker does, wait until healthy, stop them.

One process owns an endpoint's containers; request handlers only reach them by URL.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from emulator.containers import labels as L
from emulator.containers import reuse as kept
from emulator.artifacts import model_folder
from emulator.invocation.container_http import pings
from emulator.invocation.chain import Route
from emulator.definition import ContainerDefinition, EndpointDefinition
from emulator.containers.docker_backend import (BIND_TO_PORT_LABEL, MULTI_MODEL_LABEL, OUT_OF_MEMORY, STOP_GRACE_SECONDS,
                                                ContainerSpec, DockerBackend)
from emulator.errors import EmulatorError, StartupError
from emulator.instances import ARM64, ASSUMED, X86_64, architecture_of, instance, serverless
from emulator.containers.instance_limits import InstanceLimits, Limits
from emulator.containers.isolation import NamespaceRelay
from emulator.containers.launcher import DEFAULT_STARTUP_TIMEOUT, Exited, Launch, last_log_lines, launch
from emulator.multimodel import registry as model_managers
from emulator.multimodel.manager import ModelManager, ModelSettings
from emulator.parallel import map_in_threads
from emulator.containers.sagemaker_env import container_port, serving_environment
from emulator.containers.supervisor import Supervisor

CANCELLED = "cancelled"  # another container failed first, or the endpoint was stopped


@dataclass(frozen=True)
class ContainerFailure:
    """Why one container did not become healthy: Docker refused to run it, it exited, or /ping timed out."""
    hostname: str
    image: str
    start_error: str | None = None
    exit_code: int | None = None
    out_of_memory: bool = False  # the kernel killed it for memory
    timeout: float | None = None  # seconds it had to pass /ping
    cpu_share: str | None = None  # what it started on: "2 vCPUs of ml.m5.large" (None: the whole machine)
    log_lines: str = ""  # its last lines, each on an indented line of its own

    def __str__(self) -> str:
        what = f"{self.hostname} ({self.image})"
        if self.start_error is not None:
            return f"{what}: {self.start_error}"
        if self.exit_code is not None:
            problem = (f"{what} exited with code {self.exit_code} during startup"
                       + (f", {OUT_OF_MEMORY}." if self.out_of_memory else "."))
        else:
            problem = (f"{what} did not pass /ping within {self.timeout:g} s" if self.cpu_share is None else
                       f"{what} did not pass /ping within {self.timeout:g} s with the {self.cpu_share}; "
                       f"ContainerStartupHealthCheckTimeoutInSeconds is {self.timeout:g}") + "."
        return problem + (f" Its last log lines:{self.log_lines}" if self.log_lines else " It printed nothing.")

Progress = Callable[[str], None]
Events = Callable[[str, str, str, str], None]  # (endpoint, container hostname, event, detail): see RequestLog.event


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


class ContainerGroup:
    def __init__(self, definition: EndpointDefinition, backend: DockerBackend, *,
                 startup_timeout: float | None = None, progress: Progress | None = None, events: Events | None = None,
                 reuse: bool = False, model_settings: ModelSettings | None = None, state: str | None = None,
                 instance_limits: bool = True, serverless_memory_mb: int | None = None):
        """`reuse`: keep the containers at stop, and adopt kept ones at start (see emulator.containers.reuse); not with
        EnableNetworkIsolation, whose containers this process reaches through relays of its own, nor for a
        multi-model container, whose loaded models this process tracks. `model_settings`: a multi-model
        container's budget and load timeout (None: from the environment, ModelSettings.from_environment);
        `state`: which state its emulator keeps (labels.state_label), shown by `ls`, `prune` and the web page;
        `instance_limits`: the instance type's vCPUs and memory bound the containers together (False: the machine's);
        `serverless_memory_mb`: a serverless variant's MemorySizeInMB, which bounds them instead of an instance type."""
        self.definition = definition
        self.backend = backend
        self.startup_timeout = startup_timeout or definition.startup_timeout or DEFAULT_STARTUP_TIMEOUT
        self._progress = progress or (lambda message: None)
        self._events = events or (lambda *event: None)
        # Unique per start, so one process may run the same endpoint twice (two fixtures, two tests).
        self._suffix = uuid.uuid4().hex[:8]
        self.containers = [RunningContainer(c, _container_name(definition.name, c.hostname, self._suffix))
                           for c in definition.containers]
        self._supervisor: Supervisor | None = None
        self._abort = threading.Event()  # one container failed: the others stop waiting at once
        self._lock = threading.Lock()
        # Nor from the emulator's own container (emulator.containers.siblings): kept containers are found by the
        # host port they publish, and a sibling publishes none.
        self.reuse = (reuse and not definition.network_isolation and not definition.is_multi_model
                      and backend.siblings is None)
        self.model_settings = model_settings
        self.state = state
        self.instance = (serverless(serverless_memory_mb) if serverless_memory_mb
                         else instance(definition.instance_type or ASSUMED))
        # Kept containers outlive this run, so with reuse each gets the instance's limits as its own.
        self.limits = InstanceLimits(self.instance, f"{definition.name.lower()}-{self._suffix}", backend,
                                     shared=not reuse) if instance_limits else None
        self._limits: Limits | None = None
        self.model_managers: dict[str, ModelManager] = {}  # by hostname: the multi-model containers' (emulator.multimodel)
        self._claim: kept.Claim | None = None  # the kept group this process uses
        self._serving = False  # started healthy: with reuse, kept at stop
        self._kept = False  # stopped, and left running for the next run
        self._reuse_labels: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def serving(self) -> bool:
        """Every container passed its pings (it may be restarted since, by the supervisor)."""
        return self._serving

    @property
    def routes(self) -> list[Route]:
        return [Route(c.hostname, c.url) for c in self.containers]

    # -- start --------------------------------------------------------------------------------------------------
    def start(self) -> "ContainerGroup":
        """Start every container in parallel and wait for all pings; on any failure remove them all."""
        try:
            plans = self._plan(self._prepare())
            if self.limits is not None:
                self._limits = self.limits.create()
            if self.reuse and self._adopt(plans):
                self._watch()
                return self
            results = map_in_threads(lambda pair: self._start_one(*pair), zip(self.containers, plans))
            failures = [failure for failure in results if isinstance(failure, ContainerFailure)]
            if failures:
                raise StartupError(self._failure_report(failures), failures)
            if CANCELLED in results:
                raise StartupError(f"Endpoint {self.name}: startup was interrupted; its containers were removed.")
            self._watch()
        except BaseException:
            self.stop()
            raise
        return self

    def _watch(self) -> None:
        """SageMaker replaces a failed instance: a container that stops after a healthy start is started again."""
        self._serving = True
        self._supervisor = Supervisor(self.backend, {c.hostname: (c.id, c.url) for c in self.containers},
                                      lambda message: self._progress(f"{self.name}/{message}"),
                                      lambda hostname, event, detail: self._events(self.name, hostname, event, detail),
                                      self.limits.memory_kills if self.limits else lambda container_id: None).start()

    def _prepare(self) -> list[Path | None]:
        """Checks that need no container: images present, built for the instance, labels; artifacts unpacked."""
        folders = []
        for container in self.containers:
            image = container.definition.image
            image_labels = self.backend.image_labels(image)
            self._check_architecture(container)
            if self.definition.is_pipeline and image_labels.get(BIND_TO_PORT_LABEL) != "true":
                raise EmulatorError(
                    f"{self.definition.source}: endpoint {self.name}, container {container.hostname}: image {image} "
                    f"does not contain the required {BIND_TO_PORT_LABEL}=true Docker label. SageMaker refuses such an "
                    "image in a multi-container model, because the container must listen on the port given in "
                    f"SAGEMAKER_BIND_TO_PORT. Fix: make the server bind to $SAGEMAKER_BIND_TO_PORT (default 8080) and add "
                    f"`LABEL {BIND_TO_PORT_LABEL}=true` to the Dockerfile.")
            if container.definition.multi_model:
                folders.append(None)  # its models are mounted at /opt/ml/models, one by one as invocations name them
                self._prepare_multi_model(container, image_labels)
                continue
            self._progress(f"{self.name}/{container.hostname}: preparing model for {image}")
            folders.append(model_folder(container.definition.model_data))
        return folders

    def _check_architecture(self, container: RunningContainer) -> None:
        """An image built for another processor fails on the instance with `exec format error`, minutes later."""
        target = self.instance
        image = container.definition.image
        built_for = architecture_of(self.backend.image_architecture(image))
        if built_for == target.architecture:
            return
        assumed = "" if self.definition.instance_type else " (assumed: the definition sets no InstanceType)"
        graviton = "ml.c7g.large" if built_for == ARM64 else ASSUMED
        raise EmulatorError(
            f"{self.definition.source}: endpoint {self.name}, container {container.hostname}: image {image} is built for "
            f"{built_for}, but the instance {target.describe()}{assumed} runs {target.architecture}: SageMaker would "
            f"fail the endpoint with `exec format error`. Fix: build the image for linux/"
            f"{'amd64' if target.architecture == X86_64 else 'arm64'} (`docker buildx build --platform "
            f"linux/{'amd64' if target.architecture == X86_64 else 'arm64'} ...`), or choose an instance type of "
            f"its architecture (InstanceType: {graviton}).")

    def _prepare_multi_model(self, container: RunningContainer, image_labels: dict[str, str]) -> None:
        image = container.definition.image
        if image_labels.get(MULTI_MODEL_LABEL) != "true":
            raise EmulatorError(
                f"{self.definition.source}: endpoint {self.name}, container {container.hostname}: image {image} does "
                f"not carry the Docker label {MULTI_MODEL_LABEL}=true, which SageMaker requires of a MultiModel "
                "container. Fix: implement the multi-model API (POST/GET/DELETE /models, POST /models/<name>/invoke) "
                f"and add `LABEL {MULTI_MODEL_LABEL}=true` to the Dockerfile, or use Mode: SingleModel.")
        settings = self.model_settings or ModelSettings.from_environment()
        self.model_managers[container.hostname] = ModelManager(self.name, container.hostname, "",
                                                               container.definition.model_data, settings)

    def _plan(self, folders: list[Path | None]) -> list[kept.Planned]:
        return plan(self.definition, folders, self.backend.image_id if self.reuse else lambda image: "")

    def _adopt(self, plans: list[kept.Planned]) -> bool:
        """Take over a kept group that matches (see emulator.containers.reuse); remove the kept ones that cannot serve.
        Otherwise claim a new group for the containers about to start."""
        scope, key = kept.scope(self.definition.source), kept.key(self.name, self.definition.mode, plans)
        self._reuse_labels = kept.labels(scope, key, self._suffix)
        for group, found in kept.kept_groups(self.backend, scope, self.name).items():
            claim = kept.Claim.take(group)
            if claim is None:
                continue  # a living run uses it
            if self._claim is None and self._matches(found, key, plans):
                self._claim = claim
                by_hostname = {c.labels[L.CONTAINER_HOSTNAME]: c for c in found}
                for container in self.containers:
                    info = by_hostname[container.hostname]
                    container.id, container.name = info.id, info.name
                    container.url = f"http://127.0.0.1:{info.labels[L.HOST_PORT]}"
                    self._events(self.name, container.hostname, "adopted", f"kept {info.name} on {container.url}")
                self._progress(f"{self.name}: adopted its kept containers ({', '.join(c.name for c in found)})")
            elif not self._matches(found, key, plans, ping=False):
                map_in_threads(lambda info: self.backend.remove(info.id, timeout=2), found)
                claim.release(forget=True)
                self._progress(f"{self.name}: removed kept containers that no longer match ({', '.join(c.name for c in found)})")
            else:
                claim.release()  # as good as the one adopted: left for a parallel run
        if self._claim is None:
            self._claim = kept.Claim.take(self._suffix)
        return any(c.id for c in self.containers)

    def _matches(self, found: list, key: str, plans: list[kept.Planned], ping: bool = True) -> bool:
        wanted = {plan.hostname: plan.image_id for plan in plans}
        have = {c.labels.get(L.CONTAINER_HOSTNAME): c for c in found}
        return (len(found) == len(have) == len(wanted) and set(have) == set(wanted)
                and all(c.labels.get(L.REUSE_KEY) == key and c.status == "running" and c.image_id == wanted[h]
                        and L.HOST_PORT in c.labels for h, c in have.items())
                and (not ping or all(pings(f"http://127.0.0.1:{c.labels[L.HOST_PORT]}") for c in found)))

    def _start_one(self, container: RunningContainer, plan: kept.Planned) -> ContainerFailure | str | None:
        """Start and wait for one container; returns its failure, CANCELLED, or None when healthy."""
        labels = {**self._labels(container.hostname), **(self._reuse_labels if self.reuse else {})}
        manager = self.model_managers.get(container.hostname)
        spec = ContainerSpec(image=container.definition.image, name=container.name, container_port=plan.port,
                             environment=plan.environment, labels=labels, model_folder=plan.model_folder,
                             network_isolated=self.definition.network_isolation, hostname=container.hostname,
                             models_folder=manager.folder if manager else None, limits=self._limits)
        if self._abort.is_set():
            return CANCELLED

        def started(container_id: str, url: str) -> str:
            if spec.network_isolated:
                url = self._relay(container, container_id, plan.port)
            self._progress(f"{self.name}/{container.hostname}: started {spec.image}, waiting for /ping")
            self._events(self.name, container.hostname, "started", f"{spec.image} on {url}")
            return url

        launched = launch(self.backend, spec, timeout=self.startup_timeout, after_run=started,
                          abort=lambda: CANCELLED if self._abort.is_set() else None)
        container.id, container.url = launched.container_id, launched.url
        if launched.healthy:
            if manager is not None:
                manager.attach(container.url)
                model_managers.register(manager)
            self._progress(f"{self.name}/{container.hostname}: healthy after {launched.seconds:.1f} s")
            self._events(self.name, container.hostname, "healthy", f"after {launched.seconds:.1f} s")
            return None
        if launched.stopped is CANCELLED:  # another container failed, or the endpoint was stopped
            if container.id:
                self.backend.remove(container.id, timeout=0)
            return CANCELLED
        self._abort.set()
        if isinstance(launched.stopped, Exited):
            self._events(self.name, container.hostname, "exited", f"code {launched.stopped.exit_code} during startup")
        return self._describe_failure(container, launched)

    def _relay(self, container: RunningContainer, container_id: str, port: int) -> str:
        container.relay = NamespaceRelay(lambda: self.backend.network_namespace(container_id), port)
        container.relay.check()
        return container.relay.start().url

    def _describe_failure(self, container: RunningContainer, launched: Launch) -> ContainerFailure:
        failure = ContainerFailure(container.hostname, container.definition.image)
        if launched.start_error is not None:
            return replace(failure, start_error=launched.start_error)
        lines = last_log_lines(self.backend, launched.container_id)
        if isinstance(launched.stopped, Exited):
            return replace(failure, exit_code=launched.stopped.exit_code, out_of_memory=launched.stopped.out_of_memory,
                           log_lines=lines)
        share = f"{self.instance.vcpus} vCPUs of {self.instance.name}" if self.limits else None
        return replace(failure, timeout=self.startup_timeout, cpu_share=share, log_lines=lines)

    def _failure_report(self, failures: list[ContainerFailure]) -> str:
        listing = "\n".join(f"  - {failure}" for failure in failures)
        return (f"Endpoint {self.name} failed to start ({len(failures)} of {len(self.containers)} containers), "
                f"as SageMaker fails CreateEndpoint when any container fails its pings. All its containers were "
                f"removed.\n{listing}\nFix: run the image by hand (`docker run IMAGE serve`) and read its logs.")

    def _labels(self, hostname: str) -> dict[str, str]:
        return {**L.owner_labels(), L.ENDPOINT: self.name, L.CONTAINER_HOSTNAME: hostname,
                **({L.STATE: self.state} if self.state else {})}

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
    def stop(self, timeout: int = STOP_GRACE_SECONDS, keep: bool = False) -> None:
        """Remove every container (and relay); calling it again is harmless. `keep`: the emulator is stopping,
        not the endpoint being deleted or replaced: with reuse, leave a healthy start running for the next run."""
        self._abort.set()
        with self._lock:
            if self._supervisor:
                self._supervisor.stop()  # first, so it does not start what is being removed
            if self._kept:
                return
            claim, self._claim = self._claim, None
            if claim is not None and self._serving and keep:
                claim.release()  # the next run may adopt them
                self._kept = True
                for container in self.containers:
                    self._events(self.name, container.hostname, "kept", f"{container.name} for the next run")
                return
            ids = [c.id or c.name for c in self.containers]
            map_in_threads(lambda cid: self.backend.remove(cid, timeout=timeout), ids)
            for container in self.containers:
                if container.id:
                    self._events(self.name, container.hostname, "removed", "")
                if container.relay:
                    container.relay.stop()
            if claim is not None:
                claim.release(forget=True)
            for manager in self.model_managers.values():
                model_managers.unregister(manager)
                manager.remove_folder()
            if self.limits is not None:
                self.limits.remove()


def _container_name(endpoint: str, hostname: str, suffix: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"sme-{endpoint}-{hostname}-{suffix}")


def plan(definition: EndpointDefinition, folders: list[Path | None], image_id: Callable[[str], str]) -> list[kept.Planned]:
    """Each container's image id, model folder, environment and port, as SageMaker sets them."""
    return [kept.Planned(container.hostname, image_id(container.image), folder,
                         serving_environment(definition, index), container_port(definition, index))
            for index, (container, folder) in enumerate(zip(definition.containers, folders))]


def fingerprint(definition: EndpointDefinition, backend: DockerBackend) -> str:
    """The key of emulator.containers.reuse for this definition now (its images' ids, its artifacts' files): what a
    resident emulator compares to tell whether it still serves what the definition file says."""
    folders = [None if container.multi_model else model_folder(container.model_data)
               for container in definition.containers]
    return kept.key(definition.name, definition.mode, plan(definition, folders, backend.image_id))
