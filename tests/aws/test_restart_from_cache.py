"""An endpoint whose model was on the embedded S3 comes back after a crash of `serve`, although the archive is gone
from S3 by then: the artifact was kept by content when it was first fetched."""

from __future__ import annotations

import signal

import pytest

from emulator.containers import labels
from emulator.containers.docker_backend import free_port
from tests.conftest import ECHO_IMAGE, tar_of
from tests.control.conftest import clients
from tests.reliability.support import containers_of, serve_in_child

pytestmark = pytest.mark.docker


def tarball() -> bytes:
    return tar_of({"weights.txt": b"42"}, "gz")


def test_a_crashed_serve_brings_back_an_endpoint_whose_model_data_was_on_its_embedded_s3(
        example_images, docker_engine, tmp_path):
    state, port = tmp_path / "state", free_port()
    url = f"http://127.0.0.1:{port}"
    first = serve_in_child(None, port, labels.session_id(), "--state", str(state))
    try:
        s3, sm = clients(url, "s3"), clients(url, "sagemaker")
        s3.create_bucket(Bucket="models")
        s3.put_object(Bucket="models", Key="echo/model.tar.gz", Body=tarball())
        sm.create_model(ModelName="from-s3", PrimaryContainer={"Image": ECHO_IMAGE,
                                                               "ModelDataUrl": "s3://models/echo/model.tar.gz"})
        sm.create_endpoint_config(EndpointConfigName="from-s3",
                                  ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "from-s3"}])
        sm.create_endpoint(EndpointName="from-s3", EndpointConfigName="from-s3")
        sm.get_waiter("endpoint_in_service").wait(EndpointName="from-s3", WaiterConfig={"Delay": 1})
        s3.delete_object(Bucket="models", Key="echo/model.tar.gz")  # only the artifact cache has it now
    finally:
        first.send_signal(signal.SIGKILL)  # a crash
        first.wait()

    port = free_port()  # the killed owner's front may hold its port a moment longer
    url = f"http://127.0.0.1:{port}"
    again = serve_in_child(None, port, labels.session_id(), "--state", str(state))
    try:
        s3, sm = clients(url, "s3"), clients(url, "sagemaker")
        assert s3.list_objects_v2(Bucket="models")["KeyCount"] == 0  # the delete was kept too
        assert sm.describe_endpoint(EndpointName="from-s3")["EndpointStatus"] == "InService"
        runtime = clients(url, "sagemaker-runtime")
        assert runtime.invoke_endpoint(EndpointName="from-s3", Body=b"back", ContentType="text/plain")["Body"].read() == b"back"
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
    assert containers_of(docker_engine, "from-s3") == []
