"""Stateful sessions through real boto3 against a real stateful container (example_containers/stateful): SessionId
NEW_SESSION opens one on a copy, its calls stay on that copy while another session lives on another, the container's
closing ends it, and a closed, unknown or expired session is refused; response streaming uses a session but cannot
open one; a session of an inference component stays on the component's copy.

The rules, as SageMaker's developer guide (stateful-sessions) and botocore's sagemaker-runtime model give them:
- InvokeEndpoint's SessionId is NEW_SESSION or an id matching ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$; the container receives
  it in X-Amzn-SageMaker-Session-Id.
- The container opens a session by answering X-Amzn-SageMaker-New-Session-Id: <id>; Expires=<time>; the caller gets
  it as NewSessionId, and every later call with that id goes to the same instance.
- The container closes it by answering X-Amzn-SageMaker-Closed-Session-Id: <id>, the caller's ClosedSessionId.
- InvokeEndpointWithResponseStream takes the id of an open session, never NEW_SESSION (its pattern has none).
- A call with a session id that is not open is refused with a ValidationError (its words are the emulator's).
"""

from __future__ import annotations

import json
import time
from typing import Iterator

import pytest
from botocore.exceptions import ClientError

from emulator.api import Emulator
from tests.reliability.support import wait_for

pytestmark = pytest.mark.docker
STATEFUL_IMAGE = "sagemaker-emulator/stateful:1"
ENDPOINT = "sessions"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(startup_timeout=300, invocation_timeout=5) as running:
        running.serve()
        yield running


@pytest.fixture(scope="module")
def endpoint(example_images, sm) -> str:
    """Two instances of the stateful model."""
    sm.create_model(ModelName=ENDPOINT, PrimaryContainer={"Image": STATEFUL_IMAGE})
    sm.create_endpoint_config(EndpointConfigName=ENDPOINT, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": ENDPOINT, "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=ENDPOINT, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    return ENDPOINT


def call(runtime, endpoint: str, session: str, body: bytes = b"{}", **named: str) -> tuple[dict, dict, str]:
    """(the answer, its JSON body, the instance or copy that answered)."""
    answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="application/json",
                                     SessionId=session, **named)
    hops = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
    return answer, json.loads(answer["Body"].read()), hops[-1]["instance"]


def open_session(runtime, endpoint: str, **named: str) -> tuple[str, str]:
    """(the new session's id, the instance it lives on)."""
    answer, body, instance = call(runtime, endpoint, "NEW_SESSION", **named)
    session, _, expires = answer["NewSessionId"].partition("; Expires=")
    assert body == {"session": session, "calls": 1, "host": body["host"]} and expires.endswith("Z")
    return session, instance


def refused(call_it) -> str:
    with pytest.raises(ClientError) as error:
        call_it()
    response = error.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationError", 400)
    return response["Error"]["Message"]


def test_a_session_keeps_50_calls_on_one_copy_while_another_session_is_on_another(endpoint, runtime):
    first, first_instance = open_session(runtime, endpoint)
    # Sessions open on a copy drawn at random: open until one lands on the other instance.
    second, second_instance = next(opened for opened in (open_session(runtime, endpoint) for _ in range(30))
                                   if opened[1] != first_instance)
    for count in range(2, 52):
        for session, instance in ((first, first_instance), (second, second_instance)):
            _, body, answered = call(runtime, endpoint, session)
            assert (body["session"], body["calls"], answered) == (session, count, instance)


def test_a_closed_session_is_refused(endpoint, runtime):
    session, _ = open_session(runtime, endpoint)
    answer, body, _ = call(runtime, endpoint, session, b"close")
    assert answer["ClosedSessionId"] == session and body["calls"] == 2
    message = refused(lambda: call(runtime, endpoint, session))
    assert message == (f"Session {session} of endpoint {endpoint} is not open: it is unknown to the endpoint, or was "
                       "closed. Fix: open a new one with SessionId NEW_SESSION.")
    assert "is not open" in refused(lambda: call(runtime, endpoint, "never-opened"))


def test_response_streaming_uses_a_session_but_cannot_open_one(endpoint, runtime):
    session, instance = open_session(runtime, endpoint)
    for count in (2, 3):
        stream = runtime.invoke_endpoint_with_response_stream(EndpointName=endpoint, Body=b"{}", SessionId=session,
                                                              ContentType="application/json")
        hops = json.loads(stream["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
        body = b"".join(event["PayloadPart"]["Bytes"] for event in stream["Body"] if "PayloadPart" in event)
        assert json.loads(body)["calls"] == count and hops[-1]["instance"] == instance
    message = refused(lambda: runtime.invoke_endpoint_with_response_stream(
        EndpointName=endpoint, Body=b"{}", SessionId="NEW_SESSION", ContentType="application/json"))
    # botocore's model gives the streaming SessionId a pattern without NEW_SESSION: refused as SageMaker validates it.
    assert message == ("1 validation error detected: Value 'NEW_SESSION' at 'sessionId' failed to satisfy constraint: "
                       "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


def test_a_session_of_a_component_stays_on_its_copy_and_expires(example_images, sm, runtime):
    """On an endpoint of inference components, with sessions that live 2 seconds."""
    name = "sessions-components"
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    sm.create_inference_component(
        InferenceComponentName="stateful", EndpointName=name, VariantName="AllTraffic",
        Specification={"Container": {"Image": STATEFUL_IMAGE, "Environment": {"STATEFUL_SESSION_SECONDS": "2"}},
                       "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 256}},
        RuntimeConfig={"CopyCount": 2})
    wait_for(lambda: sm.describe_inference_component(InferenceComponentName="stateful")[
        "InferenceComponentStatus"] == "InService", 300, "the component in service")
    session, copy = open_session(runtime, name, InferenceComponentName="stateful")
    assert copy in ("copy-1", "copy-2")
    for count in range(2, 12):
        _, body, answered = call(runtime, name, session, InferenceComponentName="stateful")
        assert (body["calls"], answered) == (count, copy)
    time.sleep(2.5)
    message = refused(lambda: call(runtime, name, session, InferenceComponentName="stateful"))
    assert message == (f"Session {session} of endpoint {name} is not open: it expired. Fix: open a new one with "
                       "SessionId NEW_SESSION.")
    sm.delete_endpoint(EndpointName=name)
