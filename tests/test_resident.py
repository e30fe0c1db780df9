"""Reruns with reuse, as users run them: real pytest runs in a pytester sandbox attach to the resident
emulator the first run left serving (emulator.resident), with real containers and real boto3."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from emulator.hosting import resident
from emulator.errors import StartupError
from tests.conftest import ECHO_IMAGE, PIPELINE
from tests.test_pytest_plugin import ours

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.docker

USER_TEST = '''
import pytest

def test_boto3(sagemaker_pipeline):
    answer = sagemaker_pipeline.boto3_client().invoke_endpoint(EndpointName="echo-resident", ContentType="text/plain",
                                                               Body=b"from boto3")
    assert answer["Body"].read() == b"from boto3"

def test_in_process(sagemaker_pipeline):
    result = sagemaker_pipeline["echo-resident"].invoke(b"in process", content_type="text/plain")
    assert result.body == b"in process"
    assert [hop.container for hop in result.hops] == ["first", "second"]
'''


def write_definition(pytester: pytest.Pytester, environment: str = "one") -> None:
    pytester.makefile(".yaml", echo=f"""Endpoints:
  echo-resident:
    Containers:
      - {{ContainerHostname: first, Image: {ECHO_IMAGE}, Environment: {{VERSION: {environment}}}}}
      - {{ContainerHostname: second, Image: {ECHO_IMAGE}}}
""")


@pytest.fixture
def project(pytester: pytest.Pytester, example_images, monkeypatch):
    """A user's project with reuse on, under a session label of its own; its resident and containers are
    gone at the end."""
    session = f"resident-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SAGEMAKER_EMULATOR_SESSION", session)
    # pytester gives its runs a home folder of their own: name the cache, so this process finds their residents.
    monkeypatch.setenv("SAGEMAKER_EMULATOR_CACHE", str(pytester.path / "cache"))
    write_definition(pytester)
    pytester.makeini("[pytest]\nsagemaker_pipeline = echo.yaml\nsagemaker_reuse = true\n")
    pytester.makepyfile(test_user=USER_TEST)
    pytester.session = session
    yield pytester
    for folder in residents(pytester):
        resident.stop(folder)
    subprocess.run(["docker", "rm", "-f", *ours(session)], capture_output=True, check=False)


def residents(pytester: pytest.Pytester) -> list[Path]:
    return resident.folders_of(pytester.path / "echo.yaml")


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--durations=0", "--durations-min=0")


def resident_pid(pytester: pytest.Pytester) -> int:
    (folder,) = residents(pytester)
    return resident.ask(folder, "attach")["pid"]


def test_a_rerun_attaches_to_the_resident_emulator(project):
    run(project).assert_outcomes(passed=2)
    kept, pid = ours(project.session), resident_pid(project)
    assert len(kept) == 2

    second = run(project)
    second.assert_outcomes(passed=2)
    assert ours(project.session) == kept and resident_pid(project) == pid  # nothing started again
    (folder,) = residents(project)
    answer = resident.ask(folder, "attach")
    # Both runs' requests, boto3's through the front and the in-process ones, are in the resident's request log.
    records = requests.get(answer["url"] + "/_emulator/invocations", timeout=10).json()["invocations"]
    assert [r["source"] for r in records].count("api") == 2, records
    assert len(records) == 4


def test_a_changed_definition_starts_a_new_resident(project):
    run(project).assert_outcomes(passed=2)
    first, pid = ours(project.session), resident_pid(project)

    write_definition(project, environment="two")
    run(project).assert_outcomes(passed=2)
    assert resident_pid(project) != pid
    now = ours(project.session)
    assert len(now) == 2 and not set(now) & set(first)  # the changed endpoint's containers were replaced


def test_a_second_live_run_starts_its_own_containers(project):
    run(project).assert_outcomes(passed=2)
    kept = ours(project.session)
    holder = resident.attach(project.path / "echo.yaml", {"startup_timeout": None, "docker_host": None})
    try:
        assert holder is not None
        assert holder.environment()["AWS_ENDPOINT_URL"] == holder.url
        listed = holder.boto3_client("sagemaker").list_endpoints()["Endpoints"]
        assert [endpoint["EndpointName"] for endpoint in listed] == ["echo-resident"]
        run(project).assert_outcomes(passed=2)  # the resident is held: this run starts containers of its own
        assert set(kept) <= set(ours(project.session)) and resident_pid(project) == holder.pid
    finally:
        holder.stop()


def test_prune_stops_residents_nobody_holds(project):
    run(project).assert_outcomes(passed=2)
    (folder,) = residents(project)
    pid = resident_pid(project)

    pruned = subprocess.run([sys.executable, "-m", "emulator.cli", "prune"], capture_output=True, text=True, check=True)
    assert "stopped 1 resident emulator" in pruned.stdout
    assert ours(project.session) == [] and not folder.exists() and not resident.alive(pid)


def test_an_idle_resident_stops_and_removes_its_containers(project, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_EMULATOR_RESIDENT_IDLE", "3")
    run(project).assert_outcomes(passed=2)
    (folder,) = residents(project)
    pid = resident_pid(project)
    deadline = time.monotonic() + 60
    while (resident.alive(pid) or ours(project.session)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not resident.alive(pid) and ours(project.session) == []
    assert "idle for 3 s: stopping and removing the containers" in (folder / "output.log").read_text()


def test_a_resident_that_cannot_start_fails_the_run_with_its_reason(project, example_images):
    project.makefile(".yaml", echo="""Endpoints:
  echo-resident:
    Containers:
      - {ContainerHostname: first, Image: sagemaker-emulator/broken-crash-at-start:1}
""")
    result = run(project)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*StartupError: Endpoint echo-resident failed to start*",
                                 "*first (sagemaker-emulator/broken-crash-at-start:1) exited with code 3*"])
    deadline = time.monotonic() + 30
    while ours(project.session) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ours(project.session) == []
    assert all(resident.ask(folder, "ping") is None for folder in residents(project))


def test_an_option_the_emulator_does_not_take_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_EMULATOR_CACHE", str(tmp_path))
    with pytest.raises(StartupError, match=r"unexpected keyword argument 'bogus'.*Fix: pass only Emulator's keyword"):
        resident.attach(PIPELINE, {"bogus": 1})
