"""Container reuse across runs (opt-in): kept at stop, adopted when nothing changed, never shared by two live
runs, replaced when the definition changed, not reaped as leftovers. Each test removes what it kept."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from emulator.containers import labels
from emulator.api import Emulator
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.leftovers import remove_dead_runs
from tests.reliability.support import containers_of, echo, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def name(docker_engine, example_images):
    """A fresh endpoint name; its containers are removed at the end, kept or not."""
    endpoint = f"reuse-{uuid.uuid4().hex[:8]}"
    yield endpoint
    for container in containers_of(docker_engine, endpoint):
        container.remove(force=True)


def definition(name: str, **environment: str) -> dict:
    return {"Endpoints": {name: {"Containers": [echo("first", **environment), echo("second")]}}}


def ids(emulator: Emulator, name: str) -> list[str]:
    return [c.id for c in emulator[name].endpoint.containers]


def test_kept_containers_are_adopted_by_the_next_run(name, docker_engine):
    with Emulator(definition(name), reuse=True, startup_timeout=60) as first:
        started = ids(first, name)
    assert {c.status for c in containers_of(docker_engine, name)} == {"running"}
    with Emulator(definition(name), reuse=True, startup_timeout=60) as second:
        assert ids(second, name) == started
        assert second[name].invoke(b"x", content_type="text/plain").hops[-1].status == 200
        events = [e["event"] for e in second.request_log.read()["events"]]
        assert events == ["adopted", "adopted"]


def test_a_changed_environment_starts_fresh_and_removes_the_stale_ones(name, docker_engine):
    with Emulator(definition(name), reuse=True, startup_timeout=60) as first:
        stale = set(ids(first, name))
    with Emulator(definition(name, EXTRA="changed"), reuse=True, startup_timeout=60) as second:
        assert not stale & set(ids(second, name))
        assert not stale & {c.id for c in containers_of(docker_engine, name)}


def test_two_live_runs_never_share_containers(name):
    with Emulator(definition(name), reuse=True, startup_timeout=60) as first:
        pass
    with Emulator(definition(name), reuse=True, startup_timeout=60) as holder:
        with Emulator(definition(name), reuse=True, startup_timeout=60) as other:
            assert not set(ids(holder, name)) & set(ids(other, name))


def test_without_reuse_nothing_is_kept_or_adopted(name, docker_engine):
    with Emulator(definition(name), reuse=True, startup_timeout=60) as kept:
        kept_ids = set(ids(kept, name))
    with Emulator(definition(name), startup_timeout=60) as plain:
        assert not kept_ids & set(ids(plain, name))
    assert {c.id for c in containers_of(docker_engine, name)} == kept_ids


def test_kept_containers_are_not_reaped_as_leftovers_of_a_dead_run(name, docker_engine):
    script = (f"from emulator.api import Emulator; from tests.test_reuse import definition; "
              f"Emulator(definition({name!r}), reuse=True, startup_timeout=60).start().stop()")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120,
                   env={**os.environ, "SAGEMAKER_EMULATOR_SESSION": labels.session_id()})
    kept = containers_of(docker_engine, name)
    assert len(kept) == 2 and all(labels.owner_is_gone(c.labels) for c in kept)

    class OnlyThisEndpoint(DockerBackend):
        def list_managed(self, **filters: str):
            return super().list_managed(**{labels.ENDPOINT: name, **filters})

    backend = OnlyThisEndpoint()
    assert remove_dead_runs(backend) == []


def test_a_deleted_endpoint_is_removed_even_with_reuse(name, docker_engine):
    with Emulator(definition(name), reuse=True, startup_timeout=60) as emulator:
        emulator.boto3_client("sagemaker").delete_endpoint(EndpointName=name)
        wait_for(lambda: not containers_of(docker_engine, name), 30, "the deleted endpoint's containers removed")
