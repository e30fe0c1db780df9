"""The serverless fleet's logic (emulator.control.serverless.ServerlessFleet) on a fake lifecycle: an idle variant
scales to no copy, one with an invocation in flight or ProvisionedConcurrency does not, and concurrent wakes share
one start."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from emulator.control.records import DeployedVariant
from emulator.control.serverless import ServerlessFleet
from emulator.seam.serverless import Slots, slots_folder

IDLE = 0.2


class FakeInstances:
    def __init__(self):
        self.count, self.starts, self.stops = 1, 0, 0

    def scale(self, count, drain):
        if count > self.count:
            time.sleep(0.2)  # a container's start, during which other wakes wait
            self.starts += 1
        elif count < self.count:
            self.stops += 1
            drain([])
        self.count = count


class FakeLifecycle:
    def __init__(self, variants: list[DeployedVariant]):
        self.lock, self.closed = threading.Lock(), threading.Event()
        self.running = [(variant, FakeInstances()) for variant in variants]

    def serving_variants(self):
        return [("ep", variant, instances) for variant, instances in self.running]

    def publish_endpoint(self, endpoint):
        pass


def variant(name: str, provisioned: int | None = None) -> DeployedVariant:
    config = {"MemorySizeInMB": 1024, "MaxConcurrency": 2, **({"ProvisionedConcurrency": provisioned} if provisioned else {})}
    return DeployedVariant(name, 1.0, 1, {"PrimaryContainer": {"Image": "echo"}}, serverless=config)


def idled(fleet: ServerlessFleet) -> None:
    fleet.sweep()  # sees them warm now
    time.sleep(IDLE * 1.5)
    fleet.sweep()


def test_an_idle_variant_is_stopped_and_a_provisioned_one_is_not(tmp_path):
    lifecycle = FakeLifecycle([variant("idle"), variant("kept", provisioned=1)])
    idled(ServerlessFleet(lifecycle, tmp_path, IDLE))
    (_, idle), (_, kept) = lifecycle.running
    assert idle.count == 0 and idle.stops == 1
    assert kept.count == 1 and kept.stops == 0


def test_a_variant_with_an_invocation_in_flight_is_not_stopped(tmp_path):
    lifecycle = FakeLifecycle([variant("busy")])
    fleet = ServerlessFleet(lifecycle, tmp_path, IDLE)
    worker = Slots(slots_folder(tmp_path, "ep", "busy"), 2)
    held = worker.acquire()
    idled(fleet)
    (_, instances), = lifecycle.running
    assert instances.count == 1
    worker.release(held)  # marks it used now: still not idle
    fleet.sweep()
    assert instances.count == 1


def test_concurrent_wakes_share_one_start(tmp_path):
    lifecycle = FakeLifecycle([variant("cold")])
    fleet = ServerlessFleet(lifecycle, tmp_path, IDLE)
    idled(fleet)
    (_, instances), = lifecycle.running
    assert instances.count == 0
    with ThreadPoolExecutor(4) as pool:
        started = list(pool.map(lambda _: fleet.wake("ep", "cold"), range(4)))
    assert started.count(True) == 1 and instances.starts == 1 and instances.count == 1
    assert fleet.wake("ep", "cold") is False  # warm: nothing to start
