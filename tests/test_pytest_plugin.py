"""The pytest plugin, tested as users run it: real test files in a pytester sandbox, real containers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from emulator.containers import labels
from tests.conftest import ECHO_IMAGE, EXAMPLES, PIPELINE

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.docker

USER_TEST = f'''
import pytest

@pytest.mark.sagemaker_pipeline({str(PIPELINE)!r})
def test_gentoo(sagemaker_pipeline):
    client = sagemaker_pipeline.boto3_client()
    answer = client.invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Accept="text/csv",
                                    Body=b"Biscoe,50.0,15.2,218,5700,male")
    assert answer["Body"].read().strip() == b"Gentoo"

@pytest.mark.sagemaker_pipeline({str(PIPELINE)!r})
def test_same_endpoint_is_reused(sagemaker_pipeline):
    assert sagemaker_pipeline["penguins"].invoke(b"Dream,46.5,17.9,192,3500,female", content_type="text/csv",
                                                  accept="text/csv").body.strip() == b"Chinstrap"
'''


def ours(session: str) -> list[str]:
    found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={labels.SESSION}={session}"],
                           capture_output=True, text=True, check=True)
    return found.stdout.split()


def test_a_user_test_file_starts_the_example_pipeline(pytester, example_images):
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_option_names_the_default_definition(pytester, example_images):
    pytester.makepyfile(test_option='''
def test_it(sagemaker_pipeline):
    assert sagemaker_pipeline["penguins"].health()["model"]["healthy"]
''')
    result = pytester.runpytest_subprocess("--sagemaker-pipeline", str(PIPELINE))
    result.assert_outcomes(passed=1)


def test_without_a_definition_the_fixture_says_how_to_give_one(pytester):
    pytester.makepyfile(test_none="def test_it(sagemaker_pipeline):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--sagemaker-pipeline FILE*"])


def test_xdist_workers_run_side_by_side(pytester, example_images):
    for index in range(4):
        pytester.makepyfile(**{f"test_echo_{index}": f'''
def test_echo(sagemaker_endpoints):
    emulator = sagemaker_endpoints({{"PrimaryContainer": {{"Image": "{ECHO_IMAGE}"}}}})
    client = emulator.boto3_client()
    body = client.invoke_endpoint(EndpointName="endpoint", ContentType="text/plain", Body=b"{index}")["Body"].read()
    assert body == b"{index}"
'''})
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_an_interrupted_run_leaves_no_container(pytester, example_images):
    session = uuid.uuid4().hex[:12]
    pytester.makepyfile(test_slow=f'''
import time
def test_waits(sagemaker_endpoints):
    sagemaker_endpoints({{"PrimaryContainer": {{"Image": "{ECHO_IMAGE}"}}}})
    print("STARTED", flush=True)
    time.sleep(120)
''')
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", str(pytester.path)],
                               cwd=pytester.path, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "SAGEMAKER_EMULATOR_SESSION": session})
    for line in process.stdout:
        if "STARTED" in line:
            break
    assert len(ours(session)) == 1
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert ours(session) == []


def test_a_fixture_failing_half_way_leaves_no_container(pytester, example_images, monkeypatch):
    session = uuid.uuid4().hex[:12]
    monkeypatch.setenv("SAGEMAKER_EMULATOR_SESSION", session)
    pytester.makepyfile(test_half=f'''
import pytest
from emulator.errors import StartupError

def test_half(sagemaker_endpoints):
    with pytest.raises(StartupError):
        sagemaker_endpoints({{"Containers": [{{"Image": "{ECHO_IMAGE}"}},
                                            {{"Image": "sagemaker-emulator/broken-crash-at-start:1"}}]}})
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert ours(session) == []


def test_a_users_run_adds_the_contract_and_parity_checks_of_their_image(pytester, example_images):
    """The user's own tests and the contract suite in one run, with the plugin's options."""
    artifacts = EXAMPLES / "artifacts"
    pytester.makepyfile(test_user="def test_mine():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--pyargs", "contract_tests", "test_user.py", "-k", "test_mine or parity or label", "-p", "no:cacheprovider",
        "--sagemaker-image", "sagemaker-emulator/broken-batch-dependent-preprocessor:1",
        "--sagemaker-model-data", str(artifacts / "preprocessor/model.tar.gz"),
        "--sagemaker-parity-data", str(artifacts / "data/penguins-features.csv"))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*parity FAILS: 344 of 344 records differ*Fix: make the transform depend on each row*"])
