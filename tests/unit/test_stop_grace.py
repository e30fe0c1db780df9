"""Containers stop as SageMaker stops them: SIGTERM, then SIGKILL 30 s later (not sooner)."""

from __future__ import annotations

import inspect

from contract_tests import test_shutdown
from emulator.containers.docker_backend import STOP_GRACE_SECONDS, DockerBackend
from emulator.containers.group import ContainerGroup


class RecordingApi:
    def __init__(self):
        self.stops: list[int] = []

    def stop(self, container_id: str, timeout: int) -> None:
        self.stops.append(timeout)

    def remove_container(self, container_id: str, force: bool) -> None:
        pass


def test_removing_a_container_gives_it_sagemakers_30_s_after_sigterm():
    backend = DockerBackend()
    backend._client = type("Client", (), {"api": RecordingApi()})()
    backend.remove("some-container")
    assert STOP_GRACE_SECONDS == 30 and backend._client.api.stops == [30]


def test_endpoints_and_the_contract_suite_use_the_same_grace():
    assert inspect.signature(ContainerGroup.stop).parameters["timeout"].default == STOP_GRACE_SECONDS
    assert test_shutdown.STOP_TIMEOUT == STOP_GRACE_SECONDS
