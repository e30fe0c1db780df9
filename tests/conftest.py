"""Shared fixtures for the project's own tests.

Tests marked `docker` need a real engine: without one they fail, never skip, so a CI
machine without Docker cannot pass by running nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_containers"
PIPELINE = EXAMPLES / "pipeline.yaml"
ECHO_IMAGE = "sagemaker-emulator/echo:1"
ARM64_IMAGE = "sagemaker-emulator/test-arm64:1"
# Parallel runs keep a file on one worker and the serial tests for last; every run reports where its time went.
pytest_plugins = ["tests.serial_last", "tests.time_report"]
NESTED_RUNS_IN_ONE_PROCESS = "-n 0"
RUN_FOLDER = "SAGEMAKER_EMULATOR_TEST_RUN"
RUN_FOLDER_MADE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # Never the user's own state folder (~/.local/state): fixtures wider than a test get this one.
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="sagemaker-emulator-test-state-")
    # The pytest runs tests start (`sagemaker-emulator check`, pytester) read this project's addopts too: each
    # stays in one process, as the run's workers already share the machine. A run's own -n still wins.
    if NESTED_RUNS_IN_ONE_PROCESS not in os.environ.get("PYTEST_ADDOPTS", ""):
        os.environ["PYTEST_ADDOPTS"] = f"{os.environ.get('PYTEST_ADDOPTS', '')} {NESTED_RUNS_IN_ONE_PROCESS}".strip()
    # One folder for the whole run: its workers and the pytest runs its tests start (which inherit it) share it.
    if RUN_FOLDER not in os.environ:
        os.environ[RUN_FOLDER] = config.stash[RUN_FOLDER_MADE] = tempfile.mkdtemp(prefix="sagemaker-emulator-test-run-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if RUN_FOLDER_MADE in config.stash:  # the run that made it: its workers and nested runs are done
        shutil.rmtree(config.stash[RUN_FOLDER_MADE], ignore_errors=True)
        del os.environ[RUN_FOLDER]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker"):
            item.fixturenames.insert(0, "docker_engine")


@pytest.fixture(autouse=True)
def private_state_folder(tmp_path_factory, monkeypatch):
    """Each test's `serve` keeps its control-plane state in a folder of its own: the per-user default
    would let one test's endpoints come back in the next `serve` (as they should for a user)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="module")
def sm(emulator):
    """A boto3 sagemaker client of the module's `emulator` fixture (its own, or tests/control's shared one)."""
    from tests.control.conftest import clients

    return clients(emulator.url, "sagemaker")


@pytest.fixture(scope="module")
def runtime(emulator):
    """A boto3 sagemaker-runtime client of the module's `emulator` fixture."""
    from tests.control.conftest import clients

    return clients(emulator.url, "sagemaker-runtime")


@pytest.fixture(scope="session")
def docker_engine():
    from emulator.containers.docker_backend import DockerBackend
    from emulator.errors import DockerUnavailable

    try:
        return DockerBackend().client
    except DockerUnavailable as exc:
        pytest.fail(f"this test needs a Docker engine: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def example_images(docker_engine) -> Path:
    """Builds the example images and artifacts once per run: the first worker that needs them builds (quick when
    they are up to date: a few seconds of hashing) while the others wait, and the rest of the run, the pytest
    runs its tests start included, finds them built."""
    built = Path(os.environ[RUN_FOLDER]) / "example-images-built"
    with open(built.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            result = subprocess.run(["bash", str(EXAMPLES / "build")], capture_output=True, text=True,
                                    env={**os.environ, "PYTHON": sys.executable})
            if result.returncode:
                pytest.fail(f"example_containers/build failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
            built.touch()
    return EXAMPLES


def tar_of(members: dict[str, bytes], compression: str = "") -> bytes:
    """A tar archive of `members` (name: bytes) in memory; `compression` "gz" for a model.tar.gz."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def load_image(docker_engine, tag: str, architecture: str = "amd64", volumes: tuple[str, ...] = (),
               user: str = "", files: dict[str, bytes] | None = None) -> str:
    """A small image made offline and loaded (`docker load` of an archive whose config says `architecture`, declares
    `volumes` and runs as `user`; `files` besides its `serve`): for what the contract suite and the architecture check
    read, not to run. Loading the same bytes again is harmless, so parallel workers share it, and it is kept
    afterwards as the example images are."""
    layer = tar_of({"serve": b"#!/bin/sh\nexec true\n", **(files or {})})
    config = json.dumps({"architecture": architecture, "os": "linux",
                         "config": {"Cmd": ["/serve"], "Volumes": {volume: {} for volume in volumes} or None,
                                    **({"User": user} if user else {})},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]}}).encode()
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": ["layer/layer.tar"]}]).encode()
    docker_engine.images.load(tar_of({"manifest.json": manifest, config_name: config, "layer/layer.tar": layer}))
    return tag


@pytest.fixture(scope="session")
def arm64_image(docker_engine) -> str:
    """An arm64 image (it need not run here)."""
    image = load_image(docker_engine, ARM64_IMAGE, architecture="arm64")
    assert docker_engine.images.get(image).attrs["Architecture"] == "arm64"
    return image


@pytest.hookimpl(trylast=True)  # after pytest has torn down the session-scoped fixtures
def pytest_sessionfinish(session: pytest.Session) -> None:
    """No container of this test run may outlive it: a leftover fails the run, naming the containers.
    Each xdist worker checks its own (its session label) and hands the names to the main process."""
    config = session.config
    if hasattr(config, "workerinput"):
        config.workeroutput["left_behind"] = left_behind()
        return
    left = left_behind() + config.stash.get(WORKERS_LEFT_BEHIND, [])
    if left:
        print(f"\nleft behind by this test run: {', '.join(left)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


WORKERS_LEFT_BEHIND = pytest.StashKey[list]()


def pytest_testnodedown(node, error) -> None:
    """An xdist worker has finished: the main process keeps what it left behind."""
    left = getattr(node, "workeroutput", {}).get("left_behind", [])
    node.config.stash.setdefault(WORKERS_LEFT_BEHIND, []).extend(left)


def left_behind() -> list[str]:
    """The names of this process's containers that still exist."""
    from emulator.containers import labels
    from emulator.containers.docker_backend import DockerBackend
    from emulator.errors import DockerUnavailable

    try:
        return [c.name for c in DockerBackend().list_managed(**{labels.SESSION: labels.session_id()})]
    except DockerUnavailable:
        return []  # the docker-marked tests have failed already
