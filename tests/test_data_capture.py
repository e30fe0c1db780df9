"""Data capture (DataCaptureConfig) on real containers, deployed and read with the SageMaker Python SDK v2 and
invoked with boto3: capture files in SageMaker's path and format, sampled at the configured percentage,
encoded by content type, turned off and on again by UpdateEndpoint, and none lost at a clean stop.

The SDK v2 has no parser of capture files of its own: its Model Monitor examples read them with
`sagemaker.s3.S3Downloader.list` and `S3Downloader.read_file` and one `json.loads` per line, which is what the
reader here does, unchanged."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any, Iterator

import pytest

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients

pytestmark = pytest.mark.docker
ROLE = "arn:aws:iam::123456789012:role/emulator"
CALLS = 100
KEY = re.compile(r"capture/(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/\d{4}/\d\d/\d\d/\d\d/\d\d-\d\d-\d{3}-[0-9a-f-]{36}\.jsonl")
BODIES = {"text/csv": b"5.1,3.5,1.4", "application/json": b'{"features": [5.1, 3.5]}',
          "application/x-npy": bytes(range(256))}


@pytest.fixture(scope="module")
def emulator(example_images) -> Iterator[Emulator]:
    with Emulator(startup_timeout=60, invocation_timeout=10) as running:
        running.serve()
        yield running


@pytest.fixture(scope="module")
def sdk_session(emulator: Emulator) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
        with emulator.redirected():
            import sagemaker
            import sagemaker.session

            # The SDK sleeps 30 s before each look at a deploying endpoint; the endpoints here are up in seconds.
            waited = sagemaker.session._wait_until
            patch.setattr(sagemaker.session, "_wait_until", lambda done, poll=5: waited(done, 0.5))
            yield sagemaker.Session()


def deploy(sdk_session: Any, name: str, percentage: int) -> Any:
    from sagemaker.model import Model
    from sagemaker.model_monitor import DataCaptureConfig
    from sagemaker.predictor import Predictor

    capture = DataCaptureConfig(enable_capture=True, sampling_percentage=percentage,
                                destination_s3_uri=destination(sdk_session), csv_content_types=["text/csv"],
                                json_content_types=["application/json"], sagemaker_session=sdk_session)
    return Model(image_uri=ECHO_IMAGE, role=ROLE, sagemaker_session=sdk_session, predictor_cls=Predictor).deploy(
        initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=name, data_capture_config=capture, wait=True)


def destination(sdk_session: Any) -> str:
    return f"s3://{sdk_session.default_bucket()}/capture"


def captured_lines(sdk_session: Any, endpoint: str) -> list[tuple[str, dict]]:
    """(file URL, parsed line) of every capture file of the endpoint, read as the SDK's examples read them."""
    from sagemaker.s3 import S3Downloader

    files = S3Downloader.list(f"{destination(sdk_session)}/{endpoint}", sagemaker_session=sdk_session)
    return [(url, json.loads(text)) for url in files
            for text in S3Downloader.read_file(url, sagemaker_session=sdk_session).splitlines()]


def settled_lines(sdk_session: Any, endpoint: str, seconds: float = 30) -> list[tuple[str, dict]]:
    """The capture once it stops growing (the owner cuts a file every second)."""
    deadline, seen = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        time.sleep(2)
        lines = captured_lines(sdk_session, endpoint)
        if seen is not None and len(lines) == len(seen):
            return lines
        seen = lines
    raise AssertionError(f"the capture of {endpoint} kept growing for {seconds} s")


def invoke_mix(runtime: Any, endpoint: str, calls: int, tag: str) -> dict[str, tuple[str, bytes]]:
    """`calls` invocations cycling through the content types; returns what each InferenceId sent."""
    sent = {}
    for number in range(calls):
        content_type = list(BODIES)[number % len(BODIES)]
        inference_id = f"{tag}-{number}"
        answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=BODIES[content_type], ContentType=content_type,
                                         InferenceId=inference_id)
        assert answer["Body"].read() == BODIES[content_type]
        sent[inference_id] = (content_type, BODIES[content_type])
    return sent


def in_service(sm: Any, name: str) -> None:
    described = sm.describe_endpoint(EndpointName=name)
    while described["EndpointStatus"] == "Creating":  # DescribeEndpoint itself waits for the status to change
        described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")


def decoded(payload: dict) -> bytes:
    return base64.b64decode(payload["data"]) if payload["encoding"] == "BASE64" else payload["data"].encode()


