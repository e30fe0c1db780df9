"""What the owner and the front's workers share of serverless variants: the owner's route that starts one stopped
for idleness, and its MaxConcurrency, counted across the front's worker processes and the owner: one lock
file per allowed invocation in flight (a slot), taken with a non-blocking `flock`.

A worker takes any free slot for an invocation and gives it back when the answer has been sent; with none free
the invocation is throttled. The kernel frees a dead process's locks, so a killed worker leaks no slot. Giving a
slot back touches its file: the newest file time is when the variant last finished an invocation, which the owner
reads to stop an idle variant. The owner takes every slot at once (`take_all`) to be sure nothing is in flight
while it switches the variant off. A few system calls per invocation, on descriptors each process opens once.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

FOLDER = "serverless"  # under the state folder: <state>/serverless/<endpoint>/<variant>/<slot number>
WAKE_PATH = "/_emulator/serverless/wake"  # {"endpoint", "variant"} -> {"started": bool} or {"failure": reason}


def slots_folder(state_folder: Path | str, endpoint: str, variant: str) -> Path:
    return Path(state_folder) / FOLDER / endpoint.lower() / variant


class Slots:
    """The `count` slots of one variant, as one process sees them. Shared by the process's threads and greenlets:
    `flock` counts per open file, so which slot this process holds is tracked here too."""

    def __init__(self, folder: Path, count: int):
        self.folder, self.count = folder, count
        self._descriptors: list[int] = []
        self._held: set[int] = set()
        self._lock = threading.Lock()

    def _open(self) -> list[int]:
        if not self._descriptors:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._descriptors = [os.open(self.folder / str(number), os.O_RDWR | os.O_CREAT, 0o600)
                                 for number in range(self.count)]
        return self._descriptors

    def acquire(self) -> int | None:
        """A free slot, now held by this process; None when all `count` are in use (by any process)."""
        with self._lock:
            for number, descriptor in enumerate(self._open()):
                if number in self._held:
                    continue
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                self._held.add(number)
                return number
        return None

    def release(self, number: int) -> None:
        """Give the slot back, marking the variant used now (harmless twice)."""
        with self._lock:
            if number not in self._held:
                return
            descriptor = self._descriptors[number]
            os.utime(descriptor)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            self._held.discard(number)

    def take_all(self) -> bool:
        """Every slot, or none: True when nothing is in flight anywhere and this process now holds them all."""
        taken = []
        while (number := self.acquire()) is not None:
            taken.append(number)
        if len(taken) == self.count:
            return True
        self._give_back(taken)
        return False

    def release_all(self) -> None:
        self._give_back(list(self._held))

    def _give_back(self, numbers: list[int]) -> None:
        with self._lock:
            for number in numbers:
                fcntl.flock(self._descriptors[number], fcntl.LOCK_UN)
                self._held.discard(number)

    def last_used(self) -> float:
        """When an invocation last finished (or the slots were made): the newest slot file's time."""
        return max(os.fstat(descriptor).st_mtime for descriptor in self._open())

    def close(self) -> None:
        with self._lock:
            for descriptor in self._descriptors:
                os.close(descriptor)
            self._descriptors, self._held = [], set()
