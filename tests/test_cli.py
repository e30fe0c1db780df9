"""The command line against real containers: serve, invoke --trace, ls, logs, prune, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from emulator.containers import labels
from emulator.containers.docker_backend import free_port
from tests.conftest import EXAMPLES, PIPELINE

pytestmark = pytest.mark.docker
CLI = [sys.executable, "-m", "emulator.cli"]
ROW = b"Dream,46.5,17.9,192,3500,female\n"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def served(example_images):
    """`sagemaker-emulator serve` of the example pipeline, stopped with Ctrl-C (SIGINT) at the end."""
    port = free_port()
    process = subprocess.Popen([*CLI, "serve", str(PIPELINE), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = process.stdout.readline()
    while ready and "Serving on" not in ready:
        ready = process.stdout.readline()
    assert "Serving on" in ready, process.stderr.read()
    yield process, f"http://127.0.0.1:{port}"
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def test_invoke_trace_shows_both_hops_in_order(served):
    _, url = served
    result = run("invoke", "penguins", "--url", url, "--content-type", "text/csv", "--accept", "text/csv",
                 "--trace", "--bodies", stdin=ROW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "Chinstrap"
    table = result.stderr.decode()
    assert table.index("preprocessor") < table.index("model")
    assert "received:\nDream,46.5" in table  # the first hop's request body
    assert "warning (hop 2)" in table  # the charset Flask appends, passed on verbatim


def test_invoke_reports_a_wire_error(served):
    _, url = served
    result = run("invoke", "nowhere", "--url", url, stdin=b"x")
    assert result.returncode == 1
    assert b"ValidationError (400): Endpoint nowhere of account" in result.stderr


def test_ls_and_logs_show_the_running_pipeline(served):
    process, _ = served
    listing = run("ls").stdout.decode()
    assert f"pid {process.pid}" in listing and "preprocessor" in listing
    logs = run("logs", "penguins", "--container", "model", "--tail", "5")
    assert logs.returncode == 0 and b"==> penguins/model" in logs.stdout


def test_sigint_stops_serve_and_removes_its_containers(served, docker_engine):
    process, _ = served
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert f"pid {process.pid}" not in run("ls").stdout.decode()


def test_invoke_with_a_definition_starts_and_stops_the_endpoint(example_images):
    result = run("invoke", "penguins", "--definition", str(PIPELINE), "--content-type", "text/csv",
                 "--accept", "text/csv", "--trace", stdin=ROW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "Chinstrap"


def test_a_bad_definition_is_one_paragraph_not_a_traceback(tmp_path):
    definition = tmp_path / "bad.yaml"
    definition.write_text("Containers:\n  - Image: a\n    ModelDataUrl: missing.tar.gz\n")
    result = run("serve", str(definition))
    assert result.returncode == 2
    message = result.stderr.decode()
    assert "Traceback" not in message
    assert "bad.yaml: Containers[0].ModelDataUrl" in message and "Fix:" in message


def test_a_time_scale_that_is_not_positive_is_refused_before_anything_starts():
    result = run("serve", "--time-scale", "0", "--port", "0")
    message = result.stderr.decode()
    assert result.returncode != 0 and "Traceback" not in message
    assert "--time-scale) is not a positive number. Fix:" in message


def test_a_serverless_idle_time_that_is_not_positive_is_refused_before_anything_starts():
    result = run("serve", "--serverless-idle", "-1", "--port", "0")
    message = result.stderr.decode()
    assert result.returncode != 0 and "Traceback" not in message
    assert "--serverless-idle) is not a positive number. Fix:" in message


def test_killed_run_is_cleaned_by_the_next_and_prune_removes_ours_only(example_images, docker_engine):
    other = docker_engine.containers.run("sagemaker-emulator/echo:1", ["serve"], detach=True,
                                         labels={"not-ours": "1"})
    try:
        port = free_port()
        process = subprocess.Popen([*CLI, "serve", str(EXAMPLES / "pipeline.yaml"), "--port", str(port)],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        while "Serving on" not in process.stdout.readline():
            pass
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        left_behind = {c.id for c in docker_engine.containers.list(all=True, filters={"label": f"{labels.PID}={process.pid}"})}
        assert len(left_behind) == 2  # by id from now on: another process may be given the killed one's pid
        assert "gone" in run("ls").stdout.decode()
        assert b"removed" in run("prune", "--dead-only").stdout
        assert not [c for c in docker_engine.containers.list(all=True) if c.id in left_behind]
        other.reload()
        assert other.status == "running"
    finally:
        other.remove(force=True)


def test_serve_and_check_warn_of_a_model_data_url_sagemaker_refuses(example_images, tmp_path):
    """A folder or a plain tar works locally, but SageMaker needs a gzipped tarball: both commands say so."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.txt").write_text("1")
    definition = tmp_path / "endpoints.yaml"
    definition.write_text(f"Endpoints:\n  folder-model:\n    PrimaryContainer:\n      Image: sagemaker-emulator/echo:1\n"
                          f"      ModelDataUrl: {folder}\n")
    process = subprocess.Popen([*CLI, "serve", str(definition), "--port", str(free_port())],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert first.startswith(f"warning: ModelDataUrl {folder} is a folder: the emulator mounts it, but SageMaker "
                            "needs a model.tar.gz")
    plain = tmp_path / "model.tar"
    subprocess.run(["tar", "-cf", str(plain), "-C", str(folder), "."], check=True)
    checked = run("check", "sagemaker-emulator/echo:1", "--model-data", str(plain), "-k", "no-check-has-this-name")
    assert f"warning: ModelDataUrl {plain} is not gzip-compressed" in checked.stderr.decode()


def test_transform_of_an_image_takes_its_environment_from_env(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/rows.csv").write_text("1\n")
    result = run("transform", "--image", "sagemaker-emulator/echo:1", "--env", "ECHO_MODE=append", "--env",
                 "ECHO_NAME=from-env", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                 "--content-type", "text/csv")
    assert result.returncode == 0, result.stderr.decode()
    assert '"host": "from-env"' in (tmp_path / "out/rows.csv.out").read_text()
