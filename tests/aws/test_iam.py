"""IAM and the other query-protocol services on the owner's real internal server, called with boto3 as the
SageMaker SDK calls them before a deploy: every role exists, is trusted by SageMaker and is allowed; a service
the emulator does not answer raises a ClientError naming it (not a parse error)."""

from __future__ import annotations

import json
from typing import Any, Iterator
from urllib.parse import quote
from xml.etree import ElementTree

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from emulator.aws import iam
from emulator.containers.docker_backend import DockerBackend
from emulator.control.server import InternalServer
from emulator.hosting.aws_services import AwsServices


@pytest.fixture(scope="module")
def owner_url(tmp_path_factory) -> Iterator[str]:
    """The owner's internal server with the AWS services mounted as `serve` mounts them (no control plane)."""
    internal = InternalServer(plane=None).start()
    services = AwsServices(DockerBackend(), tmp_path_factory.mktemp("s3")).start(internal)
    yield internal.url
    services.stop()
    internal.stop()


@pytest.fixture(scope="module")
def client(owner_url: str) -> Any:
    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=owner_url, region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x", config=Config(retries={"total_max_attempts": 1}))
    return make


def test_a_role_never_created_exists_and_trusts_sagemaker(client):
    iam = client("iam")
    role = iam.get_role(RoleName="never-created")["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/never-created"
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"} in trust
    assert iam.get_role(RoleName="never-created")["Role"]["RoleId"] == role["RoleId"]  # the same role each time


def test_a_created_role_is_answered_as_created(client):
    iam = client("iam")
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="created", AssumeRolePolicyDocument=json.dumps(document))
    assert iam.get_role(RoleName="created")["Role"]["AssumeRolePolicyDocument"] == document
    assert "created" in [role["RoleName"] for role in iam.list_roles()["Roles"]]


def test_every_action_simulated_is_allowed(client):
    paginator = client("iam").get_paginator("simulate_principal_policy")
    actions = ["ecr:GetAuthorizationToken", "s3:GetObject", "sagemaker:CreateEndpoint"]
    results = [result for page in paginator.paginate(PolicySourceArn="arn:aws:iam::123456789012:role/any",
                                                     ActionNames=actions) for result in page["EvaluationResults"]]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in results] == [(a, "allowed") for a in actions]


def test_an_iam_call_not_answered_is_a_client_error(client):
    with pytest.raises(ClientError) as raised:
        client("iam").simulate_custom_policy(PolicyInputList=["{}"], ActionNames=["s3:GetObject"])
    assert raised.value.response["Error"]["Code"] == "InvalidAction"
    assert "SimulateCustomPolicy" in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize("service, call, signing_name", [
    ("sns", lambda c: c.list_topics(), "sns"),
    ("cloudformation", lambda c: c.list_stacks(), "cloudformation"),
    ("ec2", lambda c: c.describe_instances(), "ec2"),
    ("elbv2", lambda c: c.describe_load_balancers(), "elasticloadbalancing")])
def test_a_query_protocol_service_not_answered_is_a_client_error_naming_it(client, service, call, signing_name):
    with pytest.raises(ClientError) as raised:
        call(client(service))
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidAction"
    assert f"does not answer {signing_name}" in error["Message"] and "AWS_ENDPOINT_URL_" in error["Message"]


@settings(max_examples=200, deadline=None)
@given(query=st.text(max_size=200), body=st.binary(max_size=2000), length=st.one_of(st.none(), st.text(max_size=8)))
def test_any_query_request_not_answered_gets_one_xml_error(query, body, length):
    """Whatever the form says (or claims as its length), the answer is one parseable ErrorResponse."""
    environ = EnvironBuilder(method="POST", query_string=quote(query, safe="=&"), data=body,
                             content_type="application/x-www-form-urlencoded").get_environ()
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    environ[iam.SERVICE_KEY] = "sns"
    started: list[str] = []
    answer = b"".join(iam.unanswered(environ, lambda status, headers: started.append(status)))
    assert started == ["400 Error"]
    error = ElementTree.fromstring(answer).find("Error")
    assert error.findtext("Code") == "InvalidAction" and "does not answer sns" in error.findtext("Message")


def test_the_caller_is_a_role_that_exists(client):
    """The SDK v3 takes the caller's role when none is given: STS names an assumed role, IAM has it."""
    identity = client("sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/sagemaker-emulator/emulator"
    role = client("iam").get_role(RoleName=identity["Arn"].split("/")[1])["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/sagemaker-emulator"


def test_credentials_sts_issued_keep_their_own_identity(client):
    assumed = client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/deployer", RoleSessionName="ci")
    keys = assumed["Credentials"]
    sts = boto3.client("sts", endpoint_url=client("sts").meta.endpoint_url, region_name="us-east-1",
                       aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"],
                       aws_session_token=keys["SessionToken"])
    assert sts.get_caller_identity()["Arn"] == "arn:aws:sts::123456789012:assumed-role/deployer/ci"
