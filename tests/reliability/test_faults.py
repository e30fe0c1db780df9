"""Faults at run time: a container killed under load, and a container that hangs.

A killed container: requests in flight and after fail at once with a ModelError naming it, the endpoint
reports itself unhealthy, and the emulator starts the container again on the same host port (Docker's
restart policies ignore `docker kill`), after which traffic succeeds again, all within seconds.
A hanging container: the invocation fails at the invocation timeout naming it, and nothing else waits.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
import requests

from emulator import Emulator
from emulator.seam.wire_errors import wire_error
from emulator.invocation.outcomes import InvocationFailed
from tests.reliability.support import client, echo, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.serial]  # bounds of a second or so on each timing
INVOCATION_TIMEOUT = 2.0
HANG_SECONDS = "6"  # longer than the timeout; short, so stopping the container does not wait long


@dataclass
class Outcome:
    started: float
    seconds: float
    status: int
    text: str


def hammer(url: str, stop: threading.Event, outcomes: list[Outcome]) -> None:
    """Invoke the victim endpoint until told to stop (bounded: each request times out in 10 s)."""
    with requests.Session() as session:
        for _ in range(10_000):
            if stop.is_set():
                return
            started = time.monotonic()
            response = session.post(f"{url}/endpoints/victim/invocations", data=b"x\n", timeout=10,
                                    headers={"Content-Type": "text/plain"})
            outcomes.append(Outcome(started, time.monotonic() - started, response.status_code, response.text))


@pytest.fixture(scope="module")
def faults(docker_engine):
    definition = {"Endpoints": {
        "victim": {"Containers": [echo("first"), echo("second", ECHO_DELAY_SECONDS="0.2")]},
        "mixed": {"Containers": [echo("stuck", ECHO_DELAY_SECONDS=HANG_SECONDS), echo("quick")],
                  "InferenceExecutionConfig": {"Mode": "Direct"}},
        "other": {"PrimaryContainer": echo()},
    }}
    with Emulator(definition, invocation_timeout=INVOCATION_TIMEOUT) as emulator:
        emulator.serve()
        yield emulator


def test_a_killed_container_fails_fast_is_restarted_on_its_port_and_serves_again(faults, docker_engine):
    url, victim = faults.url, faults["victim"]
    second = next(c for c in victim.endpoint.containers if c.hostname == "second")
    port_before = docker_engine.api.inspect_container(second.id)["HostConfig"]["PortBindings"]
    stop, outcomes = threading.Event(), []
    threads = [threading.Thread(target=hammer, args=(url, stop, outcomes)) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(outcomes) >= 8, 10, "load before the kill")
        killed_at = time.monotonic()
        docker_engine.api.kill(second.id)
        assert requests.get(f"{url}/_emulator/endpoints/victim/health", timeout=5).status_code == 503
        assert victim.health()["second"]["healthy"] is False
        wait_for(lambda: requests.get(f"{url}/_emulator/endpoints/victim/health", timeout=5).status_code == 200,
                 15, "the victim healthy again")
        recovered_at = time.monotonic()
        wait_for(lambda: any(o.started > recovered_at and o.status == 200 for o in outcomes), 10, "traffic again")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    failures = [o for o in outcomes if o.status != 200]
    assert any(o.started < killed_at for o in failures), "no request in flight at the kill failed"
    assert all(o.status == 424 and "from second" in o.text and "Container second" in o.text for o in failures)
    assert max(o.seconds for o in failures) < INVOCATION_TIMEOUT, "a request waited for the dead container"
    assert all(o.started < recovered_at + 1 for o in failures), "requests failed after the recovery"
    assert recovered_at - killed_at < 10
    assert victim.health()["second"] == {"status": "running", "restarts": 1, "healthy": True}
    assert docker_engine.api.inspect_container(second.id)["HostConfig"]["PortBindings"] == port_before


def test_a_hanging_container_times_out_naming_it_and_blocks_nothing_else(faults):
    runtime = client(faults.url)
    hung: list[tuple[float, dict]] = []  # (seconds, error response) of each stuck invocation

    def invoke_stuck() -> None:
        started = time.monotonic()
        try:
            runtime.invoke_endpoint(EndpointName="mixed", TargetContainerHostname="stuck", Body=b"x")
        except runtime.exceptions.ModelError as error:
            hung.append((time.monotonic() - started, error.response))

    stuck = [threading.Thread(target=invoke_stuck) for _ in range(2)]
    for thread in stuck:
        thread.start()
    time.sleep(0.3)  # both are waiting on the stuck container now
    for endpoint, options in (("mixed", {"TargetContainerHostname": "quick"}), ("other", {})):
        started = time.monotonic()
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"x", ContentType="text/plain", **options)
        assert time.monotonic() - started < 1, f"{endpoint} waited for the stuck container"
    for thread in stuck:
        thread.join(timeout=10)
    assert len(hung) == 2, "a stuck invocation did not fail"
    for seconds, error in hung:  # both at the timeout: neither waited for the other
        assert INVOCATION_TIMEOUT <= seconds < INVOCATION_TIMEOUT + 1.5
        assert error["OriginalStatusCode"] == 0
        assert "timed out while waiting for a response from container stuck" in error["Error"]["Message"]


def test_in_process_invocations_time_out_the_same_way(faults):
    started = time.monotonic()
    with pytest.raises(InvocationFailed) as caught:
        faults["mixed"].invoke(b"x", target_container_hostname="stuck")
    assert time.monotonic() - started < INVOCATION_TIMEOUT + 2
    assert wire_error(caught.value).code == "ModelError" and "container stuck" in wire_error(caught.value).message