def test_half_the_invocations_are_captured_as_sagemaker_writes_them(emulator, sdk_session):
    name = f"capture-{uuid.uuid4().hex[:8]}"
    deploy(sdk_session, name, 50)
    sent = invoke_mix(clients(emulator.url, "sagemaker-runtime"), name, CALLS, "half")
    lines = settled_lines(sdk_session, name)

    # 50 % of 100: a count outside 20..80 has odds under one in 10^9.
    assert 20 <= len(lines) <= 80, len(lines)
    for url, line in lines:
        match = KEY.search(url)
        assert match and (match["endpoint"], match["variant"]) == (name, "AllTraffic"), url
        assert line["eventVersion"] == "0"
        metadata = line["eventMetadata"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", metadata["inferenceTime"]) and metadata["eventId"]
        content_type, body = sent[metadata["inferenceId"]]
        endpoint_input, endpoint_output = line["captureData"]["endpointInput"], line["captureData"]["endpointOutput"]
        assert (endpoint_input["mode"], endpoint_output["mode"]) == ("INPUT", "OUTPUT")
        assert endpoint_input["observedContentType"] == endpoint_output["observedContentType"] == content_type
        expected = {"text/csv": "CSV", "application/json": "JSON"}.get(content_type, "BASE64")
        assert endpoint_input["encoding"] == endpoint_output["encoding"] == expected
        assert decoded(endpoint_input) == decoded(endpoint_output) == body
    assert len({line["eventMetadata"]["eventId"] for _, line in lines}) == len(lines)


def test_update_endpoint_turns_capture_off_and_on(emulator, sdk_session):
    from sagemaker.model_monitor import DataCaptureConfig

    name = f"capture-switch-{uuid.uuid4().hex[:8]}"
    predictor = deploy(sdk_session, name, 100)
    runtime = clients(emulator.url, "sagemaker-runtime")
    invoke_mix(runtime, name, 3, "on")
    predictor.disable_data_capture()  # UpdateEndpoint to a copy of the config with EnableCapture false
    sm = sdk_session.sagemaker_client
    assert sm.describe_endpoint(EndpointName=name)["DataCaptureConfig"]["CaptureStatus"] == "Stopped"
    invoke_mix(runtime, name, 3, "off")
    predictor.update_data_capture_config(DataCaptureConfig(
        enable_capture=True, sampling_percentage=100, destination_s3_uri=destination(sdk_session),
        sagemaker_session=sdk_session))
    described = sm.describe_endpoint(EndpointName=name)["DataCaptureConfig"]
    assert (described["CaptureStatus"], described["CurrentSamplingPercentage"]) == ("Started", 100)
    invoke_mix(runtime, name, 3, "again")
    ids = sorted(line["eventMetadata"]["inferenceId"] for _, line in settled_lines(sdk_session, name))
    assert ids == ["again-0", "again-1", "again-2", "on-0", "on-1", "on-2"]


def test_input_only_capture_and_a_bad_destination(emulator):
    sm, s3 = clients(emulator.url, "sagemaker"), clients(emulator.url, "s3")
    name = f"capture-input-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE}, ExecutionRoleArn=ROLE)
    config = {"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{name}/capture",
              "CaptureOptions": [{"CaptureMode": "Input"}]}
    with pytest.raises(sm.exceptions.ClientError, match="DestinationS3Uri"):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "v", "ModelName": name}],
                                  DataCaptureConfig={**config, "DestinationS3Uri": "https://example.com/capture"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "v", "ModelName": name}],
                              DataCaptureConfig=config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    in_service(sm, name)
    clients(emulator.url, "sagemaker-runtime").invoke_endpoint(EndpointName=name, Body=b"a,b", ContentType="text/csv")
    deadline = time.monotonic() + 30
    while not (keys := s3.list_objects_v2(Bucket=name).get("Contents")) and time.monotonic() < deadline:
        time.sleep(0.2)
    line = json.loads(s3.get_object(Bucket=name, Key=keys[0]["Key"])["Body"].read())
    assert list(line["captureData"]) == ["endpointInput"]
    assert line["captureData"]["endpointInput"]["encoding"] == "BASE64"  # no CaptureContentTypeHeader: base64
    assert "inferenceId" not in line["eventMetadata"]


def test_nothing_captured_is_lost_at_a_clean_stop(example_images, tmp_path):
    name = f"capture-stop-{uuid.uuid4().hex[:8]}"
    bucket = name
    config = {"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{bucket}/capture",
              "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
    with Emulator(state=tmp_path / "state") as running:
        running.serve()
        sm, s3 = clients(running.url, "sagemaker"), clients(running.url, "s3")
        s3.create_bucket(Bucket=bucket)
        sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE}, ExecutionRoleArn=ROLE)
        sm.create_endpoint_config(EndpointConfigName=name, DataCaptureConfig=config,
                                  ProductionVariants=[{"VariantName": "v", "ModelName": name}])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
        in_service(sm, name)
        runtime = clients(running.url, "sagemaker-runtime")
        for number in range(20):
            runtime.invoke_endpoint(EndpointName=name, Body=b"1", ContentType="text/csv", InferenceId=str(number))
    # stopped at once after the last answer: what the workers and the owner held is written before the stop ends
    with Emulator(state=tmp_path / "state") as again:
        s3 = clients(again.serve(), "s3")
        bodies = [s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                  for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        ids = sorted(int(json.loads(text)["eventMetadata"]["inferenceId"]) for body in bodies for text in body.splitlines())
        assert ids == list(range(20))
