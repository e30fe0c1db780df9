"""Hostile control-plane requests (fuzzed JSON bodies and members, names over their limits, unknown members,
huge lists) get a ValidationException or UnknownOperationException, never a 500 or a traceback, and
the state keeps what it had. The owner's internal server is called in-process, as the front forwards to it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from emulator.control.plane import ControlPlane
from emulator.control.server import InternalServer
from emulator.control.store import Store

KEPT = "kept-model-5a1f"
OPERATIONS = ["CreateModel", "DescribeModel", "DeleteModel", "ListModels", "CreateEndpointConfig",
              "DescribeEndpointConfig", "DeleteEndpointConfig", "ListEndpointConfigs", "CreateEndpoint",
              "DescribeEndpoint", "UpdateEndpoint", "UpdateEndpointWeightsAndCapacities", "DeleteEndpoint",
              "ListEndpoints", "AddTags", "ListTags", "DeleteTags"]
MEMBERS = ["ModelName", "PrimaryContainer", "Containers", "Image", "Environment", "EndpointName", "EndpointConfigName",
           "ProductionVariants", "VariantName", "InitialVariantWeight", "Tags", "Key", "Value", "MaxResults",
           "NextToken", "SortBy", "SortOrder", "NameContains", "CreationTimeAfter", "ResourceArn", "TagKeys",
           "DesiredWeightsAndCapacities", "InferenceExecutionConfig", "Mode", "ModelDataUrl", "ContainerHostname"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False), st.text(max_size=80), st.text(alphabet="ab-", min_size=60, max_size=300))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.one_of(st.sampled_from(MEMBERS), st.text(max_size=10)), inner, max_size=6)),
    max_leaves=25)
bodies = st.dictionaries(st.one_of(st.sampled_from(MEMBERS), st.text(max_size=12)), values, max_size=8)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = Store(tmp_path_factory.mktemp("state"))
    plane = ControlPlane(store)
    plane.call("CreateModel", {"ModelName": KEPT, "PrimaryContainer": {"Image": "any:1"}})
    yield Client(InternalServer(plane))
    store.close()


def call(client: Any, operation: str, body: bytes) -> tuple[int, dict]:
    response = client.post("/", data=body, headers={"X-Amz-Target": f"SageMaker.{operation}",
                                                    "Content-Type": "application/x-amz-json-1.1"})
    return response.status_code, json.loads(response.data)


def assert_refused_or_answered(status: int, answer: dict) -> None:
    assert status in (200, 400), answer
    if status == 400:
        assert answer["__type"] in ("ValidationException", "UnknownOperationException"), answer
        assert "Traceback" not in answer["Message"] and len(answer["Message"]) < 5000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.sampled_from(OPERATIONS), body=bodies)
def test_fuzzed_members_never_make_a_500(client, operation, body):
    assert_refused_or_answered(*call(client, operation, json.dumps(body).encode()))
    assert call(client, "DescribeModel", json.dumps({"ModelName": KEPT}).encode())[0] == 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.one_of(st.sampled_from(OPERATIONS), st.text(max_size=40)), raw=st.binary(max_size=300))
def test_fuzzed_bytes_and_operation_names_never_make_a_500(client, operation, raw):
    if "\n" in operation or "\r" in operation:
        return  # not a header value any client can send
    assert_refused_or_answered(*call(client, operation, raw))


def test_names_over_their_limits_huge_lists_and_deep_nesting(client):
    cases = [
        ("CreateModel", {"ModelName": "m" * 10_000, "PrimaryContainer": {"Image": "i"}}, "length less than or equal to 63"),
        ("CreateEndpointConfig", {"EndpointConfigName": "c", "ProductionVariants": [{"VariantName": "v"}] * 100_000},
         "length less than or equal to 10"),
        ("CreateModel", {"ModelName": "m", "PrimaryContainer": {"Image": "i", "Environment": {f"K{i}": "v" for i in range(101)}}},
         "length less than or equal to 100"),
        ("CreateModel", {"ModelName": "m", "PrimaryContainer": {"Image": "i"}, "Surprise": 1}, "Unknown member 'Surprise'"),
        ("ListModels", {"MaxResults": 10**30}, "value less than or equal to 100"),
    ]
    for operation, body, words in cases:
        status, answer = call(client, operation, json.dumps(body).encode())
        assert (status, answer["__type"]) == (400, "ValidationException") and words in answer["Message"], answer
    deep = b"[" * 100_000 + b"]" * 100_000
    assert call(client, "CreateModel", deep)[1]["__type"] == "ValidationException"


def test_several_problems_are_listed_with_their_paths_as_aws_writes_them(client):
    body = {"EndpointConfigName": "bad name", "ProductionVariants": [{"VariantName": "v" * 64, "InitialVariantWeight": -1}]}
    status, answer = call(client, "CreateEndpointConfig", json.dumps(body).encode())
    assert status == 400 and answer["Message"].startswith("3 validation errors detected: ")
    assert "Value 'bad name' at 'endpointConfigName' failed to satisfy constraint" in answer["Message"]
    assert "at 'productionVariants.1.member.variantName' failed to satisfy constraint: Member must have length" in answer["Message"]
    assert "Value '-1' at 'productionVariants.1.member.initialVariantWeight'" in answer["Message"]
    tags = {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:model/x", "Tags": [{"Key": "ok\u00e9", "Value": "\u0000"}]}
    status, answer = call(client, "AddTags", json.dumps(tags).encode())  # the \p{...} patterns of tag values
    assert status == 400 and "at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression" in answer["Message"]
