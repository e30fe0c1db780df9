"""Podman for the tests: the CLI, images moved over from Docker, and what a run leaves behind."""

from __future__ import annotations

import json
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

# `podman kube play` puts pods on this network, creating it the first time: Podman's own, like Docker's bridge.
KUBE_NETWORK = "podman-default-kube-network"


def podman(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode:
        raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def require_podman() -> None:
    """Fail (never skip) without Podman: CI installs it with scripts/ensure-podman."""
    if shutil.which("podman") is None:
        pytest.fail("this test needs Podman: run scripts/ensure-podman (as root on Debian: apt-get install podman "
                    "catatonit).", pytrace=False)


def load_from_docker(images: list[str]) -> None:
    """`docker save | podman load` for each image Podman lacks or holds in another version (same ID = same image)."""
    stale = [image for image in images if _docker_id(image) != _podman_id(image)]
    if stale:
        save = subprocess.Popen(["docker", "save", *stale], stdout=subprocess.PIPE)
        loaded = subprocess.run(["podman", "load", "-q"], stdin=save.stdout, capture_output=True, text=True)
        save.stdout.close()
        assert save.wait() == 0 and loaded.returncode == 0, f"docker save | podman load failed: {loaded.stderr}"


def _docker_id(image: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", image], capture_output=True, text=True,
                          check=True).stdout.strip().removeprefix("sha256:")


def _podman_id(image: str) -> str | None:
    result = podman("image", "inspect", "--format", "{{.Id}}", image, check=False)
    return result.stdout.strip() or None


def objects() -> dict[str, set[str]]:
    """Every pod, container, volume and network Podman holds, by name."""
    listing = {"pods": ["pod", "ps", "--format", "{{.Name}}"], "containers": ["ps", "-a", "--format", "{{.Names}}"],
               "volumes": ["volume", "ls", "--format", "{{.Name}}"], "networks": ["network", "ls", "--format", "{{.Name}}"]}
    found = {kind: set(podman(*args).stdout.split()) for kind, args in listing.items()}
    found["networks"].discard(KUBE_NETWORK)
    return found


@contextmanager
def kube_played(manifest: Path) -> Iterator[None]:
    """`podman kube play FILE`, then `podman kube down FILE`, which must leave nothing behind."""
    before = objects()
    try:
        podman("kube", "play", str(manifest))
        yield
    finally:
        podman("kube", "down", str(manifest))
        left = {kind: sorted(names - before[kind]) for kind, names in objects().items() if names - before[kind]}
        assert not left, f"podman kube down left behind: {json.dumps(left)}"
