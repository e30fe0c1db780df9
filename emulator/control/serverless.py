"""Serverless variants (a production variant with ServerlessConfig), as SageMaker's serverless inference runs them.

- CreateEndpointConfig refuses what serverless inference does not support (`check_config`): SageMaker's developer
  guide lists GPUs, Marketplace model packages, private Docker registries, multi-model endpoints, VPC configuration,
  network isolation, data capture, multiple production variants, Model Monitor and inference pipelines.
- MemorySizeInMB bounds the variant's containers, in place of an instance type's memory (ContainerGroup).
- MaxConcurrency bounds the invocations in flight, counted by the front's workers (emulator.seam.concurrency).
- A variant with no invocation for `idle` seconds is stopped (`ServerlessFleet`); it stays InService, and the
  next invocation asks the owner to start it (`wake`) and waits for it: a cold start. ProvisionedConcurrency keeps
  the variant warm. Concurrent first calls share one start.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol

from emulator.control.errors import ValidationException
from emulator.control.records import DeployedVariant
from emulator.errors import EmulatorError
from emulator.parallel import map_in_threads
from emulator.seam.serverless import Slots, slots_folder

if TYPE_CHECKING:  # the command line reads DEFAULT_IDLE without importing the containers' modules
    from emulator.containers.group import ContainerGroup

# SageMaker says nothing of how long a serverless variant stays warm; assumed: ten minutes.
DEFAULT_IDLE = 600.0
MEMORY_STEP = 1024  # MemorySizeInMB: 1024, 2048, ... 6144 (botocore's model bounds it to 1024-6144)
UNSUPPORTED_CONFIG = {"DataCaptureConfig": "data capture", "ShadowProductionVariants": "shadow variants",
                      "AsyncInferenceConfig": "asynchronous inference"}


def memory_of(variant: DeployedVariant) -> int | None:
    return variant.serverless["MemorySizeInMB"] if variant.serverless else None


def max_concurrency_of(variant: DeployedVariant) -> int:
    return variant.serverless["MaxConcurrency"] if variant.serverless else 0


def provisioned(variant: DeployedVariant) -> bool:
    return bool(variant.serverless and variant.serverless.get("ProvisionedConcurrency"))


# -- CreateEndpointConfig ---------------------------------------------------------------------------------------
def check_config(request: dict[str, Any], models: Callable[[str], dict[str, Any]]) -> None:
    """Refuse a serverless config SageMaker refuses. `models`: a model's Describe by name."""
    variants = request["ProductionVariants"]
    serverless = [(index, v) for index, v in enumerate(variants, start=1) if v.get("ServerlessConfig")]
    if not serverless:
        return
    if len(variants) > 1:
        raise ValidationException("Serverless inference supports one production variant per endpoint configuration; "
                                  f"this one has {len(variants)}. Fix: give the serverless variant an endpoint "
                                  "configuration of its own.")
    for member, feature in UNSUPPORTED_CONFIG.items():
        if request.get(member):
            raise ValidationException(f"Serverless inference does not support {feature} ({member}). Fix: remove "
                                      f"{member}, or deploy the variant on instances (InstanceType and "
                                      "InitialInstanceCount instead of ServerlessConfig).")
    for index, variant in serverless:
        if not variant.get("ModelName"):
            raise ValidationException("Serverless inference does not support inference components (a variant with no "
                                      "ModelName). Fix: name the variant's model, or deploy the components on instances.")
        _check_variant(f"productionVariants.{index}.member", variant, models(variant["ModelName"]))


def _check_variant(where: str, variant: dict[str, Any], model: dict[str, Any]) -> None:
    config = variant["ServerlessConfig"]
    for member in ("InstanceType", "AcceleratorType"):  # InitialInstanceCount: the SDK omits it; SageMaker's take unknown
        if variant.get(member) is not None:
            raise ValidationException(f"Value at '{where}.{member[0].lower() + member[1:]}': a variant with "
                                      f"ServerlessConfig cannot also set {member}. Fix: remove {member} (a serverless "
                                      "variant is sized by MemorySizeInMB) or remove ServerlessConfig.")
    memory = config["MemorySizeInMB"]
    if memory % MEMORY_STEP:
        raise ValidationException(f"Value '{memory}' at '{where}.serverlessConfig.memorySizeInMB' failed to satisfy "
                                  "constraint: Member must be one of 1024, 2048, 3072, 4096, 5120 or 6144. "
                                  f"Fix: round it to a multiple of {MEMORY_STEP}.")
    wanted, most = config.get("ProvisionedConcurrency"), config["MaxConcurrency"]
    if wanted is not None and wanted > most:
        raise ValidationException(f"Value '{wanted}' at '{where}.serverlessConfig.provisionedConcurrency' is above "
                                  f"MaxConcurrency ({most}). Fix: make ProvisionedConcurrency at most MaxConcurrency.")
    problem = _unsupported_model(model)
    if problem:
        raise ValidationException(f"Model {model['ModelName']} cannot be served serverless: {problem}. Fix: deploy it "
                                  "on instances (InstanceType and InitialInstanceCount instead of ServerlessConfig).")


