"""The package as users get it: `python -m build` makes an sdist and a wheel that `twine check` accepts; the
wheel, installed into an empty virtualenv outside the checkout, serves a definition of the echo image, invokes
it with --trace, shows the web page, checks an image against the container contract, and runs the pytest plugin.
Nothing here imports the checkout: every command runs from the virtualenv, in a folder of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ECHO_IMAGE, ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]
DEFINITION = f"Endpoints:\n  echo:\n    PrimaryContainer:\n      Image: {ECHO_IMAGE}\n"
USER_TEST = '''
import pytest


@pytest.mark.sagemaker_pipeline("echo.yaml")
def test_the_echo_answers(sagemaker_pipeline):
    answer = sagemaker_pipeline.boto3_client().invoke_endpoint(EndpointName="echo", ContentType="text/csv",
                                                               Body=b"1,2,3")
    assert answer["Body"].read() == b"1,2,3"
    assert [hop.container for hop in sagemaker_pipeline["echo"].invoke(b"4,5", content_type="text/csv").hops] == ["primary"]
'''


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=outside_env(), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def outside_env() -> dict[str, str]:
    """This process's environment without anything that would let the checkout be imported, nor the options this
    project's own test run gives the pytest runs it starts (-n: the virtualenv has no xdist, as a user's need not)."""
    return {name: value for name, value in os.environ.items()
            if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and the wheel, built from the checkout by `python -m build`."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """An empty virtualenv outside the checkout with only the wheel (and what it requires) installed."""
    folder = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", folder, cwd=folder)
    (wheel,) = dist.glob("*.whl")
    run(folder / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=folder)
    return folder


@pytest.fixture
def home(tmp_path) -> Path:
    """A user's project folder, outside the checkout: the echo definition and a row to send."""
    (tmp_path / "echo.yaml").write_text(DEFINITION)
    (tmp_path / "row.csv").write_text("1,2,3\n")
    return tmp_path


@pytest.fixture
def served(venv, home, example_images) -> Iterator[str]:
    """`sagemaker-emulator serve echo.yaml` from the virtualenv, stopped with SIGTERM (removing its container)."""
    process = subprocess.Popen([venv / "bin" / "sagemaker-emulator", "serve", "echo.yaml", "--port", "0",
                                "--state", home / "state"], cwd=home, env=outside_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    while line and "Serving on" not in line:
        line = process.stdout.readline()
    try:
        assert "Serving on" in line, f"serve did not start: {process.stderr.read() if process.poll() is not None else ''}"
        yield line.split("Serving on", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def test_the_sdist_and_the_wheel_pass_twine_check(dist):
    assert sorted(path.suffix for path in dist.iterdir()) == [".gz", ".whl"]
    run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()), cwd=dist)


def test_the_installed_package_is_the_wheels(venv, home):
    where = run(venv / "bin" / "python", "-c", "import emulator, contract_tests; print(emulator.__file__)", cwd=home)
    assert where.stdout.strip().startswith(str(venv)), where.stdout


def test_the_wheel_serves_invokes_with_trace_and_shows_the_page(venv, home, served):
    invoked = run(venv / "bin" / "sagemaker-emulator", "invoke", "echo", "row.csv", "--url", served,
                  "--content-type", "text/csv", "--trace", cwd=home, timeout=120)
    assert invoked.stdout.strip() == "1,2,3"
    assert "primary" in invoked.stderr and "200" in invoked.stderr  # the trace's one hop
    with urllib.request.urlopen(f"{served}/_emulator/", timeout=30) as page:
        html = page.read().decode()
    assert "sagemaker-emulator" in html
    for asset in ("static/app.js", "static/style.css"):  # the page's files came with the wheel
        assert asset in html
        with urllib.request.urlopen(f"{served}/_emulator/{asset}", timeout=30) as answer:
            assert answer.status == 200 and answer.read()


def test_the_wheel_checks_an_image_against_the_container_contract(venv, home, example_images):
    checked = run(venv / "bin" / "sagemaker-emulator", "check", ECHO_IMAGE, "--sample", "row.csv:text/csv", cwd=home)
    assert " passed" in checked.stdout and " failed" not in checked.stdout


def test_the_wheels_pytest_plugin_runs_a_users_test(venv, home, example_images):
    (home / "test_mine.py").write_text(USER_TEST)
    tested = run(venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py", cwd=home)
    assert "1 passed" in tested.stdout
