"""`sagemaker-emulator serve` keeps its control plane in a state folder: after a crash it brings back every
endpoint that was InService before answering for it, and a second serve on the same folder refuses."""

from __future__ import annotations

import signal
import subprocess

import pytest

from emulator.containers import labels
from emulator.containers.docker_backend import free_port
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients
from tests.reliability.support import CLI, containers_of, port_is_free, serve_in_child, wait_for

pytestmark = pytest.mark.docker


def serve(state, port: int) -> subprocess.Popen:
    return serve_in_child(None, port, labels.session_id(), "--state", str(state))


def test_a_crashed_serve_brings_its_endpoints_back_and_a_second_one_refuses(example_images, docker_engine, tmp_path):
    state, port = tmp_path / "state", free_port()
    url = f"http://127.0.0.1:{port}"
    first = serve(state, port)
    try:
        sm, runtime = clients(url, "sagemaker"), clients(url, "sagemaker-runtime")
        sm.create_model(ModelName="kept", PrimaryContainer={"Image": ECHO_IMAGE})
        sm.create_endpoint_config(EndpointConfigName="kept", ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "kept"}])
        sm.create_endpoint(EndpointName="kept", EndpointConfigName="kept")
        sm.get_waiter("endpoint_in_service").wait(EndpointName="kept", WaiterConfig={"Delay": 1})

        second = subprocess.run([*CLI, "serve", "--state", str(state), "--port", "0"], capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert f"the state folder {state} is in use by another sagemaker-emulator (pid {first.pid})" in second.stderr
        assert "Fix:" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)  # a crash: nothing is cleaned up
        first.wait()
    wait_for(lambda: port_is_free(port), 10, "the crashed serve's front lets go of its port (its lifeline ends it)")

    again = serve(state, port)  # reaps the crashed run's containers, then starts the endpoint anew
    try:
        described = sm.describe_endpoint(EndpointName="kept")
        assert described["EndpointStatus"] == "InService"
        assert runtime.invoke_endpoint(EndpointName="kept", Body=b"back", ContentType="text/plain")["Body"].read() == b"back"
        assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["kept"]
        listing = subprocess.run([*CLI, "ls", "--state", str(state)], capture_output=True, text=True, timeout=60)
        assert "kept  InService" in listing.stdout and "AllTraffic  weight 1  model kept: primary http://" in listing.stdout
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
    assert containers_of(docker_engine, "kept") == []
