"""Endpoints' containers, run as SageMaker runs them, always in background threads of the owner process.

CreateEndpoint returns at once; a thread starts every variant's containers and flips the endpoint to
InService (and publishes its routes in the serving table) or to Failed with the reason. UpdateEndpoint is
blue/green: the new variants start beside the old ones, traffic switches in one write of the serving
table (or, for a guarded update, in the steps emulator.control.deployment takes), and the old containers
stay up for one invocation timeout so requests already in flight finish; if the new ones fail, or an alarm
rolls the update back, the endpoint stays InService on the old configuration with the reason recorded.
At start, `restore` brings back every endpoint the state says is InService before the front answers.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import replace
from typing import Any, Callable, Iterator, TypeVar

from emulator.aws import cloudwatch
from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT
from emulator.control.deployment import Policy, Rollout, split
from emulator.control.models import runnable
from emulator.control.plane import ControlPlane, key, now
from emulator.control.component_copies import ComponentCopies
from emulator.control.records import DeployedVariant, Deployment, EndpointRecord, EndpointRecords
from emulator.control import serverless
from emulator.control.serverless import ServerlessFleet
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.fleet import Fleet
from emulator.containers.group import ContainerGroup, Events, Progress
from emulator.containers.launcher import DEFAULT_STARTUP_TIMEOUT
from emulator.definition import EndpointDefinition
from emulator.errors import EmulatorError
from emulator.settings import DEFAULT_MAX_INSTANCES
from emulator.seam.capture import CaptureSpec
from emulator.seam.serving import EndpointSpec, VariantSpec, variant_spec
from emulator.parallel import map_in_threads

FAILURE_REASON_LIMIT = 4000
Running = list[tuple[DeployedVariant, Fleet]]  # (deployed variant, its instances' containers)
Record = TypeVar("Record")


class Lifecycle:
    def __init__(self, plane: ControlPlane, backend: DockerBackend, *, startup_timeout: float | None = None,
                 invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT, progress: Progress | None = None,
                 max_instances: int = DEFAULT_MAX_INSTANCES, time_scale: float = 1.0,
                 serverless_idle: float = serverless.DEFAULT_IDLE, **endpoint_options: Any):
        """`endpoint_options`: more for each ContainerGroup (the request log's `events`, `reuse`); `max_instances`:
        the most copies a variant (or an inference component) runs, whatever its instance (or copy) count;
        `time_scale`: what a guarded update's waits are multiplied by; `serverless_idle`: seconds a serverless
        variant serves nothing before it is stopped (emulator.control.serverless)."""
        self.plane, self.backend = plane, backend
        self.max_instances, self.time_scale = max_instances, time_scale
        self.records = EndpointRecords(plane.store)
        self.endpoint_options = endpoint_options
        self.startup_timeout, self.invocation_timeout = startup_timeout, invocation_timeout
        self.progress = progress or (lambda message: None)
        self.drain_seconds = invocation_timeout  # how long replaced containers keep serving requests in flight
        self._running: dict[str, Running] = {}
        self._starting: dict[str, list[Fleet]] = {}
        self._deploying: dict[str, Running] = {}  # a guarded update's new fleet, while traffic shifts to it
        self._draining: list[ContainerGroup] = []
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.components = ComponentCopies(plane, self._group_maker, endpoint_options.get("events"), self._spawn,
                                          self.publish, self._drain, max_instances, self.progress)
        self.lock, self.closed = self._lock, self._closed  # shared with the serverless fleet
        self.serverless = ServerlessFleet(self, plane.store.folder, serverless_idle).start()

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
        for component in self.components.of_endpoint(name):  # they go with their endpoint
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
        deployed = self.records.find(name).deployed
        with self._lock:
            running = [(deployed.variant(variant.name), fleet) for variant, fleet in self._running.get(key(name), [])]
            self._running[key(name)] = running
            self._publish(name, running)
        changes = [(fleet, self._instances(name, variant)) for variant, fleet in running]
        changes = [(fleet, count) for fleet, count in changes if count != fleet.count]
        if changes:
            self._record(name, "Updating", None)
            self._spawn(lambda _: self._scale(name, changes), name)

    def running(self, name: str) -> list[tuple[DeployedVariant, ContainerGroup]]:
        """(deployed variant, one copy's containers) of each copy of each variant, in order."""
        with self._lock:
            return [(variant, group) for variant, fleet in self._running.get(key(name), [])
                    for _, group in fleet.copies()]

    def variants(self) -> list[tuple[str, ContainerGroup]]:
        """(variant name, its containers) of every endpoint now, `variant/instance` for a variant of several and
        `component/copy` for an inference component's; one starting or draining says so instead."""
        with self._lock:
            return ([("(starting)", group) for fleets in self._starting.values() for fleet in fleets
                     for _, group in fleet.copies()]
                    + [(_shown(variant.name, copy, fleet), group) for running in self._running.values()
                       for variant, fleet in running for copy, group in fleet.copies()]
                    + [(f"{_shown(variant.name, copy, fleet)} (new)", group) for running in self._deploying.values()
                       for variant, fleet in running for copy, group in fleet.copies()]
                    + [("(draining)", group) for group in self._draining]) + self.components.groups()

    # -- at start and at the end ----------------------------------------------------------------------------
    def restore(self) -> None:
        """Bring the recorded endpoints back: InService ones before returning, Creating ones in the background."""
        records = self.records.all()
        for record in records:
            self.plane.store.set_serving(key(record.name), None)
        back = []
        for record in records:
            name = record.name
            if record.status == "Deleting":
                self.records.delete(name)
            elif record.status == "Creating":
                self.create(name)
            elif record.status in ("InService", "Updating", "SystemUpdating"):
                reason = record.failure_reason
                if record.status == "Updating":
                    record = replace(record, pending=None)
                    reason = "The emulator stopped during the update; the endpoint stays on its previous configuration."
                # Not InService until it serves again: DescribeEndpoint and its waiter wait, and invocations that
                # arrive meanwhile wait for it in the front (seam.serving.ServingTable.started).
                self._record(name, "SystemUpdating", reason, record=record)
                self.plane.store.set_serving(key(name), EndpointSpec.coming_back(
                    name, self._startup_timeout(record.deployed.variants)))
                back.append(name)
        map_in_threads(self._bring_back, back)

    def stop(self, keep: bool = True) -> None:
        """Stop every container, those starting included; the state keeps what was InService. `keep`: with
        reuse, leave healthy containers running for the next run."""
        self._closed.set()
        endpoints = [endpoint for _, endpoint in self.variants()]
        with self._lock:
            self._running, self._starting, self._deploying, self._draining = {}, {}, {}, []
        map_in_threads(lambda endpoint: endpoint.stop(keep=keep), endpoints)  # kept only with reuse
        self.components.stop()
        for thread in list(self._threads):
            thread.join(timeout=30)
        self.serverless.close()

    # -- what the serverless fleet asks for (it holds `lock`) -----------------------------------------------------
    def serving_variants(self) -> Iterator[tuple[str, DeployedVariant, Fleet]]:
        """(endpoint key, deployed variant, its instances) of every endpoint that serves."""
        for name, running in self._running.items():
            for variant, fleet in running:
                yield name, variant, fleet

    def publish_endpoint(self, name: str) -> None:
        """Publish the endpoint again, if it serves (the fleet holds `lock`)."""
        if key(name) in self._running:
            record = self.records.get(name)
            self._publish(record.name if record else name, self._running[key(name)])

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
        try:
            running = self._start(name, self.records.find(name).deployed.variants)
        except EmulatorError as failure:
            self._record(name, "Failed", _reason(failure))
            return
        if self._adopt(name, running) is not None:
            self._record(name, "InService", None)

    def _bring_back(self, name: str) -> None:
        record = self.records.find(name)
        try:
            running = self._start(name, record.deployed.variants)
        except EmulatorError as failure:
            self.plane.store.set_serving(key(name), None)
            self._record(name, "Failed", f"The endpoint could not be brought back after a restart. {_reason(failure)}")
            return
        if self._adopt(name, running) is not None:
            self._record(name, "InService", record.failure_reason)
            self.components.restore(name)

    def _startup_timeout(self, variants: tuple[DeployedVariant, ...]) -> float:
        """The longest a variant may take to pass its pings (its own setting, the emulator's, or SageMaker's)."""
        return max(variant.startup_timeout or self.startup_timeout or DEFAULT_STARTUP_TIMEOUT for variant in variants)

    def _update(self, name: str) -> None:
        record = self.records.find(name)
        pending = record.pending
        try:
            running = self._start(name, pending.variants)
        except EmulatorError as failure:
            self._record(name, "InService", f"The update to endpoint configuration {pending.config_name} "
                                            f"failed; the endpoint stays on its previous configuration. {_reason(failure)}",
                         pending=None)
            return
        policy = Policy.of(record.deployment_config)
        termination_wait = 0.0
        if policy is not None:
            rolled_back = self._roll_out(name, policy, running)
            if rolled_back is not None:
                self._record(name, "InService", f"{rolled_back} The endpoint stays on its previous endpoint "
                                                f"configuration; {pending.config_name} was not deployed.",
                             pending=None)
                self._retire(_groups(running))
                return
            termination_wait = policy.termination_wait * self.time_scale
        replaced = self._adopt(name, running, pending)
        if replaced is None:
            return
        self._record(name, "InService", None, config_name=pending.config_name, deployed=pending, pending=None)
        self._drain(_groups(replaced), termination_wait)

    def _roll_out(self, name: str, policy: Policy, new: Running) -> str | None:
        """Shift traffic to `new` as `policy` says (emulator.control.deployment); None when it all baked, else why
        it rolled back, with every request going to the old fleet again."""
        with self._lock:
            old = list(self._running.get(key(name), []))
            self._deploying[key(name)] = new

        def shift(share: float) -> bool:
            old_weights, new_weights = split([v.weight for v, _ in old], [v.weight for v, _ in new], share)
            return self._publish_if_live(name, [(replace(v, weight=w), e) for (v, e), w in zip(old, old_weights)]
                                         + [(replace(v, weight=w), e) for (v, e), w in zip(new, new_weights)])

        capacity = sum(variant.instance_count or 1 for variant, _ in new)
        reason: str | None = "The emulator failed during the update."
        try:
            reason = Rollout(policy, capacity, self.time_scale, shift, _firing, self._closed).run()
            if reason is not None:
                self._publish_if_live(name, old)
            return reason
        finally:
            with self._lock:
                self._deploying.pop(key(name), None)
                if reason is not None:  # rolled back: the new fleet drains (and stops with the emulator)
                    self._draining.extend(_groups(new))

    def _publish_if_live(self, name: str, running: Running) -> bool:
        """Publish `running` unless the endpoint is being deleted (or the emulator stops); says whether it did."""
        with self._lock:
            record = self.records.get(name)
            if self._closed.is_set() or record is None or record.status == "Deleting":
                return False
            self._publish(name, running)
            return True

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
            self.records.delete(name)
            self.plane.changed.notify_all()

    def _start(self, name: str, variants: tuple[DeployedVariant, ...]) -> Running:
        """Start every variant's instances in parallel; on any failure none stays. A variant that hosts inference
        components (no model of its own) starts nothing: its components start their copies."""
        variants = tuple(variant for variant in variants if variant.model is not None)
        fleets = [self._fleet(name, variant) for variant in variants]
        with self._lock:
            if self._closed.is_set():
                raise EmulatorError("the emulator is stopping.")
            self._starting.setdefault(key(name), []).extend(fleets)
        try:
            failures = [failure for failure in map_in_threads(
                lambda pair: _scale_fleet(pair[0], self._instances(name, pair[1])), zip(fleets, variants)) if failure]
        finally:
            with self._lock:
                starting = self._starting.get(key(name), [])
                for fleet in fleets:
                    if fleet in starting:
                        starting.remove(fleet)
        if failures:
            map_in_threads(lambda fleet: fleet.stop(timeout=0), fleets)
            raise EmulatorError(" ".join(failures))
        return list(zip(variants, fleets))

    def _fleet(self, name: str, variant: DeployedVariant) -> Fleet:
        """A variant's instances: each copy of its model's containers, its logs shipped, its health followed."""
        definition = runnable(variant.model, name, variant.startup_timeout, variant.source, variant.instance_type)
        aws = self.plane.aws

        def started(copy: str, group: ContainerGroup) -> None:
            if aws is not None:
                aws.ship_endpoint_logs(name, variant.name, group, copy)
        fleet = Fleet(self._group_maker(definition, serverless.memory_of(variant)), self.endpoint_options.get("events"),
                      started=started)
        fleet.on_change = lambda: self._republish(name, fleet)
        return fleet

    def _group_maker(self, definition: EndpointDefinition,
                     serverless_memory_mb: int | None = None) -> Callable[[Events], ContainerGroup]:
        """What makes one copy's group of containers, reporting to the events it is given (a serverless variant's
        sized by its MemorySizeInMB)."""
        options = {option: value for option, value in self.endpoint_options.items() if option != "events"}
        return lambda events: ContainerGroup(definition, self.backend, startup_timeout=self.startup_timeout,
                                             progress=self.progress, events=events,
                                             serverless_memory_mb=serverless_memory_mb, **options)

    def _instances(self, name: str, variant: DeployedVariant) -> int:
        """The variant's instance count, within the cap (and saying so when the cap cuts it)."""
        wanted = variant.instance_count or 1
        if wanted > self.max_instances:
            self.progress(f"{name}/{variant.name}: runs {self.max_instances} of its {wanted} instances "
                          f"(at most {self.max_instances} per variant: --max-instances, SAGEMAKER_EMULATOR_MAX_INSTANCES)")
        return min(wanted, self.max_instances)

    def _republish(self, name: str, fleet: Fleet) -> None:
        """A fleet's serving copies changed: publish them, if it serves the endpoint now."""
        with self._lock:
            running = self._running.get(key(name), [])
            if any(serving is fleet for _, serving in running):
                self._publish(name, running)

    def _adopt(self, name: str, running: Running, deployment: Deployment | None = None) -> Running | None:
        """Make `running` serve the endpoint; returns what served it before. None when the endpoint is being
        deleted (or the emulator is stopping): then `running` is stopped instead."""
        with self._lock:
            record = self.records.get(name)
            gone = self._closed.is_set() or record is None or record.status == "Deleting"
            if not gone:
                previous = self._running.get(key(name), [])
                self._running[key(name)] = running
                self._publish(name, running, deployment)
        if gone:
            map_in_threads(lambda pair: pair[1].stop(), running)
            return None
        return previous

    def _publish(self, name: str, running: Running, deployment: Deployment | None = None) -> None:
        """`deployment`: what `running` runs, for its capture (an update's, before the record says it is deployed;
        None: the record's)."""
        record = self.records.get(name)
        deployment = deployment or (record.deployed if record else None)
        variants = tuple(_variant_spec(variant.name, variant.weight, fleet, self.invocation_timeout,
                                       max_concurrency=serverless.max_concurrency_of(variant))
                         for variant, fleet in running if not variant.shadow)
        shadows = tuple(_variant_spec(variant.name, variant.weight, fleet, self.invocation_timeout)
                        for variant, fleet in running if variant.shadow)
        asynchronous = bool(record and record.deployed.async_config)  # never changes by an update
        hosts_components = bool(record and record.deployed.hosts_components)
        components = tuple(_variant_spec(describe["VariantName"], 0.0, fleet, self.invocation_timeout,
                                         describe["InferenceComponentName"])
                           for describe, fleet in self.components.specs(name) if fleet.count)
        capture = CaptureSpec.of(deployment.capture_config) if deployment else None
        self.plane.store.set_serving(key(name), EndpointSpec(name, variants, asynchronous,
                                                             hosts_components=hosts_components, components=components,
                                                             capture=capture, shadows=shadows))

    def _drain(self, endpoints: list[ContainerGroup], at_least: float = 0.0) -> None:
        """Stop `endpoints` once requests in flight are done (and `at_least` seconds have passed)."""
        with self._lock:
            self._draining.extend(endpoints)
        self._retire(endpoints, at_least)

    def _retire(self, endpoints: list[ContainerGroup], at_least: float = 0.0) -> None:
        """Stop `endpoints` (draining already) once requests in flight are done."""
        self._closed.wait(max(self.drain_seconds, at_least))
        with self._lock:
            leaving = [endpoint for endpoint in endpoints if endpoint in self._draining]
            self._draining = [endpoint for endpoint in self._draining if endpoint not in endpoints]
        map_in_threads(lambda endpoint: endpoint.stop(), leaving)

    def _record(self, name: str, status: str, reason: str | None, *, record: EndpointRecord | None = None,
                **changes: Any) -> None:
        """Set the endpoint's status (and FailureReason: None clears it), and the record's `changes`; wake waiting
        DescribeEndpoints."""
        with self.plane.lock:
            record = record or self.records.get(name)
            if record is None or record.status == "Deleting":
                return
            reason = reason[:FAILURE_REASON_LIMIT] if reason is not None else None
            self.records.put(record.with_status(status, reason, now(), **changes))
            self.plane.changed.notify_all()


def _firing(alarms: tuple[str, ...]) -> list[str]:
    states = cloudwatch.alarm_states(alarms)
    return [name for name in alarms if states.get(name) == cloudwatch.ALARM]


def _groups(running: Running) -> list[ContainerGroup]:
    """Every copy's containers of `running`."""
    return [group for _, fleet in running for _, group in fleet.copies()]


def _scale_fleet(fleet: Fleet, count: int, drain: Callable[[list[ContainerGroup]], None] = lambda groups: None
                 ) -> str | None:
    try:
        fleet.scale(count, drain)
    except EmulatorError as failure:
        return str(failure)
    return None


def _variant_spec(name: str, weight: float, fleet: Fleet, timeout: float, component: str = "",
                  max_concurrency: int = 0) -> VariantSpec:
    copies = fleet.serving()
    if not copies:  # a serverless variant stopped for idleness: one container (serverless has no pipelines), cold
        return variant_spec(name, weight, "Serial", [], timeout, max_concurrency=max_concurrency, cold=True)
    definition = copies[0][1].definition
    return variant_spec(name, weight, definition.mode, [(copy, group.routes) for copy, group in copies], timeout,
                        definition.is_multi_model, component, max_concurrency)


def _shown(variant: str, copy: str, fleet: Fleet) -> str:
    return f"{variant}/{copy}" if fleet.count > 1 else variant


def _reason(failure: Exception) -> str:
    return str(failure).strip()


def wait_for(plane: ControlPlane, name: str, statuses: tuple[str, ...], timeout: float) -> EndpointRecord | None:
    """The endpoint's record once its status leaves `statuses` (or at the timeout); None if it is gone.
    The caller holds the plane's lock."""
    records = EndpointRecords(plane.store)
    return settled(plane, lambda: records.get(name), lambda record: record.status not in statuses, timeout)


def settled(plane: ControlPlane, read: Callable[[], Record | None], done: Callable[[Record], bool],
            timeout: float) -> Record | None:
    """What `read()` gives once `done` holds of it, or it is gone (None), or at the timeout: woken by every change
    the plane notifies. The caller holds the plane's lock."""
    deadline = time.monotonic() + timeout
    while True:
        record = read()
        if record is None or done(record):
            return record
        left = deadline - time.monotonic()
        if left <= 0:
            return record
        plane.changed.wait(left)
