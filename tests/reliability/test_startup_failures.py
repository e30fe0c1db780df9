"""Startup failures: each gives one clear message, in seconds, and leaves no container behind."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid

import pytest

from emulator import Emulator, EmulatorError
from emulator.containers.docker_backend import free_port
from tests.conftest import ECHO_IMAGE
from tests.reliability.support import CLI, containers_of, echo

pytestmark = [pytest.mark.docker, pytest.mark.serial]  # a failed start must be reported within 20 s


@pytest.mark.parametrize("endpoint, containers, words", [
    ("crashes", [{"Image": "sagemaker-emulator/broken-crash-at-start:1"}, echo()],
     ["container-1", "exited with code 3", "failing on purpose", "Fix:"]),
    ("never-healthy", [echo(ECHO_PING_STATUS="503"), echo()],
     ["container-1", "did not pass /ping within 3 s", "Fix:"]),
    ("no-image", [{"Image": "sagemaker-emulator/not-built-anywhere:1"}],
     ["'sagemaker-emulator/not-built-anywhere:1' is not on this Docker engine", "Fix: build it"]),
])
def test_a_failed_start_is_one_clear_message_and_leaves_nothing(example_images, docker_engine, endpoint, containers, words):
    started = time.monotonic()
    with pytest.raises(EmulatorError) as caught:
        Emulator({"Endpoints": {endpoint: {"Containers": containers}}}, startup_timeout=3).start()
    assert time.monotonic() - started < 20
    assert all(word in str(caught.value) for word in words), str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert containers_of(docker_engine, endpoint) == []


def test_serve_on_a_port_already_taken_says_so_and_leaves_nothing(docker_engine, tmp_path):
    definition = tmp_path / "taken.yaml"
    definition.write_text(f"Endpoints: {{port-taken: {{PrimaryContainer: {{Image: '{ECHO_IMAGE}'}}}}}}\n")
    port, session = free_port(), uuid.uuid4().hex[:12]
    with socket.create_server(("127.0.0.1", port)):
        result = subprocess.run([*CLI, "serve", str(definition), "--port", str(port)], capture_output=True, text=True,
                                timeout=120, env={**os.environ, "SAGEMAKER_EMULATOR_SESSION": session})
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in result.stderr
    assert "Fix: choose another --port" in result.stderr and "Traceback" not in result.stderr
    assert "waiting for /ping" not in result.stderr  # the port is taken before any container starts
    assert containers_of(docker_engine, "port-taken", session=session) == []
