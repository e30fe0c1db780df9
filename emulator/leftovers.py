"""Find and remove what earlier runs left behind (a killed process cannot clean up after itself)."""

from __future__ import annotations

from emulator import labels as L
from emulator.docker_backend import DockerBackend


def remove_dead_runs(backend: DockerBackend) -> list[str]:
    """Remove containers whose owning process on this host has died, except those kept for reuse
    (emulator.reuse: the next run adopts or replaces them); returns their names."""
    return _remove(backend, only_dead=True)


def prune(backend: DockerBackend) -> list[str]:
    """Remove every container the emulator ever started on this engine, and nothing else."""
    return _remove(backend, only_dead=False)


def _remove(backend: DockerBackend, *, only_dead: bool) -> list[str]:
    removed = []
    for container in backend.list_managed():
        if not only_dead or (L.owner_is_gone(container.labels) and L.REUSE_KEY not in container.labels):
            backend.remove(container.id, timeout=2)
            removed.append(container.name)
    return removed
