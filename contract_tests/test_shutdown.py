"""Shutdown: SageMaker stops a container with SIGTERM and kills it 30 s later."""

from __future__ import annotations

import time

import pytest

from contract_tests.plan import Target
from contract_tests.under_test import UnderTest
from contract_tests.verdicts import NOT_SERVING, violation
from emulator.containers.docker_backend import STOP_GRACE_SECONDS as STOP_TIMEOUT
from emulator.containers.docker_backend import DockerBackend

KILLED = 137  # 128 + SIGKILL


def test_stops_on_sigterm_within_30_s(target: Target, containers: UnderTest, backend: DockerBackend) -> None:
    # The pipeline-style container: its own check read everything it needed at start, so stopping it harms none.
    launched = containers.bind_to_port
    if not containers.serving.serving or launched.answered_on is None:
        pytest.skip(NOT_SERVING)
    started = time.monotonic()
    state = backend.stop(launched.container_id, timeout=STOP_TIMEOUT)
    if state.exit_code == KILLED:
        violation(
            f"{target.image} ignored SIGTERM: `docker stop` killed it (SIGKILL, exit code {KILLED}) after "
            f"{time.monotonic() - started:.0f} s.",
            f"SageMaker would do the same at every update, scale-in or deletion: it waits {STOP_TIMEOUT} s, then "
            "kills the container, cutting off the requests in flight.",
            "make the server PID 1 (ENTRYPOINT in exec form `[\"...\"]`, `exec` in shell scripts) or handle "
            "SIGTERM: a process running as PID 1 has no default action for it, so Python and shell scripts ignore "
            "it unless they install a handler.")
