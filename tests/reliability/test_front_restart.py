"""A front whose gunicorn master dies is started again on the same socket within a second or two,
under `serve`, the Python API and the plugin alike (they share FrontServer)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from emulator import Emulator
from emulator.containers.docker_backend import free_port
from tests.conftest import ECHO_IMAGE
from tests.reliability.support import CLI, wait_for

pytestmark = pytest.mark.docker


def answers(url: str) -> bool:
    try:
        return requests.post(f"{url}/endpoints/restarted/invocations", data=b"x", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def test_a_killed_front_is_started_again_on_the_same_port(docker_engine):
    with Emulator({"Endpoints": {"restarted": {"PrimaryContainer": {"Image": ECHO_IMAGE}}}}) as emulator:
        url = emulator.serve()
        assert answers(url)
        os.kill(emulator.front._process.pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: answers(url), 5, "the front to answer again after its gunicorn master was killed")
        assert time.monotonic() - killed < 5


def test_serve_keeps_serving_after_its_front_is_killed(docker_engine, tmp_path):
    definition = tmp_path / "restarted.yaml"
    definition.write_text(f"Endpoints:\n  restarted: {{PrimaryContainer: {{Image: '{ECHO_IMAGE}'}}}}\n")
    port = free_port()
    process = subprocess.Popen([*CLI, "serve", str(definition), "--port", str(port), "--state", str(tmp_path / "state")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while "Serving on" not in (line := process.stdout.readline()):
            assert line, process.stderr.read()
        url = f"http://127.0.0.1:{port}"
        master = int(subprocess.run(["pgrep", "-f", "-P", str(process.pid), "gunicorn"], capture_output=True,
                                    text=True).stdout.split()[0])
        os.kill(master, signal.SIGKILL)
        wait_for(lambda: answers(url), 5, "serve's front to answer again after its gunicorn master was killed")
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
