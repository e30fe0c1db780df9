"""The emulator against real containers: chaining, content types, Direct mode, errors through boto3."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator, EmulatorError
from emulator.seam.wire_errors import wire_error
from emulator.invocation.outcomes import InvocationFailed
from emulator.errors import StartupError
from tests.conftest import ECHO_IMAGE, EXAMPLES, PIPELINE

pytestmark = pytest.mark.docker


def echo(name: str, **environment: str) -> dict:
    return {"Image": ECHO_IMAGE, "ContainerHostname": name,
            "Environment": {"ECHO_MODE": "append", "ECHO_NAME": name, **environment}}


@pytest.fixture(scope="module")
def penguins(example_images):
    with Emulator(PIPELINE) as emulator:
        emulator.serve()
        yield emulator


@pytest.fixture(scope="module")
def echoes(docker_engine):
    """A serial chain whose first container adds a charset, a Direct endpoint, and a failing second container."""
    definition = {"Endpoints": {
        "serial": {"Containers": [echo("first", ECHO_RESPONSE_CONTENT_TYPE="text/csv; charset=utf-8"), echo("second")]},
        "direct": {"Containers": [echo("alpha"), echo("beta")], "InferenceExecutionConfig": {"Mode": "Direct"}},
        "failing": {"Containers": [echo("ok"), echo("refuses", ECHO_STATUS="415")]},
        "single": {"PrimaryContainer": {"Image": ECHO_IMAGE, "Environment": {"ECHO_STATUS": "500"}}},
    }}
    with Emulator(definition) as emulator:
        emulator.serve()
        yield emulator


def received(body: bytes) -> list[dict]:
    """What each echo hop reported receiving, in order."""
    return [json.loads(line) for line in body.decode().splitlines() if line.startswith("{")]


def test_example_pipeline_predicts_species_through_boto3(penguins):
    rows = (EXAMPLES / "artifacts/data/penguins-features.csv").read_text().splitlines()
    labels = (EXAMPLES / "artifacts/data/penguins-labels.csv").read_text().splitlines()
    client = penguins.boto3_client()
    answer = client.invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Accept="text/csv",
                                    Body="\n".join(rows).encode())
    predicted = answer["Body"].read().decode().split()
    assert len(predicted) == len(rows)
    accuracy = sum(p == t for p, t in zip(predicted, labels)) / len(labels)
    assert accuracy > 0.9
    assert answer["ContentType"].startswith("text/csv")
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    trace = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
    assert [hop["container"] for hop in trace] == ["preprocessor", "model"]


def test_example_pipeline_json_answer(penguins):
    result = penguins["penguins"].invoke(b"Biscoe,50.0,15.2,218,5700,male", content_type="text/csv",
                                         accept="application/json")
    assert json.loads(result.body)["predictions"][0]["species"] == "Gentoo"


def test_serial_content_types_and_accept_only_to_the_last(echoes):
    result = echoes["serial"].invoke(b"payload\n", content_type="text/plain", accept="application/json",
                                     custom_attributes="trace=1")
    first, second = received(result.body)
    assert first["content_type"] == "text/plain" and first["accept"] is None
    # The charset the first container added travels verbatim, and the trace warns about it.
    assert second["content_type"] == "text/csv; charset=utf-8" and second["accept"] == "application/json"
    assert first["custom_attributes"] == second["custom_attributes"] == "trace=1"
    assert result.custom_attributes == "trace=1"
    assert "charset" in result.hops[1].warning
    assert [h.container for h in result.hops] == ["first", "second"]


def test_direct_mode_targets_one_container(echoes):
    client = echoes.boto3_client()
    answer = client.invoke_endpoint(EndpointName="direct", Body=b"x\n", ContentType="text/plain",
                                    TargetContainerHostname="beta")
    assert [hop["host"] for hop in received(answer["Body"].read())] == ["beta"]


@pytest.mark.parametrize("endpoint, target, words", [
    ("direct", None, "must set TargetContainerHostname"),
    ("direct", "gamma", "Container with hostname gamma is not found"),
    ("serial", "first", "only allowed for an endpoint whose inference execution mode is Direct"),
])
def test_direct_mode_validation_errors_through_boto3(echoes, endpoint, target, words):
    options = {"TargetContainerHostname": target} if target else {}
    with pytest.raises(ClientError) as caught:
        echoes.boto3_client().invoke_endpoint(EndpointName=endpoint, Body=b"x", ContentType="text/plain", **options)
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert words in error["Error"]["Message"]


def test_model_error_from_the_second_container_through_boto3(echoes):
    with pytest.raises(ClientError) as caught:
        echoes.boto3_client().invoke_endpoint(EndpointName="failing", Body=b"x", ContentType="text/plain")
    response = caught.value.response
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["Error"]["Message"].startswith("Received client error (415) from refuses with message")
    assert response["OriginalStatusCode"] == 415
    assert "ECHO_STATUS=415" in response["OriginalMessage"]
    assert response["LogStreamArn"].startswith("arn:aws:logs:")


def test_single_container_errors_say_from_primary(echoes):
    with pytest.raises(InvocationFailed) as caught:
        echoes["single"].invoke(b"x", content_type="text/plain")
    assert wire_error(caught.value).message.startswith("Received server error (500) from primary")


def test_unknown_endpoint_through_boto3(echoes):
    with pytest.raises(ClientError) as caught:
        echoes.boto3_client().invoke_endpoint(EndpointName="nowhere", Body=b"x")
    assert caught.value.response["Error"]["Message"] == "Endpoint nowhere of account 123456789012 not found."


def test_image_without_the_bind_to_port_label_is_refused_in_a_pipeline(example_images, docker_engine):
    definition = {"Containers": [{"Image": "sagemaker-emulator/broken-no-bind-label:1"}, {"Image": ECHO_IMAGE}]}
    with pytest.raises(EmulatorError, match="accept-bind-to-port=true Docker label") as caught:
        Emulator(definition).start()
    assert "Fix:" in str(caught.value) and "container-1" in str(caught.value)
    assert not _ours(docker_engine)


@pytest.mark.serial  # a bound in seconds: beside other tests' start-ups it would time them too
def test_crash_at_start_is_reported_with_its_logs_in_seconds(example_images, docker_engine):
    definition = {"Containers": [{"Image": "sagemaker-emulator/broken-crash-at-start:1"}, {"Image": ECHO_IMAGE}]}
    started = time.monotonic()
    with pytest.raises(StartupError) as caught:
        Emulator(definition, startup_timeout=120).start()
    assert time.monotonic() - started < 20
    message = str(caught.value)
    assert "container-1" in message and "exited with code 3" in message
    assert "failing on purpose" in message  # the container's own last log line
    assert not _ours(docker_engine)


def test_two_endpoints_side_by_side(docker_engine):
    definition = {"PrimaryContainer": {"Image": ECHO_IMAGE}}
    with Emulator(definition) as one, Emulator(definition) as two:
        urls = {one.serve(), two.serve()}
        assert len(urls) == 2
        assert one.endpoint.invoke(b"1", content_type="text/plain").body == b"1"
        assert two.endpoint.invoke(b"2", content_type="text/plain").body == b"2"
    assert not _ours(docker_engine)


def _ours(docker_engine) -> list:
    """This session's containers of the unnamed endpoints these tests start (a dict definition is `endpoint`)."""
    from emulator.containers import labels

    wanted = [f"{labels.SESSION}={labels.session_id()}", f"{labels.ENDPOINT}=endpoint"]
    return docker_engine.containers.list(all=True, filters={"label": wanted})
