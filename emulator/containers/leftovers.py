"""Find and remove what earlier runs left behind (a killed process cannot clean up after itself)."""

from __future__ import annotations

from emulator.containers import labels as L
from emulator.containers.docker_backend import ContainerInfo, DockerBackend
from emulator.containers.reuse import Claim


def remove_dead_runs(backend: DockerBackend) -> list[str]:
    """Remove containers whose owning process on this host has died, except those kept for reuse
    (emulator.containers.reuse: the next run adopts or replaces them); returns their names."""
    removed = []
    for container in backend.list_managed():
        if L.owner_is_gone(container.labels) and L.REUSE_KEY not in container.labels:
            backend.remove(container.id, timeout=2)
            removed.append(container.name)
    return removed


def prune(backend: DockerBackend, *, everything: bool = False) -> tuple[list[str], list[str]]:
    """Remove the emulator's containers that no living process uses (as `docker container prune` spares
    what runs): those of dead owners, kept ones nobody holds. `everything`: also those of running
    emulators. Returns (removed, in use): the names removed that were in use are in both lists."""
    removed, used = [], []
    for container in backend.list_managed():
        busy = in_use(container)
        named = f"{container.name} (state: {L.state_of(container.labels)})"
        if busy:
            used.append(named)
        if everything or not busy:
            backend.remove(container.id, timeout=2)
            removed.append(named)
    return removed, used


def in_use(container: ContainerInfo) -> bool:
    """Its owner lives (or is on another host, not ours to judge), or a live run holds its kept group."""
    if not L.owner_is_gone(container.labels):
        return True
    group = container.labels.get(L.REUSE_GROUP)
    if group is None:
        return False
    claim = Claim.take(group)
    if claim is None:
        return True
    claim.release()
    return False

