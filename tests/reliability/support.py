"""What the reliability tests share: echo containers, clients that never retry, and a look at what is left."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest
import docker.errors
from botocore.config import Config

from emulator.containers import labels
from tests.conftest import ECHO_IMAGE, RUN_FOLDER

CLI = [sys.executable, "-m", "emulator.cli"]


def echo(hostname: str | None = None, **environment: str) -> dict:
    """An echo container definition; `append` mode adds one JSON line per hop saying what it received."""
    container: dict[str, Any] = {"Image": ECHO_IMAGE, "Environment": {"ECHO_MODE": "append", **environment}}
    if hostname:
        container["ContainerHostname"] = hostname
        container["Environment"]["ECHO_NAME"] = hostname
    return container


def client(url: str, read_timeout: float = 30) -> Any:
    """A boto3 sagemaker-runtime client that never retries, so every failure shows."""
    return boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x",
                        config=Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=5))


def containers_of(docker_engine: Any, endpoint: str, session: str | None = None) -> list:
    """Containers of `endpoint` started by this test session (or by `session`), running or not."""
    wanted = [f"{labels.SESSION}={session or labels.session_id()}", f"{labels.ENDPOINT}={endpoint}"]
    while True:
        try:
            return docker_engine.containers.list(all=True, filters={"label": wanted})
        except docker.errors.NotFound:  # one was removed between Docker's listing and its inspection: list again
            continue


def wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll until `condition()` is true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def serve_in_child(definition: str | None, port: int, session: str, *options: str) -> subprocess.Popen:
    """`sagemaker-emulator serve [definition] [options]` in a child process of its own session; returns once it serves."""
    # Its startup timeout bounds the wait for its first lines; it prints a handful before "Serving on".
    # Kept in the run's folder (removed with it), for stop_child to show.
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False, dir=os.environ.get(RUN_FOLDER))
    process = subprocess.Popen([*CLI, "serve", *([definition] if definition else []), "--port", str(port),
                                "--startup-timeout", "30", *options],
                               stdout=subprocess.PIPE, stderr=log, text=True,
                               env={**os.environ, "SAGEMAKER_EMULATOR_SESSION": session})
    process.stderr_log = log.name
    for _ in range(50):
        line = process.stdout.readline()
        if not line or "Serving on" in line:
            break
    assert "Serving on" in line, f"serve did not start (exit code {process.poll()})"
    return process


def stop_child(process: subprocess.Popen, timeout: float = 90) -> None:
    """SIGTERM a `serve` run (one of `serve_in_child` has its stderr kept) and wait for it. One that does not stop
    in time fails the test with what its threads were waiting on (the CLI prints their stacks on SIGUSR1), and is
    killed."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        process.kill()
        process.wait()
    log = getattr(process, "stderr_log", None)
    stderr = Path(log).read_text(errors="replace") if log else "(not kept: start it with serve_in_child)"
    pytest.fail(f"serve did not stop within {timeout:g} s of SIGTERM; its stderr, its threads' stacks last:\n"
                f"{stderr[-20000:]}", pytrace=False)
