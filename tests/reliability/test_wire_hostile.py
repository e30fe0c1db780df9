"""Hostile requests on the wire: each client mistake gets SageMaker's error and status, never a 500.

Through boto3 wherever boto3 can send the request; raw HTTP for what boto3 never sends (chunked
bodies, bytes that are not ASCII, wrong methods and paths, headers past any limit).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import Emulator
from emulator.invocation.chain import MAX_PAYLOAD_BYTES
from tests.reliability.support import client, echo

pytestmark = pytest.mark.docker
SAGEMAKER_HEADERS = ["Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes", "X-Amzn-SageMaker-Target-Model",
                     "X-Amzn-SageMaker-Target-Variant", "X-Amzn-SageMaker-Target-Container-Hostname",
                     "X-Amzn-SageMaker-Inference-Id", "X-Amzn-SageMaker-Enable-Explanations"]


@pytest.fixture(scope="module")
def url(docker_engine):
    definition = {"Endpoints": {"wire": {"PrimaryContainer": echo(ECHO_MODE="echo")},
                                "wire-direct": {"Containers": [echo("a"), echo("b")],
                                                "InferenceExecutionConfig": {"Mode": "Direct"}}}}
    with Emulator(definition) as emulator:
        yield emulator.serve()


@pytest.fixture(scope="module")
def runtime(url):
    return client(url)


@pytest.mark.parametrize("options, words", [
    ({"EndpointName": "nowhere"}, "Endpoint nowhere of account 123456789012 not found."),
    ({"EndpointName": "bad_name!"}, "Value 'bad_name!' at 'endpointName' failed to satisfy constraint"),
    ({"EndpointName": "a/b"}, "Value 'a/b' at 'endpointName' failed to satisfy constraint"),
    ({"EndpointName": "-a"}, "at 'endpointName' failed to satisfy constraint"),
    ({"EndpointName": "a" * 64}, "at 'endpointName' failed to satisfy constraint"),
    ({"Body": b"a" * (MAX_PAYLOAD_BYTES + 1)}, f"exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes"),
    ({"CustomAttributes": "a" * 1025}, "length between 0 and 1024"),
    ({"CustomAttributes": "a" * 20_000}, "length between 0 and 1024"),  # past gunicorn's default header limit
    ({"CustomAttributes": "café"}, "visible US-ASCII"),
    ({"InferenceId": "a" * 65}, "length between 1 and 64"),
    ({"ContentType": "a" * 1025}, "length between 0 and 1024"),
    ({"EndpointName": "wire-direct"}, "must set TargetContainerHostname"),
    ({"EndpointName": "wire-direct", "TargetContainerHostname": "nope"}, "Container with hostname nope is not found"),
    ({"EndpointName": "wire-direct", "TargetContainerHostname": "a" * 64}, "length between 0 and 63"),
    ({"TargetContainerHostname": "a"}, "only allowed for an endpoint whose inference execution mode is Direct"),
])
def test_client_mistakes_are_validation_errors_through_boto3(runtime, options, words):
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(**{"EndpointName": "wire", "Body": b"x", **options})
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationError", 400)
    assert words in error["Error"]["Message"]


def test_a_body_of_exactly_the_limit_passes(runtime):
    answer = runtime.invoke_endpoint(EndpointName="wire", Body=b"a" * MAX_PAYLOAD_BYTES, ContentType="text/plain")
    assert len(answer["Body"].read()) == MAX_PAYLOAD_BYTES


def test_an_oversize_chunked_body_is_refused_not_cut(url):
    """No Content-Length to refuse early: the body is read up to one byte past the limit, then refused."""
    chunks = (b"a" * 1024 * 1024 for _ in range(7))
    response = requests.post(f"{url}/endpoints/wire/invocations", data=chunks, timeout=30)
    assert response.status_code == 400 and response.headers["x-amzn-ErrorType"] == "ValidationError"


def test_a_form_body_reaches_the_container_untouched(url):
    response = requests.post(f"{url}/endpoints/wire/invocations", data=b"a=1&b=2", timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and response.content == b"a=1&b=2"


@pytest.mark.parametrize("method, path, headers, status, error_type", [
    ("GET", "/endpoints/wire/invocations", {}, 405, "UnknownOperationException"),
    ("POST", "/endpoints/wire/nothing-here", {}, 404, "UnknownOperationException"),
    ("POST", "/endpoints/%FF%FE/invocations", {}, 400, "ValidationError"),
    ("POST", "/endpoints/wire/invocations", {"X-Amzn-SageMaker-Custom-Attributes": "a\x01b"}, 400, None),
    ("POST", "/endpoints/wire/invocations", {"X-Anything": "a" * 70_000}, 431, None),
    ("POST", "/endpoints/" + "a" * 5000 + "/invocations", {}, 414, None),
])
def test_raw_requests_get_a_client_error(url, method, path, headers, status, error_type):
    """The last three are refused by gunicorn before the app (plain HTML, still a 4xx)."""
    response = requests.request(method, url + path, data=b"x", headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers.get("x-amzn-ErrorType") == error_type


header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=1100).map(str.strip)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["wire", "wire-direct"]) | st.text(max_size=70),
       headers=st.dictionaries(st.sampled_from(SAGEMAKER_HEADERS), header_values, max_size=4),
       body=st.binary(max_size=64))
def test_no_request_makes_the_emulator_answer_500(url, name, headers, body):
    response = requests.post(f"{url}/endpoints/{quote(name, safe='')}/invocations", data=body, headers=headers,
                             timeout=10)
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.headers.get("Content-Type") == "application/json":
        assert "Message" in response.json()