def _unsupported_model(model: dict[str, Any]) -> str | None:
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    if len(containers) > 1:
        return "serverless inference does not support inference pipelines (more than one container)"
    container = containers[0]
    if container.get("Mode") == "MultiModel":
        return "serverless inference does not support multi-model endpoints (Mode: MultiModel)"
    if model.get("VpcConfig"):
        return "serverless inference does not support VPC configuration (VpcConfig)"
    if model.get("EnableNetworkIsolation"):
        return "serverless inference does not support network isolation (EnableNetworkIsolation)"
    if (container.get("ImageConfig") or {}).get("RepositoryAccessMode") == "Vpc":
        return "serverless inference does not support private Docker registries (ImageConfig.RepositoryAccessMode: Vpc)"
    return None


# -- running ----------------------------------------------------------------------------------------------------
class Instances(Protocol):
    """A variant's copies (emulator.containers.fleet.Fleet): a serverless variant runs one, or none when cold."""
    count: int

    def scale(self, count: int, drain: Callable[[list["ContainerGroup"]], None]) -> None: ...


class Lifecycle(Protocol):
    """What the fleet needs of the lifecycle (emulator.control.lifecycle.Lifecycle)."""
    lock: threading.Lock
    closed: threading.Event

    def serving_variants(self) -> Iterator[tuple[str, DeployedVariant, Instances]]: ...
    def publish_endpoint(self, endpoint: str) -> None: ...


class ServerlessFleet:
    """Stops idle serverless variants and starts them again on their next invocation: a variant's copies scale to
    none, and back to one."""

    def __init__(self, lifecycle: Lifecycle, state_folder: Path, idle: float = DEFAULT_IDLE):
        self.lifecycle, self.state_folder, self.idle = lifecycle, state_folder, idle
        self._waking: dict[tuple[str, str], threading.Lock] = {}
        self._slots: dict[tuple[str, str, int], Slots] = {}
        self._warm_since: dict[int, float] = {}  # by id of the instances: when the sweep first saw them warm
        self._stopping: list["ContainerGroup"] = []  # stopped for idleness, perhaps still ending

    def start(self) -> "ServerlessFleet":
        """The idle sweep, in a thread that ends when the lifecycle closes."""
        threading.Thread(target=self._watch, name="serverless-idle", daemon=True).start()
        return self

    def _watch(self) -> None:
        interval = min(max(self.idle / 4, 0.05), 1.0)
        while not self.lifecycle.closed.wait(interval):
            self.sweep()

    def slots(self, endpoint: str, variant: DeployedVariant) -> Slots:
        at = (endpoint.lower(), variant.name, max_concurrency_of(variant))  # a new config may change the count
        if at not in self._slots:
            self._slots[at] = Slots(slots_folder(self.state_folder, endpoint, variant.name), max_concurrency_of(variant))
        return self._slots[at]

    def sweep(self) -> None:
        """Stop every warm serverless variant that has had nothing in flight for `idle` seconds."""
        now = time.time()
        with self.lifecycle.lock:
            idle = [(endpoint, variant, instances) for endpoint, variant, instances in self.lifecycle.serving_variants()
                    if variant.serverless and not provisioned(variant) and instances.count
                    and now - max(self.slots(endpoint, variant).last_used(),
                                  self._warm_since.setdefault(id(instances), now)) >= self.idle]
        for endpoint, variant, instances in idle:
            slots = self.slots(endpoint, variant)
            if not slots.take_all():  # an invocation began meanwhile
                continue
            try:
                with self.lifecycle.lock:
                    serving = any(other is instances for _, _, other in self.lifecycle.serving_variants())
                if serving:  # not replaced by an update, or deleted, meanwhile
                    self._warm_since.pop(id(instances), None)
                    instances.scale(0, self._stop)  # publishes it cold before the slots are free: no one invokes it
            finally:
                slots.release_all()

    def _stop(self, groups: list["ContainerGroup"]) -> None:
        """Stop an idle variant's containers in the background: their SIGTERM grace must not hold its slots."""
        with self.lifecycle.lock:
            self._stopping.extend(groups)
        threading.Thread(target=map_in_threads, args=(lambda group: group.stop(), groups), name="serverless-stop",
                         daemon=True).start()

    def wake(self, endpoint: str, variant_name: str) -> bool:
        """Start the variant again if it is cold; waits for it (shared by concurrent callers). True when this call
        started it. EmulatorError when it did not start, or is no longer served."""
        with self.lifecycle.lock:
            lock = self._waking.setdefault((endpoint.lower(), variant_name), threading.Lock())
        with lock:
            with self.lifecycle.lock:
                found = [instances for name, variant, instances in self.lifecycle.serving_variants()
                         if name.lower() == endpoint.lower() and variant.name == variant_name and variant.serverless]
            if not found:
                raise EmulatorError(f"Endpoint {endpoint} has no serverless variant {variant_name} now.")
            if found[0].count:
                return False
            found[0].scale(1, self._stop)  # publishes it warm once healthy; none stays if it fails
            self._warm_since[id(found[0])] = time.time()
            return True

    def close(self) -> None:
        """After the lifecycle stopped: wait for the containers an idle stop is still ending."""
        map_in_threads(lambda group: group.stop(), self._stopping)
        for slots in self._slots.values():
            slots.close()
        self._slots.clear()
