"""Podman as the engine: `podman system service` on a unix socket, DOCKER_HOST pointing at it, and the core
of the emulator (serve through boto3, the pytest plugin, batch transform, the contract suite, network
isolation) running as on Docker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from emulator import Emulator
from emulator.containers import labels
from emulator.hosting.batch import job_from_options, load_model, transform
from emulator.containers.docker_backend import DockerBackend
from emulator.errors import DockerUnavailable
from tests.conftest import ECHO_IMAGE, EXAMPLES, PIPELINE, ROOT
from tests.kube.podman import load_from_docker, podman, require_podman
from tests.reliability.support import client

pytestmark = [pytest.mark.docker, pytest.mark.podman, pytest.mark.slow]
ARTIFACTS = EXAMPLES / "artifacts"
FEATURES = ARTIFACTS / "data/penguins-features.csv"
SERVICE_START_TIMEOUT = 30


@pytest.fixture(scope="module")
def podman_engine(example_images, tmp_path_factory) -> Iterator[str]:
    """A Podman API service of this test run's own; no container of this run may be left in it."""
    require_podman()
    load_from_docker(["sagemaker-emulator/example-preprocessor:1", "sagemaker-emulator/example-model:1", ECHO_IMAGE])
    url = f"unix://{tmp_path_factory.mktemp('podman') / 'podman.sock'}"
    service = subprocess.Popen(["podman", "system", "service", "--time=0", url], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        backend = _answering(url, service)
        assert "Podman" in str(backend.client.version()), "the service is not Podman's"
        yield url
        left = backend.list_managed(**{labels.SESSION: labels.session_id()})
        assert not left, f"left behind in Podman: {', '.join(c.name for c in left)}"
    finally:
        service.terminate()
        service.wait(timeout=30)


def _answering(url: str, service: subprocess.Popen) -> DockerBackend:
    deadline = time.monotonic() + SERVICE_START_TIMEOUT
    while True:
        try:
            backend = DockerBackend(url)
            backend.client  # connects and pings
            return backend
        except DockerUnavailable:
            if service.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"podman system service did not answer on {url}") from None
            time.sleep(0.2)


@pytest.fixture
def on_podman(podman_engine, monkeypatch) -> str:
    """DOCKER_HOST points at Podman, for this process and the commands it starts."""
    monkeypatch.setenv("DOCKER_HOST", podman_engine)
    return podman_engine


def running_in_podman(endpoint: str) -> list[str]:
    filters = ["--filter", f"label={labels.ENDPOINT}={endpoint}", "--filter", f"label={labels.SESSION}={labels.session_id()}"]
    return podman("ps", *filters, "--format", "{{.Names}}").stdout.split()


def test_a_pipeline_serves_boto3_from_podman(on_podman):
    with Emulator(PIPELINE) as emulator:
        answer = client(emulator.serve()).invoke_endpoint(
            EndpointName="penguins", ContentType="text/csv", Accept="text/csv", Body=b"Biscoe,50.0,15.2,218,5700,male")
        assert answer["Body"].read().strip() == b"Gentoo"
        assert len(running_in_podman("penguins")) == 2
    assert running_in_podman("penguins") == []


def test_the_pytest_plugin_runs_a_users_tests_on_podman(on_podman):
    """The plugin example (docs/pytest-plugin.md), pointed at Podman with --sagemaker-docker-host."""
    environment = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}  # images come from Docker
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/examples/test_user_pipeline.py", "--sagemaker-docker-host", on_podman],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_batch_transform_runs_on_podman(on_podman, tmp_path):
    model = load_model(PIPELINE, "penguins")
    job = job_from_options(model.name, FEATURES, tmp_path / "out", content_type="text/csv", accept="text/csv",
                           split_type="Line", batch_strategy="MultiRecord", assemble_with="Line")
    report = transform(model, job, FEATURES, tmp_path / "out")
    predicted = (tmp_path / "out/penguins-features.csv.out").read_text().split()
    species = (ARTIFACTS / "data/penguins-labels.csv").read_text().split()
    assert report.records == len(predicted) == 344
    assert sum(p == s for p, s in zip(predicted, species)) / 344 > 0.95


def test_the_contract_suite_checks_an_image_on_podman(on_podman):
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "check", "sagemaker-emulator/example-preprocessor:1",
                             "--model-data", str(ARTIFACTS / "preprocessor/model.tar.gz"), "--sample", str(FEATURES)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_network_isolation_works_on_rootful_podman(on_podman):
    definition = {"ModelName": "quiet", "EnableNetworkIsolation": True, "PrimaryContainer": {"Image": ECHO_IMAGE}}
    with Emulator(definition) as emulator:
        assert emulator["quiet"].invoke(b"hello", content_type="text/plain").body == b"hello"
        (name,) = running_in_podman("quiet")
        assert podman("inspect", "--format", "{{.HostConfig.NetworkMode}}", name).stdout.strip() == "none"
