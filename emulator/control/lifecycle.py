"""Endpoints' containers, run as SageMaker runs them, always in background threads of the owner process.

CreateEndpoint returns at once; a thread starts every variant's containers and flips the endpoint to
InService (and publishes its routes in the serving table) or to Failed with the reason. UpdateEndpoint is
blue/green: the new variants start beside the old ones, traffic switches in one write of the serving
table, and the old containers stay up for one invocation timeout so requests already in flight finish;
if the new ones fail, the endpoint stays InService on the old configuration with the reason recorded.
At start, `restore` brings back every endpoint the state says is InService before the front answers.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Any, Callable

from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT
from emulator.control.models import runnable
from emulator.control.plane import ENDPOINT, ControlPlane, key, now
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.fleet import Fleet
from emulator.control.component_copies import ComponentCopies
from emulator.containers.group import ContainerGroup, Events, Progress
from emulator.definition import EndpointDefinition
from emulator.containers.launcher import DEFAULT_STARTUP_TIMEOUT
from emulator.errors import EmulatorError
from emulator.settings import DEFAULT_MAX_INSTANCES
from emulator.seam.serving import EndpointSpec, VariantSpec, variant_spec
from emulator.parallel import map_in_threads

FAILURE_REASON_LIMIT = 4000
Running = list[tuple[dict[str, Any], Fleet]]  # (deployed variant, its instances' containers)


class Lifecycle:
    def __init__(self, plane: ControlPlane, backend: DockerBackend, *, startup_timeout: float | None = None,
                 invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT, progress: Progress | None = None,
                 max_instances: int = DEFAULT_MAX_INSTANCES, **endpoint_options: Any):
        """`endpoint_options`: more for each ContainerGroup (the request log's `events`, `reuse`); `max_instances`:
        the most copies a variant runs, whatever its instance count."""
        self.plane, self.backend = plane, backend
        self.max_instances = max_instances
        self.endpoint_options = endpoint_options
        self.startup_timeout, self.invocation_timeout = startup_timeout, invocation_timeout
        self.progress = progress or (lambda message: None)
        self.drain_seconds = invocation_timeout  # how long replaced containers keep serving requests in flight
        self._running: dict[str, Running] = {}
        self._starting: dict[str, list[Fleet]] = {}
        self._draining: list[ContainerGroup] = []
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.components = ComponentCopies(plane, self._group_maker, endpoint_options.get("events"), self._spawn,
                                          self.publish, self._drain, max_instances, self.progress)

    # -- what the operations ask for (they hold the plane's lock) -------------------------------------------
    def create(self, name: str) -> None:
        self._spawn(self._create, name)

    def update(self, name: str) -> None:
        self._spawn(self._update, name)

    def delete(self, name: str) -> None:
        with self._lock:
            for fleet in self._starting.get(key(name), []):
                fleet.stop(timeout=0)  # a start in progress gives up at once
        self.plane.store.set_serving(key(name), None)
        for component in self.components.of_endpoint(name):  # SageMaker deletes them with their endpoint
            self.components.delete(component)
        self._spawn(self._delete, name)

    def publish(self, name: str) -> None:
        """Publish the endpoint again (its inference components changed), if it serves."""
        with self._lock:
            if key(name) in self._running:
                self._publish(name, self._running[key(name)])

    def reweigh(self, name: str) -> None:
        """Publish the endpoint's current weights (the deployed variants' `Weight`) to the front, and run each
        variant's instance count (in the background: new copies serve once healthy, removed ones drain)."""
        document = self.plane.store.get(ENDPOINT, key(name))
        with self._lock:
            running = self._running.get(key(name), [])
            deployed = {variant["VariantName"]: variant for variant in document["Deployed"]["Variants"]}
            for variant, _ in running:
                variant["Weight"] = deployed[variant["VariantName"]]["Weight"]
                variant["InstanceCount"] = deployed[variant["VariantName"]]["InstanceCount"]
            self._publish(name, running)
        changes = [(fleet, self._instances(name, variant)) for variant, fleet in running]
        changes = [(fleet, count) for fleet, count in changes if count != fleet.count]
        if changes:
            self._record(name, "Updating", None)
            self._spawn(lambda _: self._scale(name, changes), name)

    def running(self, name: str) -> list[tuple[dict[str, Any], ContainerGroup]]:
        """(deployed variant, one copy's containers) of each copy of each variant, in order."""
        with self._lock:
            return [(variant, group) for variant, fleet in self._running.get(key(name), [])
                    for _, group in fleet.copies()]

    def variants(self) -> list[tuple[str, ContainerGroup]]:
        """(variant name, its containers) of every endpoint now, `variant/instance` for a variant of several;
        one starting or draining says so instead."""
        with self._lock:
            return ([("(starting)", group) for fleets in self._starting.values() for fleet in fleets
                     for _, group in fleet.copies()]
                    + [(_shown(variant["VariantName"], copy, fleet), group) for running in self._running.values()
                       for variant, fleet in running for copy, group in fleet.copies()]
                    + [("(draining)", group) for group in self._draining]) + self.components.groups()

    # -- at start and at the end ----------------------------------------------------------------------------
    def restore(self) -> None:
        """Bring the recorded endpoints back: InService ones before returning, Creating ones in the background."""
        documents = self.plane.store.all(ENDPOINT)
        for document in documents:
            self.plane.store.set_serving(key(document["Describe"]["EndpointName"]), None)
        back = []
        for document in documents:
            describe = document["Describe"]
            name, status = describe["EndpointName"], describe["EndpointStatus"]
            if status == "Deleting":
                self.plane.store.delete(ENDPOINT, key(name))
            elif status == "Creating":
                self.create(name)
            elif status in ("InService", "Updating", "SystemUpdating"):
                reason = describe.get("FailureReason")
                if status == "Updating":
                    document.pop("Pending", None)
                    reason = "The emulator stopped during the update; the endpoint stays on its previous configuration."
                # Not InService until it serves again: DescribeEndpoint and its waiter wait, and invocations that
                # arrive meanwhile wait for it in the front (seam.serving.ServingTable.started).
                self._record(name, "SystemUpdating", reason, document=document)
                self.plane.store.set_serving(key(name), EndpointSpec.coming_back(
                    name, self._startup_timeout(document["Deployed"]["Variants"])))
                back.append(name)
        map_in_threads(self._bring_back, back)

    def stop(self, keep: bool = True) -> None:
        """Stop every container, those starting included; the state keeps what was InService. `keep`: with
        reuse, leave healthy containers running for the next run."""
        self._closed.set()
        endpoints = [group for _, group in self.variants()]
        with self._lock:
            self._running, self._starting, self._draining = {}, {}, []
        map_in_threads(lambda endpoint: endpoint.stop(keep=keep), endpoints)  # kept only with reuse
        self.components.stop()
        for thread in list(self._threads):
            thread.join(timeout=30)

    # -- the background work ----------------------------------------------------------------------------------
    def _spawn(self, work: Callable[[str], None], name: str) -> None:
        thread = threading.Thread(target=self._guarded, args=(work, name), name=f"{work.__name__}-{name}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _guarded(self, work: Callable[[str], None], name: str) -> None:
        try:
            work(name)
        except Exception as exc:  # a bug of ours: the endpoint must not stay Creating or Updating for ever
            traceback.print_exc(file=sys.stderr)
            self._record(name, "Failed", f"The emulator failed while running the endpoint ({type(exc).__name__}: {exc}); "
                                         "the traceback is in the output of `sagemaker-emulator serve`.")
        finally:
            self._threads.discard(threading.current_thread())

    def _create(self, name: str) -> None:
        document = self.plane.store.get(ENDPOINT, key(name))
        try:
            running = self._start(name, document["Deployed"]["Variants"])
        except EmulatorError as failure:
            self._record(name, "Failed", _reason(failure))
            return
        if self._adopt(name, running) is not None:
            self._record(name, "InService", None)

    def _bring_back(self, name: str) -> None:
        document = self.plane.store.get(ENDPOINT, key(name))
        try:
            running = self._start(name, document["Deployed"]["Variants"])
        except EmulatorError as failure:
            self.plane.store.set_serving(key(name), None)
            self._record(name, "Failed", f"The endpoint could not be brought back after a restart. {_reason(failure)}")
            return
        if self._adopt(name, running) is not None:
            self._record(name, "InService", document["Describe"].get("FailureReason"))
            self.components.restore(name)

    def _startup_timeout(self, variants: list[dict[str, Any]]) -> float:
        """The longest a variant may take to pass its pings (its own setting, the emulator's, or SageMaker's)."""
        return max(variant.get("StartupTimeout") or self.startup_timeout or DEFAULT_STARTUP_TIMEOUT
                   for variant in variants)

    def _update(self, name: str) -> None:
        document = self.plane.store.get(ENDPOINT, key(name))
        pending = document["Pending"]
        try:
            running = self._start(name, pending["Variants"])
        except EmulatorError as failure:
            self._record(name, "InService", f"The update to endpoint configuration {pending['EndpointConfigName']} "
                                            f"failed; the endpoint stays on its previous configuration. {_reason(failure)}",
                         Pending=None)
            return
        replaced = self._adopt(name, running)
        if replaced is None:
            return
        self._record(name, "InService", None, config_name=pending["EndpointConfigName"], Deployed=pending, Pending=None)
        self._drain([group for _, fleet in replaced for _, group in fleet.copies()])

    def _scale(self, name: str, changes: list[tuple[Fleet, int]]) -> None:
        """Run each variant's new instance count (UpdateEndpointWeightsAndCapacities); InService again after,
        with the reason when a new instance failed to start (the others serve on)."""
        failures = [failure for failure in map_in_threads(lambda change: _scale_fleet(*change, self._drain), changes)
                    if failure]
        self._record(name, "InService", f"Not every new instance started: {' '.join(failures)}" if failures else None)

    def _delete(self, name: str) -> None:
        with self._lock:
            running = self._running.pop(key(name), [])
        map_in_threads(lambda pair: pair[1].stop(), running)
        with self.plane.lock:
            self.plane.store.delete(ENDPOINT, key(name))
            self.plane.changed.notify_all()

    def _start(self, name: str, variants: list[dict[str, Any]]) -> Running:
        """Start every variant's instances in parallel; on any failure none stays. A variant that hosts inference
        components (no model of its own) starts nothing: its components start their copies."""
        variants = [variant for variant in variants if variant["Model"] is not None]
        fleets = [self._fleet(name, variant) for variant in variants]
        with self._lock:
            if self._closed.is_set():
                raise EmulatorError("the emulator is stopping.")
            self._starting.setdefault(key(name), []).extend(fleets)
        try:
            failures = [failure for failure in map_in_threads(
                lambda pair: _start_fleet(pair[0], self._instances(name, pair[1])), zip(fleets, variants)) if failure]
        finally:
            with self._lock:
                starting = self._starting.get(key(name), [])
                for fleet in fleets:
                    if fleet in starting:
                        starting.remove(fleet)
        if failures:
            map_in_threads(lambda fleet: fleet.stop(timeout=0), fleets)
            raise EmulatorError(" ".join(failures))
        return [({**variant}, fleet) for variant, fleet in zip(variants, fleets)]

    def _fleet(self, name: str, variant: dict[str, Any]) -> Fleet:
        """A variant's instances: each copy of its model's containers, its logs shipped, its health followed."""
        definition = runnable(variant["Model"], name, variant.get("StartupTimeout"), variant.get("Source"),
                              variant.get("InstanceType"))
        aws = self.plane.aws

        def started(copy: str, group: ContainerGroup) -> None:
            if aws is not None:
                aws.ship_endpoint_logs(name, variant["VariantName"], group, copy)
        fleet = Fleet(self._group_maker(definition), self.endpoint_options.get("events"), started=started)
        fleet.on_change = lambda: self._republish(name, fleet)
        return fleet

    def _group_maker(self, definition: EndpointDefinition) -> Callable[[Events], ContainerGroup]:
        """What makes one copy's group of containers, reporting to the events it is given."""
        options = {option: value for option, value in self.endpoint_options.items() if option != "events"}
        return lambda events: ContainerGroup(definition, self.backend, startup_timeout=self.startup_timeout,
                                             progress=self.progress, events=events, **options)

    def _instances(self, name: str, variant: dict[str, Any]) -> int:
        """The variant's instance count, within the cap (and saying so when the cap cuts it)."""
        wanted = variant.get("InstanceCount") or 1
        if wanted > self.max_instances:
            self.progress(f"{name}/{variant['VariantName']}: runs {self.max_instances} of its {wanted} instances "
                          f"(at most {self.max_instances} per variant: --max-instances, SAGEMAKER_EMULATOR_MAX_INSTANCES)")
        return min(wanted, self.max_instances)

    def _republish(self, name: str, fleet: Fleet) -> None:
        """A fleet's serving copies changed: publish them, if it serves the endpoint now."""
        with self._lock:
            running = self._running.get(key(name), [])
            if any(serving is fleet for _, serving in running):
                self._publish(name, running)

    def _adopt(self, name: str, running: Running) -> Running | None:
        """Make `running` serve the endpoint; returns what served it before. None when the endpoint is being
        deleted (or the emulator is stopping): then `running` is stopped instead."""
        with self._lock:
            document = self.plane.store.get(ENDPOINT, key(name))
            gone = (self._closed.is_set() or document is None
                    or document["Describe"]["EndpointStatus"] == "Deleting")
            if not gone:
                previous = self._running.get(key(name), [])
                self._running[key(name)] = running
                self._publish(name, running)
        if gone:
            map_in_threads(lambda pair: pair[1].stop(), running)
            return None
        return previous

    def _publish(self, name: str, running: Running) -> None:
        variants = tuple(_variant_spec(variant["VariantName"], variant["Weight"], fleet, self.invocation_timeout)
                         for variant, fleet in running)
        document = self.plane.store.get(ENDPOINT, key(name)) or {}
        deployed = document.get("Deployed", {})
        asynchronous = bool(deployed.get("AsyncInferenceConfig"))  # never changes by an update
        hosts_components = any(variant["Model"] is None for variant in deployed.get("Variants", []))
        components = tuple(_variant_spec(describe["VariantName"], 0.0, fleet, self.invocation_timeout,
                                         describe["InferenceComponentName"])
                           for describe, fleet in self.components.specs(name) if fleet.count)
        self.plane.store.set_serving(key(name), EndpointSpec(name, variants, asynchronous,
                                                             hosts_components=hosts_components, components=components))

    def _drain(self, endpoints: list[ContainerGroup]) -> None:
        """Stop what no longer serves after one invocation timeout, so requests in flight finish."""
        with self._lock:
            self._draining.extend(endpoints)
        self._closed.wait(self.drain_seconds)
        with self._lock:
            leaving = [endpoint for endpoint in endpoints if endpoint in self._draining]
            self._draining = [endpoint for endpoint in self._draining if endpoint not in endpoints]
        map_in_threads(lambda endpoint: endpoint.stop(), leaving)

    def _record(self, name: str, status: str, reason: str | None, *, document: dict[str, Any] | None = None,
                config_name: str | None = None, **changes: Any) -> None:
        """Set the endpoint's status (and FailureReason: None clears it) and wake waiting DescribeEndpoints."""
        with self.plane.lock:
            document = document or self.plane.store.get(ENDPOINT, key(name))
            if document is None:
                return
            describe = document["Describe"]
            if describe["EndpointStatus"] == "Deleting":
                return
            describe["EndpointStatus"] = status
            if config_name:
                describe["EndpointConfigName"] = config_name
            describe["LastModifiedTime"] = now()
            if reason is None:
                describe.pop("FailureReason", None)
            else:
                describe["FailureReason"] = reason[:FAILURE_REASON_LIMIT]
            document.update(changes)
            self.plane.store.put(ENDPOINT, key(name), document)
            self.plane.changed.notify_all()


def _start_fleet(fleet: Fleet, count: int) -> str | None:
    return _scale_fleet(fleet, count, lambda groups: None)


def _scale_fleet(fleet: Fleet, count: int, drain: Callable[[list[ContainerGroup]], None]) -> str | None:
    try:
        fleet.scale(count, drain)
    except EmulatorError as failure:
        return str(failure)
    return None


def _variant_spec(name: str, weight: float, fleet: Fleet, timeout: float, component: str = "") -> VariantSpec:
    copies = fleet.serving()
    definition = copies[0][1].definition
    return variant_spec(name, weight, definition.mode, [(copy, group.routes) for copy, group in copies], timeout,
                        definition.is_multi_model, component)


def _shown(variant: str, copy: str, fleet: Fleet) -> str:
    return f"{variant}/{copy}" if fleet.count > 1 else variant


def _reason(failure: Exception) -> str:
    return str(failure).strip()


def wait_for(plane: ControlPlane, name: str, statuses: tuple[str, ...], timeout: float, kind: str = ENDPOINT,
             status_field: str = "EndpointStatus") -> dict[str, Any] | None:
    """The endpoint's (or another `kind`'s) record once its status leaves `statuses` (or at the timeout); None if
    it is gone. The caller holds the plane's lock."""
    deadline = time.monotonic() + timeout
    while True:
        document = plane.store.get(kind, key(name))
        if document is None or document["Describe"][status_field] not in statuses:
            return document
        left = deadline - time.monotonic()
        if left <= 0:
            return document
        plane.changed.wait(left)
