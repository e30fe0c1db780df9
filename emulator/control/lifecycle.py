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
from typing import Any, Callable

from emulator.aws import cloudwatch
from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT
from emulator.control.deployment import Policy, Rollout, split
from emulator.control.models import runnable
from emulator.control.plane import ControlPlane, key, now
from emulator.control.records import DeployedVariant, EndpointRecord, EndpointRecords
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.group import ContainerGroup, Progress
from emulator.containers.launcher import DEFAULT_STARTUP_TIMEOUT
from emulator.errors import EmulatorError
from emulator.seam.serving import EndpointSpec, variant_spec
from emulator.parallel import map_in_threads

FAILURE_REASON_LIMIT = 4000
Running = list[tuple[DeployedVariant, ContainerGroup]]


class Lifecycle:
    def __init__(self, plane: ControlPlane, backend: DockerBackend, *, startup_timeout: float | None = None,
                 invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT, progress: Progress | None = None,
                 time_scale: float = 1.0, **endpoint_options: Any):
        """`time_scale`: what a guarded update's waits are multiplied by; `endpoint_options`: more for each
        ContainerGroup (the request log's `events`, `reuse`)."""
        self.plane, self.backend = plane, backend
        self.time_scale = time_scale
        self.records = EndpointRecords(plane.store)
        self.endpoint_options = endpoint_options
        self.startup_timeout, self.invocation_timeout = startup_timeout, invocation_timeout
        self.progress = progress or (lambda message: None)
        self.drain_seconds = invocation_timeout  # how long replaced containers keep serving requests in flight
        self._running: dict[str, Running] = {}
        self._starting: dict[str, list[ContainerGroup]] = {}
        self._deploying: dict[str, Running] = {}  # a guarded update's new fleet, while traffic shifts to it
        self._draining: list[ContainerGroup] = []
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    # -- what the operations ask for (they hold the plane's lock) -------------------------------------------
    def create(self, name: str) -> None:
        self._spawn(self._create, name)

    def update(self, name: str) -> None:
        self._spawn(self._update, name)

    def delete(self, name: str) -> None:
        with self._lock:
            for endpoint in self._starting.get(key(name), []):
                endpoint.stop(timeout=0)  # a start in progress gives up at once
        self.plane.store.set_serving(key(name), None)
        self._spawn(self._delete, name)

    def reweigh(self, name: str) -> None:
        """Publish the endpoint's current weights (the deployed variants' `Weight`) to the front."""
        deployed = self.records.find(name).deployed
        with self._lock:
            running = [(replace(variant, weight=deployed.variant(variant.name).weight), group)
                       for variant, group in self._running.get(key(name), [])]
            self._running[key(name)] = running
            self._publish(name, running)

    def running(self, name: str) -> Running:
        with self._lock:
            return list(self._running.get(key(name), []))

    def variants(self) -> list[tuple[str, ContainerGroup]]:
        """(variant name, its containers) of every endpoint now; one starting or draining says so instead."""
        with self._lock:
            return ([("(starting)", e) for group in self._starting.values() for e in group]
                    + [(variant.name, e) for group in self._running.values() for variant, e in group]
                    + [(f"{variant.name} (new)", e) for group in self._deploying.values() for variant, e in group]
                    + [("(draining)", e) for e in self._draining])

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
                self._retire([endpoint for _, endpoint in running])
                return
            termination_wait = policy.termination_wait * self.time_scale
        replaced = self._adopt(name, running)
        if replaced is None:
            return
        self._record(name, "InService", None, config_name=pending.config_name, deployed=pending, pending=None)
        self._drain(replaced, termination_wait)

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
                    self._draining.extend(endpoint for _, endpoint in new)

    def _publish_if_live(self, name: str, running: Running) -> bool:
        """Publish `running` unless the endpoint is being deleted (or the emulator stops); says whether it did."""
        with self._lock:
            record = self.records.get(name)
            if self._closed.is_set() or record is None or record.status == "Deleting":
                return False
            self._publish(name, running)
            return True

    def _delete(self, name: str) -> None:
        with self._lock:
            running = self._running.pop(key(name), [])
        map_in_threads(lambda pair: pair[1].stop(), running)
        with self.plane.lock:
            self.records.delete(name)
            self.plane.changed.notify_all()

    def _start(self, name: str, variants: tuple[DeployedVariant, ...]) -> Running:
        """Start every variant's containers in parallel; on any failure none stays."""
        endpoints = [ContainerGroup(runnable(variant.model, name, variant.startup_timeout, variant.source,
                                            variant.instance_type),
                              self.backend, startup_timeout=self.startup_timeout, progress=self.progress,
                              **self.endpoint_options) for variant in variants]
        with self._lock:
            if self._closed.is_set():
                raise EmulatorError("the emulator is stopping.")
            self._starting.setdefault(key(name), []).extend(endpoints)
        try:
            failures = [failure for failure in map_in_threads(_start_one, endpoints) if failure]
        finally:
            with self._lock:
                starting = self._starting.get(key(name), [])
                for endpoint in endpoints:
                    if endpoint in starting:
                        starting.remove(endpoint)
        if failures:
            map_in_threads(lambda endpoint: endpoint.stop(timeout=0), endpoints)
            raise EmulatorError(" ".join(failures))
        if self.plane.aws is not None:
            for variant, endpoint in zip(variants, endpoints):
                self.plane.aws.ship_endpoint_logs(name, variant.name, endpoint)
        return list(zip(variants, endpoints))

    def _adopt(self, name: str, running: Running) -> Running | None:
        """Make `running` serve the endpoint; returns what served it before. None when the endpoint is being
        deleted (or the emulator is stopping): then `running` is stopped instead."""
        with self._lock:
            record = self.records.get(name)
            gone = self._closed.is_set() or record is None or record.status == "Deleting"
            if not gone:
                previous = self._running.get(key(name), [])
                self._running[key(name)] = running
                self._publish(name, running)
        if gone:
            map_in_threads(lambda pair: pair[1].stop(), running)
            return None
        return previous

    def _publish(self, name: str, running: Running) -> None:
        variants = tuple(variant_spec(variant.name, variant.weight, endpoint.definition.mode, endpoint.routes,
                                      self.invocation_timeout, endpoint.definition.is_multi_model)
                         for variant, endpoint in running)
        record = self.records.get(name)
        asynchronous = bool(record and record.deployed.async_config)  # never changes by an update
        self.plane.store.set_serving(key(name), EndpointSpec(name, variants, asynchronous))

    def _drain(self, replaced: Running, at_least: float = 0.0) -> None:
        """Stop `replaced` once requests in flight are done (and `at_least` seconds have passed)."""
        endpoints = [endpoint for _, endpoint in replaced]
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


def _start_one(endpoint: ContainerGroup) -> str | None:
    try:
        endpoint.start()
    except EmulatorError as failure:
        return str(failure)
    return None


def _reason(failure: Exception) -> str:
    return str(failure).strip()


def wait_for(plane: ControlPlane, name: str, statuses: tuple[str, ...], timeout: float) -> EndpointRecord | None:
    """The endpoint's record once its status leaves `statuses` (or at the timeout); None if it is gone.
    The caller holds the plane's lock."""
    deadline = time.monotonic() + timeout
    records = EndpointRecords(plane.store)
    while True:
        record = records.get(name)
        if record is None or record.status not in statuses:
            return record
        left = deadline - time.monotonic()
        if left <= 0:
            return record
        plane.changed.wait(left)
