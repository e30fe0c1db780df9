"""An instance's vCPUs and memory, shared by the containers it runs, as on SageMaker: SageMaker sets no
per-container limits, the model's containers share the instance.

So each container group (one variant's instance) gets a parent cgroup holding the instance's limits, and Docker
starts its containers below it (`--cgroup-parent`): together they get the instance's memory and CPU time, and the
kernel kills a container (exit 137) when they ask for more memory than the instance has. This needs an engine on
this machine using the cgroupfs driver and cgroups this process may write (root, as in CI and on a Linux laptop's
engine). Elsewhere (Docker Desktop's VM, the systemd driver, rootless engines) each container gets the whole
instance as limits of its own: a container over the instance still fails, two that are only together over it
do not, and the start says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from emulator.instances import Instance

CGROUPS = Path("/sys/fs/cgroup")
ROOT = "sagemaker-emulator"
PERIOD = 100_000  # microseconds: CFS's default period; the quota is vCPUs times it


class Engine(Protocol):
    """What is asked of the Docker engine (emulator.containers.docker_backend.DockerBackend)."""
    is_local: bool  # it shares this machine's kernel (a local socket), so its cgroups are these
    cgroup_driver: str  # cgroupfs or systemd


@dataclass(frozen=True)
class Limits:
    """What a container of the group is started with: a shared parent cgroup, or limits of its own."""
    cgroup_parent: str | None = None
    memory_bytes: int | None = None
    nano_cpus: int | None = None


class InstanceLimits:
    def __init__(self, instance: Instance, name: str, engine: Engine, shared: bool = True):
        """`name`: unique for the group (its cgroup); `shared`: False to give each container the instance's limits
        of its own (kept containers outlive this process, and so would their parent cgroup)."""
        self.instance, self.name, self.engine = instance, name, engine
        self.wanted_shared = shared
        self.shared = False  # known at create()

    @property
    def memory_bytes(self) -> int:
        return int(self.instance.memory_gib * 1024 ** 3)

    def create(self) -> Limits:
        """The limits to start the group's containers with (a parent cgroup made now, when this host allows it)."""
        self.shared = (self.wanted_shared and self.engine.is_local and self.engine.cgroup_driver == "cgroupfs"
                       and _writable())
        if not self.shared:
            return Limits(memory_bytes=self.memory_bytes, nano_cpus=self.instance.vcpus * 1_000_000_000)
        parent = f"{ROOT}/{self.name}"
        if (CGROUPS / "cgroup.controllers").exists():  # cgroup v2: one hierarchy
            self._make(CGROUPS / parent)
            (CGROUPS / "cgroup.subtree_control").write_text("+memory +cpu")
            (CGROUPS / ROOT / "cgroup.subtree_control").write_text("+memory +cpu")
            (CGROUPS / parent / "memory.max").write_text(str(self.memory_bytes))
            (CGROUPS / parent / "cpu.max").write_text(f"{self.instance.vcpus * PERIOD} {PERIOD}")
        else:  # cgroup v1: a hierarchy per controller
            self._make(CGROUPS / "memory" / parent)
            (CGROUPS / "memory" / parent / "memory.limit_in_bytes").write_text(str(self.memory_bytes))
            self._make(CGROUPS / "cpu" / parent)
            (CGROUPS / "cpu" / parent / "cpu.cfs_period_us").write_text(str(PERIOD))
            (CGROUPS / "cpu" / parent / "cpu.cfs_quota_us").write_text(str(self.instance.vcpus * PERIOD))
        return Limits(cgroup_parent=f"/{parent}")

    def memory_kills(self, container_id: str) -> int | None:
        """How many of a container's processes the kernel has killed for lack of memory (a model server's worker
        dies while the container lives on); None when this host's cgroups do not say."""
        if not self.shared:
            return None
        parent = f"{ROOT}/{self.name}/{container_id}"
        v2, v1 = CGROUPS / parent / "memory.events", CGROUPS / "memory" / parent / "memory.oom_control"
        for path in (v2, v1):
            try:
                fields = dict(line.split() for line in path.read_text().splitlines())
            except OSError:
                continue
            return int(fields.get("oom_kill", 0))
        return None

    def remove(self) -> None:
        """Remove the group's parent cgroups once its containers are gone (Docker removes theirs), in every
        hierarchy Docker made one in; harmless twice."""
        if not self.shared:
            return
        for hierarchy in [CGROUPS, *(path for path in CGROUPS.iterdir() if path.is_dir())]:
            folder = hierarchy / ROOT / self.name
            if folder.is_dir():
                for child in folder.iterdir():
                    if child.is_dir():
                        _rmdir(child)
                _rmdir(folder)

    def _make(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)  # the shared root stays: other groups may be under it


def _writable() -> bool:
    probe = CGROUPS / ("cgroup.subtree_control" if (CGROUPS / "cgroup.controllers").exists() else "memory")
    return probe.exists() and os.access(probe, os.W_OK)


def _rmdir(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # gone already, or a container's still in it (Docker removes it with the container)
        pass
