"""The serverless fleet's logic (emulator.control.serverless.ServerlessFleet) on a fake lifecycle: an idle variant is
stopped and published cold, one with an invocation in flight or ProvisionedConcurrency is not, and concurrent wakes
share one start."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from emulator.control.records import DeployedVariant
from emulator.control.serverless import ServerlessFleet
from emulator.seam.serverless import Slots, slots_folder

IDLE = 0.2


class FakeGroup:
    def __init__(self, name: str):
        self.name, self.started, self.stopped = name, 0, 0

    def start(self) -> "FakeGroup":
        time.sleep(0.2)  # a container's start, during which other wakes wait
        self.started += 1
        return self

    def stop(self) -> None:
        self.stopped += 1


class FakeLifecycle:
    def __init__(self, variants: list[DeployedVariant]):
        self.lock, self.closed = threading.Lock(), threading.Event()
        self.running = [(variant, FakeGroup("ep")) for variant in variants]
        self.published, self.made = 0, []

    def serving_variants(self):
        return [("ep", variant, group) for variant, group in self.running]

    def new_group(self, endpoint, variant):
        self.made.append(FakeGroup(endpoint))
        return self.made[-1]

    def swap_group(self, endpoint, old, new):
        for index, (variant, group) in enumerate(self.running):
            if group is old:
                self.running[index] = (variant, new)
                return True
        return False

    def publish_endpoint(self, endpoint):
        self.published += 1


def variant(name: str, provisioned: int | None = None) -> DeployedVariant:
    config = {"MemorySizeInMB": 1024, "MaxConcurrency": 2, **({"ProvisionedConcurrency": provisioned} if provisioned else {})}
    return DeployedVariant(name, 1.0, 1, {"PrimaryContainer": {"Image": "echo"}}, serverless=config)


def test_an_idle_variant_is_stopped_and_a_provisioned_one_is_not(tmp_path):
    lifecycle = FakeLifecycle([variant("idle"), variant("kept", provisioned=1)])
    fleet = ServerlessFleet(lifecycle, tmp_path, IDLE)
    fleet.sweep()  # sees them warm now
    time.sleep(IDLE * 1.5)
    fleet.sweep()
    (_, idle), (_, kept) = lifecycle.running
    assert fleet.is_cold(idle) and idle.stopped == 1 and lifecycle.published == 1
    assert not fleet.is_cold(kept) and kept.stopped == 0


def test_a_variant_with_an_invocation_in_flight_is_not_stopped(tmp_path):
    lifecycle = FakeLifecycle([variant("busy")])
    fleet = ServerlessFleet(lifecycle, tmp_path, IDLE)
    worker = Slots(slots_folder(tmp_path, "ep", "busy"), 2)
    held = worker.acquire()
    fleet.sweep()
    time.sleep(IDLE * 1.5)
    fleet.sweep()
    (_, group), = lifecycle.running
    assert not fleet.is_cold(group) and group.stopped == 0
    worker.release(held)  # marks it used now: still not idle
    fleet.sweep()
    assert not fleet.is_cold(group)


def test_concurrent_wakes_share_one_start(tmp_path):
    lifecycle = FakeLifecycle([variant("cold")])
    fleet = ServerlessFleet(lifecycle, tmp_path, IDLE)
    fleet.sweep()
    time.sleep(IDLE * 1.5)
    fleet.sweep()
    with ThreadPoolExecutor(4) as pool:
        started = list(pool.map(lambda _: fleet.wake("ep", "cold"), range(4)))
    assert started.count(True) == 1 and len(lifecycle.made) == 1 and lifecycle.made[0].started == 1
    (_, group), = lifecycle.running
    assert group is lifecycle.made[0] and not fleet.is_cold(group)
    assert fleet.wake("ep", "cold") is False  # warm: nothing to start
