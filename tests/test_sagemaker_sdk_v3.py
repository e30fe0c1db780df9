"""The SageMaker Python SDK v3, unchanged, against a served emulator with the example pipeline's real
containers: sagemaker-core's Model, EndpointConfig and Endpoint, and ModelBuilder in SAGEMAKER_ENDPOINT mode
(its role check calls IAM: SimulatePrincipalPolicy and GetRole; given no role, STS GetCallerIdentity first),
one container and a two-container pipeline.

The SDK v3 cannot be installed beside the v2 the other tests use, so it lives in its own virtualenv
(tests/sdk3/venv.py, in the user's cache) and each flow runs there in a subprocess (tests/sdk3/flows.py), in the
environment `serve` prints and nothing else: no SAGEMAKER_VALIDATE_ROLE, no credentials of the machine's.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.sdk3 import venv

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SDK3 = ROOT / "tests" / "sdk3"
BUCKET = "sdk-v3"
FLOW_TIMEOUT = 600


@pytest.fixture(scope="module")
def sdk3_python() -> Path:
    """The SDK v3's interpreter (tests/sdk3/venv.py), its virtualenv made here when missing."""
    try:
        return venv.ensure()
    except RuntimeError as failure:
        pytest.fail(str(failure), pytrace=False)


@pytest.fixture(scope="module")
def emulator(example_images):
    from emulator.api import Emulator

    with Emulator() as running:
        running.serve()
        yield running


@pytest.fixture(scope="module")
def model_data(emulator) -> tuple[str, str]:
    """The example preprocessor's and model's artifacts, in the embedded S3."""
    s3 = emulator.boto3_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    urls = []
    for part in ("preprocessor", "model"):
        s3.upload_file(str(EXAMPLES / "artifacts" / part / "model.tar.gz"), BUCKET, f"{part}/model.tar.gz")
        urls.append(f"s3://{BUCKET}/{part}/model.tar.gz")
    return urls[0], urls[1]


def run_flow(sdk3_python: Path, emulator, model_data: tuple[str, str], flow: str, shape: str, home: Path) -> dict:
    """Run one flow of tests/sdk3/flows.py; its RESULT line as a dict."""
    name = f"v3-{flow}-{shape}-{uuid.uuid4().hex[:6]}"
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), **emulator.environment()}
    done = subprocess.run([str(sdk3_python), str(SDK3 / "flows.py"), flow, name, shape, *model_data], cwd=home,
                          env=environment, capture_output=True, text=True, timeout=FLOW_TIMEOUT)
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and results, f"the SDK v3 flow failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    sm = emulator.boto3_client("sagemaker")
    assert sm.list_endpoints(NameContains=name)["Endpoints"] == []  # the flow deleted what it made
    assert sm.list_models(NameContains=name)["Models"] == []
    return json.loads(results[-1][len("RESULT "):])


@pytest.mark.parametrize("flow", ["core", "builder"])
def test_one_container_deploys_answers_and_deletes(sdk3_python, emulator, model_data, flow, tmp_path):
    result = run_flow(sdk3_python, emulator, model_data, flow, "single", tmp_path)
    features = result["answer"].strip().split(",")
    assert len(features) > 4 and all(float(value) == float(value) for value in features)  # the scaled features
    assert result["variant"] == "AllTraffic"
    if flow == "builder":  # given no role, the SDK took the caller's (STS), which IAM has and allows
        assert result["role"] == "arn:aws:iam::123456789012:role/sagemaker-emulator"


@pytest.mark.parametrize("flow", ["core", "builder"])
def test_a_two_container_pipeline_deploys_answers_and_deletes(sdk3_python, emulator, model_data, flow, tmp_path):
    result = run_flow(sdk3_python, emulator, model_data, flow, "pipeline", tmp_path)
    assert result["answer"].strip() == "Gentoo"  # preprocessor, then model: the real Serial chain
    if flow == "builder":
        assert result["containers"] == 2  # ModelBuilder(model=[two Models]) built one pipeline model


def test_an_inference_component_is_created_invoked_by_name_and_deleted(sdk3_python, emulator, model_data, tmp_path):
    """sagemaker-core's InferenceComponent.create, wait_for_status and Endpoint.invoke(inference_component_name=...)."""
    result = run_flow(sdk3_python, emulator, model_data, "component", "single", tmp_path)
    features = result["answer"].strip().split(",")
    assert len(features) > 4 and all(float(value) == float(value) for value in features)  # the scaled features
    assert (result["variant"], result["copies"]) == ("AllTraffic", 2)
