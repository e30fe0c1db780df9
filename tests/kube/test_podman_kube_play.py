"""`export kubernetes` checked by a real consumer: the manifests run under `podman kube play` and the pod
answers exactly as the emulator does, the same bodies and the same hops, for a Serial and a Direct pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from emulator import Emulator
from emulator.containers.docker_backend import free_port
from tests.conftest import EXAMPLES, PIPELINE
from tests.kube import k8s_schema
from tests.kube.podman import kube_played, load_from_docker, require_podman
from tests.reliability.support import client

pytestmark = [pytest.mark.docker, pytest.mark.podman, pytest.mark.slow]
DIRECT = EXAMPLES / "direct.yaml"
ROWS = (EXAMPLES / "artifacts/data/penguins-features.csv")
READY_TIMEOUT = 240
# What a hop says about the call, not how long it took.
HOP_FIELDS = ("container", "content_type_in", "accept_in", "bytes_in", "status", "content_type_out", "bytes_out", "warning")


@pytest.fixture(scope="module")
def podman_images(example_images) -> None:
    require_podman()
    load_from_docker(["sagemaker-emulator/router:1", "sagemaker-emulator/example-preprocessor:1",
                      "sagemaker-emulator/example-model:1", "sagemaker-emulator/echo:1"])


def export(definition: Path, tmp_path: Path) -> tuple[Path, str]:
    """The definition exported with its router published on a free port; the manifest checked against the schema."""
    port = free_port()
    manifest = tmp_path / f"{definition.stem}.yaml"
    subprocess.run([sys.executable, "-m", "emulator.cli", "export", "kubernetes", str(definition), "--host-port",
                    str(port), "-o", str(manifest)], check=True, capture_output=True)
    for document in yaml.safe_load_all(manifest.read_text()):
        k8s_schema.check(document)
    return manifest, f"http://127.0.0.1:{port}"


def wait_ready(url: str, endpoint: str) -> None:
    """As Kubernetes waits for the router's readiness probe: every container answers /ping."""
    pool = urllib3.PoolManager(retries=False)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if pool.request("GET", f"{url}/_emulator/endpoints/{endpoint}/health", timeout=2).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the pod of {endpoint} was not ready within {READY_TIMEOUT} s")


def answers(url: str, endpoint: str, calls: list[dict[str, Any]]) -> list[tuple[bytes, str, list[dict]]]:
    """Each call through boto3: the body, its content type, and the hops of X-Emulator-Trace."""
    runtime = client(url)
    results = []
    for call in calls:
        answer = runtime.invoke_endpoint(EndpointName=endpoint, **call)
        hops = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
        results.append((answer["Body"].read(), answer["ContentType"],
                        [{key: hop[key] for key in HOP_FIELDS} for hop in hops]))
    return results


def test_serial_pipeline_answers_in_the_pod_as_in_the_emulator(podman_images, tmp_path):
    rows = ROWS.read_text().splitlines()[::17]  # 21 penguins, of each species and island, some with NA
    calls = [{"Body": row.encode(), "ContentType": "text/csv", "Accept": accept}
             for row in rows for accept in ("text/csv", "application/json")]
    manifest, pod_url = export(PIPELINE, tmp_path)
    with kube_played(manifest), Emulator(PIPELINE) as emulator:  # both boot at once
        expected = answers(emulator.serve(), "penguins", calls)
        wait_ready(pod_url, "penguins")
        assert answers(pod_url, "penguins", calls) == expected
    assert {body.strip() for body, content_type, _ in expected if content_type.startswith("text/csv")} == {
        b"Adelie", b"Chinstrap", b"Gentoo"}


def test_direct_pipeline_answers_in_the_pod_as_in_the_emulator(podman_images, tmp_path):
    calls = [{"Body": f"request {i}".encode(), "ContentType": "text/plain", "TargetContainerHostname": target,
              "CustomAttributes": f"call-{i}"} for i, target in enumerate(["alpha", "beta", "beta", "alpha"])]
    manifest, pod_url = export(DIRECT, tmp_path)
    with kube_played(manifest), Emulator(DIRECT) as emulator:
        expected = answers(emulator.serve(), "echoes", calls)
        wait_ready(pod_url, "echoes")
        assert answers(pod_url, "echoes", calls) == expected
    assert [hops[0]["container"] for _, _, hops in expected] == ["alpha", "beta", "beta", "alpha"]
