"""Nothing left behind: a SIGKILLed emulator loses its front at once and its containers at the next run;
`prune` removes what no running emulator uses, `prune --all` every container of ours, and nothing else."""

from __future__ import annotations

import os
import signal
import uuid

import pytest

from emulator import Emulator
from emulator.containers import labels
from emulator.containers import leftovers
from emulator.containers.docker_backend import DockerBackend, free_port
from tests.conftest import ECHO_IMAGE
from tests.reliability.support import containers_of, port_is_free, serve_in_child, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def definition(tmp_path) -> str:
    path = tmp_path / "left.yaml"
    path.write_text(f"Endpoints:\n  left-a: {{PrimaryContainer: {{Image: '{ECHO_IMAGE}'}}}}\n"
                    f"  left-b: {{PrimaryContainer: {{Image: '{ECHO_IMAGE}'}}, EnableNetworkIsolation: true}}\n")
    return str(path)


class SessionBackend(DockerBackend):
    """The real backend, seeing only one session's containers and networks.

    A full `prune` would also remove the containers of other test runs sharing this engine, so the
    test runs the real prune logic through this view instead. That `prune` spares what is not ours is
    still tested: our bystander carries the session label but not the emulator's `managed` label.
    """

    def __init__(self, session: str):
        super().__init__()
        self.session = session

    def list_managed(self, **label_filters: str):
        return super().list_managed(**{labels.SESSION: self.session, **label_filters})


def test_a_killed_emulator_loses_its_front_at_once_and_its_containers_at_the_next_run(definition, docker_engine):
    session, port = uuid.uuid4().hex[:12], free_port()
    process = serve_in_child(definition, port, session)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    wait_for(lambda: port_is_free(port), 10, "the killed emulator's front to let go of its port")
    assert len(containers_of(docker_engine, "left-a", session) + containers_of(docker_engine, "left-b", session)) == 2
    with Emulator({"PrimaryContainer": {"Image": ECHO_IMAGE}}):  # the next run cleans up on start
        assert containers_of(docker_engine, "left-a", session) == containers_of(docker_engine, "left-b", session) == []


def test_prune_spares_running_emulators_unless_all_and_touches_nothing_else(definition, docker_engine):
    session = uuid.uuid4().hex[:12]
    bystander = docker_engine.containers.run(ECHO_IMAGE, ["serve"], detach=True, labels={labels.SESSION: session})
    process = serve_in_child(definition, free_port(), session)
    try:
        removed, used = leftovers.prune(SessionBackend(session))  # its owner is alive: as docker's prune, spare it
        assert removed == [] and len(used) == 2
        assert len(containers_of(docker_engine, "left-a", session) + containers_of(docker_engine, "left-b", session)) == 2
        removed, used = leftovers.prune(SessionBackend(session), everything=True)  # --all: stop them too
        assert len(removed) == 2 and all(name.startswith(("sme-left-a-", "sme-left-b-")) for name in removed)
        assert sorted(used) == sorted(removed)
        assert containers_of(docker_engine, "left-a", session) == containers_of(docker_engine, "left-b", session) == []
        bystander.reload()
        assert bystander.status == "running"
    finally:
        bystander.remove(force=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, "stopping after a prune must not fail: removal is idempotent"
