"""Another language's AWS SDK, unchanged: the AWS SDK for JavaScript v3 (@aws-sdk/client-sagemaker,
-sagemaker-runtime and -s3, tests/js) against a served emulator with real containers, in only the environment
`serve` prints. Each scenario of tests/js/sdk.mjs runs in `node`: create, the InService waiter and invoke for
one container and for the example pipeline, response streaming, async inference, typed errors, a paginator,
and delete with its waiter. `npm ci` in tests/js installs the SDK (done here when node_modules is missing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from emulator.api import Emulator
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.docker
JS = ROOT / "tests" / "js"
SCENARIO_TIMEOUT = 900


@pytest.fixture(scope="module")
def node() -> str:
    """`node`, with the SDK installed from package-lock.json."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("this test needs Node.js 18 or later and npm on the PATH", pytrace=False)
    if not (JS / "node_modules" / "@aws-sdk" / "client-sagemaker").is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True,
                              timeout=600)
        if done.returncode:
            pytest.fail(f"npm ci in tests/js failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return node


@pytest.fixture(scope="module")
def emulator(example_images) -> Iterator[Emulator]:
    with Emulator() as running:  # SageMaker's startup limit: the example pipeline boots slowly on a busy machine
        running.serve()
        yield running


def scenario(node: str, emulator: Emulator, name: str, *arguments: str) -> dict:
    """Run one scenario of tests/js/sdk.mjs; its RESULT line as a dict."""
    unique = f"js-{name}-{uuid.uuid4().hex[:6]}"
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **emulator.environment()}
    done = subprocess.run([node, str(JS / "sdk.mjs"), name, unique, *arguments], cwd=JS, env=environment,
                          capture_output=True, text=True, timeout=SCENARIO_TIMEOUT)
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and results, f"the JavaScript SDK's {name} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    assert emulator.boto3_client("sagemaker").list_endpoints(NameContains=unique)["Endpoints"] == []  # deleted
    return json.loads(results[-1][len("RESULT "):])


def test_one_container_is_created_waited_for_invoked_and_deleted(node, emulator):
    result = scenario(node, emulator, "single")
    assert result["state"] == "SUCCESS" and result["status"] == "InService"  # waitUntilEndpointInService
    answer = result["answer"]
    assert answer.pop("requestId")  # the x-amzn-RequestId every AWS answer carries, read into $metadata
    assert answer == {"body": '{"island": "Biscoe"}', "contentType": "application/json", "variant": "AllTraffic"}
    assert result["deleted"] == "SUCCESS"  # waitUntilEndpointDeleted


def test_the_example_pipeline_answers_through_both_containers(node, emulator):
    result = scenario(node, emulator, "pipeline", str(EXAMPLES / "artifacts"))  # model data put with client-s3
    assert result["state"] == "SUCCESS"
    assert result["answer"]["body"].strip() == "Gentoo"
    assert result["deleted"] == "SUCCESS"


def test_a_streamed_answer_arrives_part_by_part(node, emulator):
    result = scenario(node, emulator, "streaming")
    parts = result["parts"]
    assert "".join(part["text"] for part in parts) == "the penguins of Biscoe island"
    assert len(parts) == 5  # one PayloadPart per word the container sent
    assert parts[0]["at"] < parts[-1]["at"] / 2  # the first came long before the last (a ratio, not a time)
    assert (result["contentType"], result["variant"]) == ("text/plain", "AllTraffic")


def test_an_async_invocation_answers_202_and_writes_its_output_to_s3(node, emulator):
    result = scenario(node, emulator, "asynchronous")
    assert result["status"] == 202
    assert result["outputLocation"].endswith(f"/out/{result['inferenceId']}.out")
    assert result["body"] == '{"island": "Dream"}'


def test_errors_arrive_as_the_sdks_typed_exceptions(node, emulator):
    result = scenario(node, emulator, "errors")
    model = result["model"]
    assert (model["name"], model["status"], model["originalStatusCode"]) == ("ModelError", 424, 500)
    assert model["logStreamArn"].startswith("arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/")
    validation = result["validation"]
    assert (validation["name"], validation["status"]) == ("ValidationError", 400)
    assert "not found" in validation["message"]
    assert (result["control"]["name"], result["control"]["status"]) == ("ValidationException", 400)


def test_the_paginator_walks_every_page(node, emulator):
    result = scenario(node, emulator, "paginator")
    assert [len(page) for page in result["pages"]] == [1, 1, 1]
    assert [page[0][-1] for page in result["pages"]] == ["a", "b", "c"]
