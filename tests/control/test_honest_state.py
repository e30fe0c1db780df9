"""What `serve` keeps, and a restart that tells the truth: a definition file's run serves exactly its endpoints
and keeps nothing (so two run side by side); after a stop or a crash on the same --state, an endpoint is not
InService before it serves again, and an invocation sent meanwhile waits for it and is answered."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import pytest
import urllib3
import yaml

from emulator.containers import labels
from emulator.containers.docker_backend import free_port
from emulator.settings import Settings
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients
from tests.reliability.support import CLI, containers_of, port_is_free, serve_in_child, stop_child, wait_for

pytestmark = pytest.mark.docker


def definition_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"Endpoints": {name: {"PrimaryContainer": {"Image": ECHO_IMAGE}}}}))
    return path


def test_a_definition_file_serves_exactly_its_endpoints_and_keeps_nothing(example_images, docker_engine, tmp_path):
    for number in range(6):
        earlier = serve_in_child(str(definition_file(tmp_path, f"earlier{number}")), free_port(), labels.session_id())
        stop_child(earlier)
    port = free_port()
    seventh = serve_in_child(str(definition_file(tmp_path, "seventh")), port, labels.session_id())
    try:
        names = [e["EndpointName"] for e in clients(f"http://127.0.0.1:{port}", "sagemaker").list_endpoints()["Endpoints"]]
        assert names == ["seventh"]
        assert [containers_of(docker_engine, f"earlier{number}") for number in range(6)] == [[]] * 6
        assert len(containers_of(docker_engine, "seventh")) == 1
    finally:
        stop_child(seventh)
    assert not Settings.from_environment().default_state_folder.exists(), "a definition file's run wrote per-user state"


def test_two_definition_files_serve_side_by_side_and_say_what_they_keep(example_images, tmp_path):
    ports = free_port(), free_port()
    files = {name: definition_file(tmp_path, name) for name in ("left", "right")}
    runs = [serve_in_child(str(files[name]), port, labels.session_id()) for name, port in zip(files, ports)]
    try:
        for name, other, port in (("left", "right", ports[0]), ("right", "left", ports[1])):
            runtime = clients(f"http://127.0.0.1:{port}", "sagemaker-runtime")
            assert runtime.invoke_endpoint(EndpointName=name, Body=name.encode(), ContentType="text/plain")["Body"].read() == name.encode()
            with pytest.raises(runtime.exceptions.ValidationError, match=f"Endpoint {other} of account"):
                runtime.invoke_endpoint(EndpointName=other, Body=b"x", ContentType="text/plain")
            page = urllib3.request("GET", f"http://127.0.0.1:{port}/_emulator/pipelines", timeout=15).json()
            assert page["state"] == f"none kept ({files[name]})"
        listing = subprocess.run([*CLI, "ls"], capture_output=True, text=True, timeout=60).stdout
        for name in files:
            assert any(line.startswith(name) and line.endswith(f"none kept ({files[name]})") for line in listing.splitlines())
    finally:
        for run in runs:
            stop_child(run)


@pytest.mark.parametrize("how", ["stop", "crash"])
def test_after_a_restart_in_service_means_it_serves(example_images, docker_engine, tmp_path, how):
    state, port = tmp_path / "state", free_port()
    url = f"http://127.0.0.1:{port}"
    sm, runtime = clients(url, "sagemaker"), clients(url, "sagemaker-runtime")
    first = serve_in_child(None, port, labels.session_id(), "--state", str(state))
    try:
        # Each /ping takes a while: the endpoint comes back a second or two after the front answers.
        sm.create_model(ModelName="slow", PrimaryContainer={"Image": ECHO_IMAGE,
                                                           "Environment": {"ECHO_PING_DELAY_SECONDS": "1.5"}})
        sm.create_endpoint_config(EndpointConfigName="slow", ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "slow"}])
        sm.create_endpoint(EndpointName="slow", EndpointConfigName="slow")
        sm.get_waiter("endpoint_in_service").wait(EndpointName="slow", WaiterConfig={"Delay": 1})
    finally:
        first.send_signal(signal.SIGKILL if how == "crash" else signal.SIGTERM)
        first.wait(timeout=90)
    wait_for(lambda: port_is_free(port), 10, "the first serve lets go of its port")

    again = subprocess.Popen([*CLI, "serve", "--state", str(state), "--port", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers_ping(url), 30, "the restarted front answers")
        during: list = []  # an invocation sent while the endpoint comes back: it waits, then is answered
        sender = threading.Thread(target=lambda: during.append(runtime.invoke_endpoint(
            EndpointName="slow", Body=b"during", ContentType="text/plain")["Body"].read()))
        sender.start()
        sm.get_waiter("endpoint_in_service").wait(EndpointName="slow", WaiterConfig={"Delay": 1})
        assert runtime.invoke_endpoint(EndpointName="slow", Body=b"after", ContentType="text/plain")["Body"].read() == b"after"
        sender.join(timeout=60)
        assert during == [b"during"]
    finally:
        stop_child(again)
    assert containers_of(docker_engine, "slow") == []


def _answers_ping(url: str) -> bool:
    try:
        return urllib3.request("GET", f"{url}/ping", timeout=1.0, retries=False).status == 200
    except urllib3.exceptions.HTTPError:
        return False


def test_a_run_asked_with_sigusr1_prints_what_its_threads_are_doing(example_images, tmp_path):
    """How a run that does not stop is diagnosed (stop_child asks this of one that hangs)."""
    run = serve_in_child(str(definition_file(tmp_path, "stacks")), free_port(), labels.session_id())
    try:
        run.send_signal(signal.SIGUSR1)
        wait_for(lambda: "most recent call first" in Path(run.stderr_log).read_text(), 10, "the threads' stacks")
        assert run.poll() is None, "SIGUSR1 must not stop the run"
    finally:
        stop_child(run)
