"""Keep an endpoint's containers after a run and adopt them in the next one (opt-in: `reuse=True`).

A kept group (the containers of one endpoint start) is adopted only when all of these hold:
- its key matches: a hash of the endpoint (name, mode) and of each container's hostname, image *id*, model
  artifacts (every file's name, size and modification time), environment and port;
- its scope matches: this user and the definition's source (file path), so another project's endpoint of the
  same name is never taken by accident;
- nobody holds it: the process using a group holds an flock on the group's lock file, which the kernel
  releases when that process ends however it ends, so two live runs never share containers;
- every container is running from the same image id and answers /ping.
Kept groups of the same endpoint and scope that nobody holds and that do not match (the definition, an
image or an artifact changed, or a container died) are removed. `sagemaker-emulator prune` removes them all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from emulator.containers import labels as L
from emulator.artifacts import cache_dir
from emulator.containers.docker_backend import ContainerInfo, DockerBackend

KEY_VERSION = 1  # bump when what the key covers changes


@dataclass(frozen=True)
class Planned:
    """What one container is started from: everything the key covers."""
    hostname: str
    image_id: str
    model_folder: Path | None
    environment: dict[str, str]
    port: int


def scope(source: str) -> str:
    """Whose containers these are: this user, and the definition they came from."""
    where = str(Path(source).resolve()) if source and not source.startswith("<") else source
    return hashlib.sha256(f"{os.getuid()}|{where}".encode()).hexdigest()[:16]


def key(endpoint: str, mode: str, containers: Iterable[Planned]) -> str:
    described = [{"hostname": c.hostname, "image": c.image_id, "model": _fingerprint(c.model_folder),
                  "environment": c.environment, "port": c.port} for c in containers]
    text = json.dumps({"version": KEY_VERSION, "endpoint": endpoint, "mode": mode, "containers": described},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def labels(scope_: str, key_: str, group: str) -> dict[str, str]:
    return {L.REUSE_SCOPE: scope_, L.REUSE_KEY: key_, L.REUSE_GROUP: group}


class Claim:
    """The right to use one kept group: an flock held for as long as this process uses it."""

    def __init__(self, group: str, descriptor: int):
        self.group, self._descriptor = group, descriptor

    @classmethod
    def take(cls, group: str) -> "Claim | None":
        """None when another living process holds the group."""
        folder = cache_dir() / "reuse"
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / f"{group}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        return cls(group, descriptor)

    def release(self, forget: bool = False) -> None:
        """`forget`: the group is gone, its lock file too."""
        if self._descriptor < 0:
            return
        if forget:
            (cache_dir() / "reuse" / f"{self.group}.lock").unlink(missing_ok=True)
        os.close(self._descriptor)
        self._descriptor = -1


def kept_groups(backend: DockerBackend, scope_: str, endpoint: str) -> dict[str, list[ContainerInfo]]:
    """This scope's kept containers of `endpoint`, by group."""
    groups: dict[str, list[ContainerInfo]] = {}
    for container in backend.list_managed(**{L.REUSE_SCOPE: scope_, L.ENDPOINT: endpoint}):
        groups.setdefault(container.labels.get(L.REUSE_GROUP, ""), []).append(container)
    return groups


def _fingerprint(folder: Path | None) -> str | None:
    """Every file's relative name, size and modification time: a changed artifact makes another key."""
    if folder is None:
        return None
    digest = hashlib.sha256()
    for root, directories, files in os.walk(folder):
        directories.sort()
        for name in sorted(files):
            path = Path(root) / name
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]
