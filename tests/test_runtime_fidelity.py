"""Where the runtime answers as SageMaker does, on real containers through boto3: payload limits
between and after containers, ModelError texts, and the header members the emulator does not run."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator
from emulator.invocation.chain import REALTIME_LIMITS
from tests.conftest import ECHO_IMAGE
from tests.reliability.support import client, echo

pytestmark = pytest.mark.docker
SEE = ("See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:"
       "group=/aws/sagemaker/Endpoints/{} in account 123456789012 for more information.")


@pytest.fixture(scope="module")
def runtime(docker_engine):
    definition = {"Endpoints": {
        "single": {"PrimaryContainer": echo(ECHO_MODE="append")},
        "failing": {"PrimaryContainer": echo(ECHO_STATUS="500")},
        "serial": {"Containers": [echo("first", ECHO_MODE="echo"), echo("second", ECHO_MODE="echo")]},
        # no ECHO_NAME: each echo names itself by its DNS hostname
        "named": {"Containers": [{"Image": ECHO_IMAGE, "ContainerHostname": name, "Environment": {"ECHO_MODE": "append"}}
                                 for name in ("alpha", "beta")]}}}
    with Emulator(definition) as emulator:
        yield client(emulator.serve())


def error_of(runtime, **request) -> dict:
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(**{"Body": b"x", "ContentType": "text/plain", **request})
    return caught.value.response


def test_containers_see_their_container_hostname_as_their_dns_hostname(runtime):
    answer = runtime.invoke_endpoint(EndpointName="named", Body=b"", ContentType="text/plain")["Body"].read()
    assert [json.loads(line)["host"] for line in answer.splitlines()] == ["alpha", "beta"]


def test_an_answer_over_5_mb_to_the_next_container_is_a_model_error(runtime):
    size = REALTIME_LIMITS.between + 1
    error = error_of(runtime, EndpointName="serial", Body=b"a" * size)
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ModelError", 424)
    assert error["Error"]["Message"] == (
        f"Received response from first with status code 200. However, the request payload from first to second is "
        f"{size} bytes, which has exceeded the maximum limit of 5 MB. {SEE.format('serial')}")
    assert error["OriginalStatusCode"] == 200
    # exactly 5 MB passes
    answer = runtime.invoke_endpoint(EndpointName="serial", Body=b"a" * REALTIME_LIMITS.between, ContentType="text/plain")
    assert len(answer["Body"].read()) == REALTIME_LIMITS.between


def test_an_answer_over_6_mb_to_the_caller_is_a_model_error(runtime):
    """The echo in `append` mode answers a 6 MB request plus one line: over the response limit."""
    error = error_of(runtime, EndpointName="single", Body=b"a" * REALTIME_LIMITS.request)
    assert error["Error"]["Code"] == "ModelError"
    assert error["Error"]["Message"].startswith("Received response from primary with status code 200. However, the "
                                                "response payload from primary is ")
    assert "exceeded the maximum limit of 6 MB" in error["Error"]["Message"]


def test_a_model_error_ends_with_the_cloudwatch_link_sagemaker_gives(runtime):
    error = error_of(runtime, EndpointName="failing")
    assert error["Error"]["Message"].startswith("Received server error (500) from primary with message ")
    assert error["Error"]["Message"].endswith(SEE.format("failing"))


@pytest.mark.parametrize("request_members, words", [
    ({"TargetModel": "m1.tar.gz"}, "Endpoint single is not a multi-model endpoint and does not support target model header."),
    ({"EnableExplanations": "`true`"}, "EnableExplanations (X-Amzn-SageMaker-Enable-Explanations) is not emulated"),
    ({"InferenceComponentName": "component-1"}, "Endpoint single hosts models, not inference components: remove "
                                                "InferenceComponentName (component-1) from the call."),
    ({"SessionId": "no-such-session"}, "Session no-such-session of endpoint single is not open: it is unknown to the "
                                       "endpoint, or was closed."),
    ({"SessionId": "not_a_session!"}, "Value 'not_a_session!' at 'sessionId' failed to satisfy constraint: Member must "
                                      "satisfy regular expression pattern: ^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"),
    ({"InferenceId": "tab\tinside"}, "at 'inferenceId' failed to satisfy constraint: Member must satisfy "
                                      "regular expression pattern: \\A\\S[\\p{Print}]*\\z"),
])
def test_header_members_the_emulator_does_not_run_are_refused_never_ignored(runtime, request_members, words):
    error = error_of(runtime, EndpointName="single", **request_members)
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationError", 400)
    assert words in error["Error"]["Message"]


def test_a_valid_inference_id_passes(runtime):
    answer = runtime.invoke_endpoint(EndpointName="single", Body=b"x", ContentType="text/plain", InferenceId="run-1 a.b")
    assert answer["Body"].read().startswith(b"x")
