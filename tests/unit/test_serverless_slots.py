"""A serverless variant's MaxConcurrency slots (emulator.seam.serverless): counted across processes by file locks,
freed by a process that dies, taken all at once by the owner, and their files' times tell when the variant was last
used. Two Slots objects on one folder stand for two processes (flock counts per open file)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from emulator.seam.serverless import Slots, slots_folder


def test_slots_are_counted_across_holders(tmp_path):
    folder = slots_folder(tmp_path, "Endpoint", "AllTraffic")
    first, second = Slots(folder, 2), Slots(folder, 2)
    taken = [first.acquire(), second.acquire()]
    assert sorted(taken) == [0, 1]
    assert first.acquire() is None and second.acquire() is None  # the third invocation is throttled
    first.release(taken[0])
    assert second.acquire() == taken[0]


def test_one_process_holds_each_slot_once(tmp_path):
    slots = Slots(tmp_path, 2)
    assert slots.acquire() == 0 and slots.acquire() == 1 and slots.acquire() is None
    slots.release(0)
    slots.release(0)  # harmless twice
    assert slots.acquire() == 0


def test_take_all_only_when_nothing_is_in_flight(tmp_path):
    owner, worker = Slots(tmp_path, 3), Slots(tmp_path, 3)
    held = worker.acquire()
    assert not owner.take_all()
    assert worker.acquire() is not None  # a failed take_all gave back what it took
    worker.release_all()
    assert owner.take_all()
    assert worker.acquire() is None
    owner.release_all()
    assert worker.acquire() is not None and held is not None


def test_release_marks_the_last_use(tmp_path):
    slots = Slots(tmp_path, 1)
    before = slots.last_used()
    time.sleep(0.05)
    slots.release(slots.acquire())
    assert slots.last_used() > before
    owner = Slots(tmp_path, 1)
    after = owner.last_used()
    assert owner.take_all()
    owner.release_all()  # the owner's look is no use
    assert owner.last_used() == after


def test_a_dead_process_frees_its_slot(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from emulator.seam.serverless import Slots; from pathlib import Path; "
        f"s = Slots(Path({str(tmp_path)!r}), 1); assert s.acquire() == 0; print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert holder.stdout.readline().strip() == "held"
        slots = Slots(tmp_path, 1)
        assert slots.acquire() is None
        holder.kill()
        holder.wait(timeout=10)
        assert slots.acquire() == 0
    finally:
        holder.kill()
        holder.wait(timeout=10)
