"""The embedded S3 keeps what it acknowledged: objects uploaded (plainly and in parts), deletes, and asynchronous
inference answers are there after `serve` is stopped or killed (SIGKILL) and started again on the same state."""

from __future__ import annotations

import io
import os
import signal

import pytest

from emulator.containers import labels
from emulator.containers.docker_backend import free_port
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients
from tests.reliability.support import containers_of, serve_in_child, wait_for

pytestmark = pytest.mark.docker
BIG = os.urandom(6 * 1024 * 1024 + 17)  # over boto3's 8-MB-free multipart threshold once it is lowered below


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "stop"])
def test_objects_and_asynchronous_answers_survive_a_restart(example_images, docker_engine, tmp_path, how):
    from boto3.s3.transfer import TransferConfig

    state, port = tmp_path / "state", free_port()
    first = serve_in_child(None, port, labels.session_id(), "--state", str(state))
    url = f"http://127.0.0.1:{port}"
    try:
        s3, sm, runtime = clients(url, "s3"), clients(url, "sagemaker"), clients(url, "sagemaker-runtime")
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="plain/row one.csv", Body=b"1,2,3\n", ContentType="text/csv",
                      Metadata={"owner": "team-a"})
        s3.upload_fileobj(io.BytesIO(BIG), "kept", "parts/big.bin",
                          Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
        s3.put_object(Bucket="kept", Key="gone", Body=b"x")
        s3.delete_object(Bucket="kept", Key="gone")
        s3.create_bucket(Bucket="removed")
        s3.delete_bucket(Bucket="removed")

        sm.create_model(ModelName="answers", PrimaryContainer={"Image": ECHO_IMAGE})
        sm.create_endpoint_config(EndpointConfigName="answers", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "answers"}],
            AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://kept/async-out/"}})
        sm.create_endpoint(EndpointName="answers", EndpointConfigName="answers")
        sm.get_waiter("endpoint_in_service").wait(EndpointName="answers", WaiterConfig={"Delay": 1})
        s3.put_object(Bucket="kept", Key="async-in", Body=b"asked before the restart")
        output = runtime.invoke_endpoint_async(EndpointName="answers", InputLocation="s3://kept/async-in")["OutputLocation"]
        output_key = output.split("/", 3)[3]
        wait_for(lambda: s3.list_objects_v2(Bucket="kept", Prefix=output_key)["KeyCount"], 60, "the asynchronous answer")
    finally:
        first.send_signal(how)
        first.wait(timeout=90)

    port = free_port()
    again = serve_in_child(None, port, labels.session_id(), "--state", str(state))
    try:
        s3 = clients(f"http://127.0.0.1:{port}", "s3")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept"]
        plain = s3.get_object(Bucket="kept", Key="plain/row one.csv")
        assert (plain["Body"].read(), plain["ContentType"], plain["Metadata"]) == (b"1,2,3\n", "text/csv", {"owner": "team-a"})
        assert s3.get_object(Bucket="kept", Key="parts/big.bin")["Body"].read() == BIG
        assert s3.get_object(Bucket="kept", Key=output_key)["Body"].read() == b"asked before the restart"
        assert "gone" not in [o["Key"] for o in s3.list_objects_v2(Bucket="kept")["Contents"]]
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=90)
    assert containers_of(docker_engine, "answers") == []
