"""The two containers one target's checks run against, started in parallel and removed together."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from contract_tests import model_tree
from contract_tests.launch import Launched, launch
from contract_tests.plan import Target
from emulator.artifacts import model_folder
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.sagemaker_env import SAFE_PORT_RANGE, SINGLE_CONTAINER_PORT
from emulator.parallel import map_in_threads

BIND_TO_PORT = 9123  # not 8080, so a container that ignores SAGEMAKER_BIND_TO_PORT shows it


@dataclass
class UnderTest:
    serving: Launched  # as a single-container endpoint (port 8080), on a writable model copy: the invocation checks
    bind_to_port: Launched  # as in a pipeline (SAGEMAKER_BIND_TO_PORT), the model read-only: port and SIGTERM checks
    model_copy: Path | None
    model_before: model_tree.Fingerprint | None  # the copy's fingerprint before the container started

    def remove(self, backend: DockerBackend) -> None:
        ids = [launched.container_id for launched in (self.serving, self.bind_to_port) if launched.container_id]
        map_in_threads(lambda container_id: backend.remove(container_id, timeout=0), ids)
        if self.model_copy:
            shutil.rmtree(self.model_copy, ignore_errors=True)  # files the container wrote may not be ours


def start(backend: DockerBackend, target: Target, *, timeout: float, scratch: Path) -> UnderTest:
    """Raises EmulatorError when the model artifact cannot be used."""
    model = model_folder(target.model_data)
    copy = model_tree.writable_copy(model, scratch / "model") if model else None
    before = model_tree.fingerprint(copy) if copy else None
    pipeline_environment = {**target.environment, "SAGEMAKER_BIND_TO_PORT": str(BIND_TO_PORT),
                            "SAGEMAKER_SAFE_PORT_RANGE": SAFE_PORT_RANGE}
    variants = [
        dict(role="serving", port=SINGLE_CONTAINER_PORT, environment=target.environment, model=copy,
             model_read_only=False),
        dict(role="bind-to-port", port=BIND_TO_PORT, environment=pipeline_environment, model=model,
             also_watch=(SINGLE_CONTAINER_PORT,)),
    ]
    serving, bind_to_port = map_in_threads(
        lambda variant: launch(backend, target.image, timeout=timeout, **variant), variants)
    return UnderTest(serving, bind_to_port, copy, before)
