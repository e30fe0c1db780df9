"""Inference components' copies, run as SageMaker runs them, in background threads of the owner process.

Each component is a fleet of copies (emulator.containers.fleet) of its container, on the variant of the endpoint
that hosts it; the lifecycle publishes them with the endpoint's serving spec. CreateInferenceComponent returns at
once: a thread checks that the copies fit the variant's instances, starts them and flips the component to
InService, or to Failed with the reason. A new CopyCount adds or removes copies while the others serve; a new
Specification starts new copies beside the old ones, switches in one publish, and drains the old ones.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from emulator.containers.fleet import Fleet, copy_namer
from emulator.containers.group import ContainerGroup
from emulator.control.models import runnable
from emulator.control.plane import INFERENCE_COMPONENT as COMPONENT, ControlPlane, key, now
from emulator.control.records import EndpointRecords
from emulator.errors import EmulatorError
from emulator.instances import ASSUMED, instance
from emulator.parallel import map_in_threads

FAILURE_REASON_LIMIT = 4000


class ComponentCopies:
    def __init__(self, plane: ControlPlane, make_group: Callable[[Any], Callable[[Any], ContainerGroup]],
                 events: Any, spawn: Callable[[Callable[[str], None], str], None], publish: Callable[[str], None],
                 drain: Callable[[list[ContainerGroup]], None], max_instances: int, progress: Callable[[str], None]):
        """`make_group(definition)`: what makes one copy's group of a definition (given its events); `spawn(work,
        name)`: run work(name) in the lifecycle's threads; `publish(endpoint)`: publish the endpoint's serving spec
        again (it asks `specs`); `drain(groups)`: stop groups after the invocation timeout."""
        self.plane, self._make_group, self._events = plane, make_group, events
        self.endpoints = EndpointRecords(plane.store)
        self._spawn, self._publish, self._drain = spawn, publish, drain
        self.max_instances, self.progress = max_instances, progress
        self._running: dict[str, tuple[str, Fleet]] = {}  # component key -> (its endpoint's key, its copies)
        self._lock = threading.Lock()

    # -- what the operations ask for (they hold the plane's lock) ------------------------------------------
    def create(self, name: str) -> None:
        self._spawn(self._create, name)

    def update(self, name: str) -> None:
        self._spawn(self._update, name)

    def delete(self, name: str) -> None:
        self._spawn(self._delete, name)

    def specs(self, endpoint: str) -> list[tuple[dict[str, Any], Fleet]]:
        """The endpoint's components that serve, each (its record's Describe, its copies)."""
        with self._lock:
            running = [(component, fleet) for component, (owner, fleet) in self._running.items() if owner == key(endpoint)]
        documents = [(self.plane.store.get(COMPONENT, component), fleet) for component, fleet in running]
        return [(document["Describe"], fleet) for document, fleet in documents if document is not None]

    def copy_count(self, name: str) -> int:
        """Copies of the component that run now."""
        with self._lock:
            _, fleet = self._running.get(key(name), ("", None))
        return fleet.count if fleet is not None else 0

    def groups(self) -> list[tuple[str, ContainerGroup]]:
        """(`component/copy`, its containers) of every component's copies, for the page and `ls`."""
        with self._lock:
            running = list(self._running.items())
        documents = {component: self.plane.store.get(COMPONENT, component) for component, _ in running}
        return [(f"{documents[component]['Describe']['InferenceComponentName'] if documents[component] else component}"
                 f"/{copy}", group) for component, (_, fleet) in running for copy, group in fleet.copies()]

    def of_endpoint(self, endpoint: str) -> list[str]:
        """The names of the components an endpoint hosts (any status)."""
        return [document["Describe"]["InferenceComponentName"] for document in self.plane.store.all(COMPONENT)
                if key(document["Describe"]["EndpointName"]) == key(endpoint)]

    def restore(self, endpoint: str) -> None:
        """The endpoint came back after a restart: so do its components (those that were not Failed)."""
        for name in self.of_endpoint(endpoint):
            document = self.plane.store.get(COMPONENT, key(name))
            status = document["Describe"]["InferenceComponentStatus"]
            if status == "Deleting":
                self.plane.store.delete(COMPONENT, key(name))
            elif status != "Failed":
                self._record(name, "Creating", None)
                self.create(name)

    def stop(self, keep: bool = False) -> None:
        with self._lock:
            fleets = [fleet for _, fleet in self._running.values()]
            self._running = {}
        map_in_threads(lambda fleet: fleet.stop(keep=keep), fleets)

    # -- the background work -------------------------------------------------------------------------------
    def _create(self, name: str) -> None:
        document = self.plane.store.get(COMPONENT, key(name))
        if document is None:
            return
        try:
            fleet = self._start(document)
        except EmulatorError as failure:
            self._record(name, "Failed", str(failure).strip())
            return
        endpoint = document["Describe"]["EndpointName"]
        with self._lock:
            self._running[key(name)] = (key(endpoint), fleet)
        self._publish(endpoint)  # before InService: a caller who sees InService is served
        if not self._record(name, "InService", None):  # deleted meanwhile
            self._forget(name)

    def _update(self, name: str) -> None:
        document = self.plane.store.get(COMPONENT, key(name))
        pending = document.get("Pending") or {}
        with self._lock:
            _, fleet = self._running.get(key(name), ("", None))
        try:
            if "Specification" in pending or fleet is None:
                replacement = self._start({**document, **pending})
                with self._lock:
                    self._running[key(name)] = (key(document["Describe"]["EndpointName"]), replacement)
                self._publish(document["Describe"]["EndpointName"])
                if fleet is not None:
                    self._drain([group for _, group in fleet.copies()])
            else:
                self._check_fit({**document, **pending})
                fleet.scale(self._copies(name, pending.get("CopyCount", document["CopyCount"])), self._drain)
        except EmulatorError as failure:
            self._record(name, "InService" if fleet is not None else "Failed",
                         f"The update failed; the inference component stays as it was. {str(failure).strip()}",
                         Pending=None)
            return
        self._record(name, "InService", None, Pending=None, **pending)

    def _delete(self, name: str) -> None:
        endpoint = self._forget(name)
        with self.plane.lock:
            self.plane.store.delete(COMPONENT, key(name))
            self.plane.changed.notify_all()
        if endpoint:
            self._publish(endpoint)

    def _forget(self, name: str) -> str | None:
        """Stop the component's copies (after taking them out of the routes); returns its endpoint's key."""
        with self._lock:
            endpoint, fleet = self._running.pop(key(name), (None, None))
        if fleet is not None:
            self._publish(endpoint)
            fleet.stop()
        return endpoint

    def _start(self, document: dict[str, Any]) -> Fleet:
        self._check_fit(document)
        describe = document["Describe"]
        name = describe["InferenceComponentName"]
        startup = (document["Specification"].get("StartupParameters") or {}).get(
            "ContainerStartupHealthCheckTimeoutInSeconds")
        definition = runnable(document["Model"], describe["EndpointName"], startup, document.get("Source"),
                              document.get("InstanceType"))
        fleet = Fleet(self._make_group(definition), self._events, name_copy=copy_namer("copy"))
        fleet.on_change = lambda: self._publish(describe["EndpointName"])
        fleet.scale(self._copies(name, document["CopyCount"]), lambda groups: None)
        return fleet

    def _copies(self, name: str, wanted: int) -> int:
        if wanted > self.max_instances:
            self.progress(f"inference component {name}: runs {self.max_instances} of its {wanted} copies (at most "
                          f"{self.max_instances}: --max-instances, SAGEMAKER_EMULATOR_MAX_INSTANCES)")
        return min(wanted, self.max_instances)

    def _check_fit(self, document: dict[str, Any]) -> None:
        """The variant's instances hold every copy of every component on it, by cores, memory and accelerators
        (SageMaker places copies only where their ComputeResourceRequirements fit, and fails the component
        whose copies find no room)."""
        describe = document["Describe"]
        variant = self.endpoints.find(describe["EndpointName"]).deployed.variant(describe["VariantName"])
        machine = instance(variant.instance_type or ASSUMED)
        count = variant.instance_count or 1
        others = [d for d in self.plane.store.all(COMPONENT)
                  if key(d["Describe"]["InferenceComponentName"]) != key(describe["InferenceComponentName"])
                  and key(d["Describe"]["EndpointName"]) == key(describe["EndpointName"])
                  and d["Describe"]["VariantName"] == describe["VariantName"]
                  and d["Describe"]["InferenceComponentStatus"] in ("InService", "Updating")]
        needs = requirements(document)
        used = [sum(requirements(other)[index] for other in others) for index in range(3)]
        capacity = (machine.vcpus * count, machine.memory_gib * 1024 * count, machine.gpus * count)
        words = ("CPU cores", "MB of memory", "accelerator devices")
        short = [f"{needs[index]:g} {words[index]} (free: {capacity[index] - used[index]:g} of {capacity[index]:g})"
                 for index in range(3) if needs[index] + used[index] > capacity[index]]
        if short:
            raise EmulatorError(
                f"The inference component's {document['CopyCount']} copies do not fit on variant "
                f"{describe['VariantName']} of endpoint {describe['EndpointName']} ({count} x {machine.describe()}): "
                f"they need {', '.join(short)}. Fix: lower CopyCount or ComputeResourceRequirements, or raise the "
                "variant's instance count (UpdateEndpointWeightsAndCapacities) or choose a larger instance type.")

    def _record(self, name: str, status: str, reason: str | None, **changes: Any) -> bool:
        """Set the component's status (FailureReason: None clears it); False when it is gone or being deleted."""
        with self.plane.lock:
            document = self.plane.store.get(COMPONENT, key(name))
            if document is None or document["Describe"]["InferenceComponentStatus"] == "Deleting":
                return False
            describe = document["Describe"]
            describe.update(InferenceComponentStatus=status, LastModifiedTime=now())
            if reason is None:
                describe.pop("FailureReason", None)
            else:
                describe["FailureReason"] = reason[:FAILURE_REASON_LIMIT]
            document.update(changes)
            self.plane.store.put(COMPONENT, key(name), document)
            self.plane.changed.notify_all()
            return True


def requirements(document: dict[str, Any]) -> tuple[float, float, float]:
    """(CPU cores, MB of memory, accelerator devices) that all of a component's copies need together."""
    asked = document["Specification"].get("ComputeResourceRequirements") or {}
    copies = document["CopyCount"]
    return (asked.get("NumberOfCpuCoresRequired", 0) * copies, asked.get("MinMemoryRequiredInMb", 0) * copies,
            asked.get("NumberOfAcceleratorDevicesRequired", 0) * copies)
