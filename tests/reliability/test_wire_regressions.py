"""Requests that once got a 5xx, or an answer AWS would not give, from one `serve`: each now gets AWS's 4xx
with a request id, in its service's protocol. Raw HTTP where boto3 would not send the request, boto3 elsewhere."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from emulator.api import Emulator
from tests.control.conftest import clients
from tests.reliability.wire import ANSWER_TIMEOUT, authorization, control, problems, request_id

pytestmark = pytest.mark.docker
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
LISTS = ["ListModels", "ListEndpoints", "ListEndpointConfigs", "ListTransformJobs"]


@pytest.fixture(scope="module")
def url() -> Any:
    with Emulator() as emulator:
        yield emulator.serve()


@pytest.fixture(scope="module")
def sm(url: str) -> Any:
    return clients(url, "sagemaker")


@pytest.fixture
def model(sm: Any) -> str:
    name = f"wire-{uuid.uuid4().hex[:8]}"
    sm.create_model(ModelName=name, PrimaryContainer={"Image": "any:1"})
    return name


def assert_refused(response: requests.Response, code: str, service: str = "sagemaker", status: int = 400) -> None:
    assert problems(service, response) == []
    assert response.status_code == status, response.text
    if service in ("sagemaker", "logs"):
        assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
        assert response.json()["__type"] == code, response.text
    else:
        assert f"<Code>{code}</Code>" in response.text


# -- the sagemaker control plane ----------------------------------------------------------------------------------
@pytest.mark.parametrize("token", ["²", "⁵", "①", "9" * 4301, "1", "bm90IGEgdG9rZW4="])
@pytest.mark.parametrize("operation", LISTS)
def test_a_bad_next_token_is_a_validation_exception(url, operation, token):
    response = control(url, operation, {"NextToken": token})
    assert_refused(response, "ValidationException")
    assert response.json()["Message"].startswith("Invalid pagination token")


def test_a_bad_next_token_of_list_tags_is_a_validation_exception(url, model):
    response = control(url, "ListTags", {"ResourceArn": f"{ARN}:model/{model}", "NextToken": "²"})
    assert_refused(response, "ValidationException")


@pytest.mark.parametrize("member", ["CreationTimeBefore", "CreationTimeAfter", "LastModifiedTimeBefore",
                                    "LastModifiedTimeAfter"])
@pytest.mark.parametrize("value", ["1" + "0" * 400, "1e400", "-1e400"])
def test_a_time_filter_out_of_range_is_a_validation_exception(url, member, value):
    operation = "ListModels" if member.startswith("Creation") else "ListEndpoints"
    assert_refused(control(url, operation, f'{{"{member}": {value}}}'), "ValidationException")


@pytest.mark.parametrize("containers", ['"PrimaryContainer": {"Image": "a:1", "Environment": {"A": "\\ud800"}}',
                                        '"Containers": [{"Image": "a:1", "Environment": {"A": "\\ud800"}}]'])
def test_a_lone_surrogate_is_a_validation_exception(url, containers):
    response = control(url, "CreateModel", f'{{"ModelName": "surrogate", {containers}}}')
    assert_refused(response, "ValidationException")
    assert "surrogate" in response.json()["Message"]


@pytest.mark.parametrize("member, value", [("InitialVariantWeight", "1e400"), ("InitialVariantWeight", "1" + "0" * 400),
                                           ("InitialInstanceCount", "1" + "0" * 400)])
def test_numbers_no_double_or_int_holds_are_validation_exceptions(url, sm, model, member, value):
    config = f"config-{uuid.uuid4().hex[:8]}"
    body = (f'{{"EndpointConfigName": "{config}", "ProductionVariants": [{{"VariantName": "v", "ModelName": "{model}", '
            f'"{member}": {value}}}]}}')
    assert_refused(control(url, "CreateEndpointConfig", body), "ValidationException")
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        sm.describe_endpoint_config(EndpointConfigName=config)


def test_options_asterisk_is_a_4xx_with_a_request_id(url):
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=ANSWER_TIMEOUT) as connection:
        connection.sendall(b"OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n")[0].decode().lower()
    assert head.split()[1].startswith("4"), head
    assert "x-amz-request-id:" in head or "x-amzn-requestid:" in head


def test_a_chunked_body_is_read(url, model):
    def chunks():
        yield b'{"ModelName": '
        yield json.dumps(model).encode() + b"}"
    response = requests.post(url, data=chunks(), timeout=ANSWER_TIMEOUT, headers={
        "X-Amz-Target": "SageMaker.DescribeModel", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": authorization("sagemaker")})
    assert response.status_code == 200 and response.json()["ModelName"] == model


# -- the wire as AWS speaks it -------------------------------------------------------------------------------------
def test_every_control_plane_answer_has_a_request_id(sm, model):
    assert sm.describe_model(ModelName=model)["ResponseMetadata"]["RequestId"]
    with pytest.raises(ClientError) as caught:
        sm.describe_model(ModelName="no-such-model")
    assert caught.value.response["ResponseMetadata"]["RequestId"]
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"


def test_runtime_and_emulator_answers_have_a_request_id(url):
    runtime = clients(url, "sagemaker-runtime")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="nowhere", Body=b"x")
    assert caught.value.response["ResponseMetadata"]["RequestId"]
    for path in ("/_emulator/endpoints", "/_emulator/nothing-here", "/ping"):
        assert request_id(requests.get(f"{url}{path}", timeout=ANSWER_TIMEOUT)), path


def test_arns_carry_the_region_of_the_request(url):
    europe = boto3.client("sagemaker", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    name = f"europe-{uuid.uuid4().hex[:8]}"
    model_arn = europe.create_model(ModelName=name, PrimaryContainer={"Image": "any:1"})["ModelArn"]
    assert model_arn == f"arn:aws:sagemaker:eu-west-1:123456789012:model/{name}"
    assert europe.describe_model(ModelName=name)["ModelArn"] == model_arn
    assert europe.list_tags(ResourceArn=model_arn)["Tags"] == []


@pytest.mark.parametrize("where", ["arn:aws:sagemaker:us-east-1:999999999999", "arn:aws:sagemaker:eu-west-1:123456789012"])
def test_tags_of_another_account_or_region_are_not_found(sm, model, where):
    for call in (lambda arn: sm.list_tags(ResourceArn=arn),
                 lambda arn: sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}])):
        with pytest.raises(ClientError) as caught:
            call(f"{where}:model/{model}")
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert "Could not find model" in caught.value.response["Error"]["Message"]
    assert sm.list_tags(ResourceArn=f"{ARN}:model/{model}")["Tags"] == []


@pytest.mark.parametrize("key", ["aws:team", "AWS:team"])
def test_tag_keys_of_aws_s_prefix_are_refused(sm, model, key):
    with pytest.raises(ClientError, match="System prefix 'aws:' reserved for AWS usage"):
        sm.add_tags(ResourceArn=f"{ARN}:model/{model}", Tags=[{"Key": key, "Value": "1"}])
    with pytest.raises(ClientError, match="System prefix 'aws:' reserved for AWS usage"):
        sm.create_model(ModelName=f"{model}-tagged", PrimaryContainer={"Image": "any:1"}, Tags=[{"Key": key, "Value": "1"}])
    with pytest.raises(ClientError, match="System prefix 'aws:' reserved for AWS usage"):
        sm.delete_tags(ResourceArn=f"{ARN}:model/{model}", TagKeys=[key])


def test_next_token_is_opaque_and_survives_inserts_and_deletes(sm):
    prefix = f"paged-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{index}" for index in range(3)]
    for name in names:
        sm.create_model(ModelName=name, PrimaryContainer={"Image": "any:1"})
    ascending = {"NameContains": prefix, "SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 1}
    first = sm.list_models(**ascending)
    assert not first["NextToken"].isdigit()
    sm.create_model(ModelName=f"{prefix}-0a", PrimaryContainer={"Image": "any:1"})  # sorts before the next page
    second = sm.list_models(**ascending, NextToken=first["NextToken"])
    sm.delete_model(ModelName=names[0])
    sm.delete_model(ModelName=names[1])  # the last item a page returned is gone: its token still holds
    third = sm.list_models(**ascending, NextToken=second["NextToken"])
    seen = [page["Models"][0]["ModelName"] for page in (first, second, third)]
    assert seen == [names[0], f"{prefix}-0a", names[2]]


def test_a_listing_neither_repeats_nor_skips_while_others_write(sm):
    """Traversals page by page while a thread creates and deletes models of the same prefix: every model that
    existed throughout is in every traversal exactly once."""
    prefix = f"steady-{uuid.uuid4().hex[:6]}"
    steady = {f"{prefix}-{index:02d}" for index in range(12)}
    for name in steady:
        sm.create_model(ModelName=name, PrimaryContainer={"Image": "any:1"})
    stop = threading.Event()

    def churn() -> None:
        count = 0
        while not stop.is_set():
            name = f"{prefix}-churn-{count % 6}"
            sm.create_model(ModelName=name, PrimaryContainer={"Image": "any:1"})
            sm.delete_model(ModelName=name)
            count += 1

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        for sort in ({}, {"SortBy": "Name", "SortOrder": "Ascending"}, {"SortBy": "Name"},
                     {"SortBy": "CreationTime", "SortOrder": "Ascending"}) * 3:
            listed = [model["ModelName"] for page in sm.get_paginator("list_models").paginate(
                NameContains=prefix, **sort, PaginationConfig={"PageSize": 2}) for model in page["Models"]]
            assert len(listed) == len(set(listed)), f"repeated: {listed}"
            assert steady <= set(listed), f"skipped: {steady - set(listed)}"
    finally:
        stop.set()
        writer.join()


# -- the embedded S3, STS and CloudWatch Logs ---------------------------------------------------------------------
S3_SIGNED = {"Authorization": authorization("s3")}
LOGS = {"Authorization": authorization("logs"), "Content-Type": "application/x-amz-json-1.1"}
STS = {"Authorization": authorization("sts"), "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def bucket(url: str) -> str:
    assert requests.put(f"{url}/wire-bucket", headers=S3_SIGNED, timeout=ANSWER_TIMEOUT).status_code == 200
    return "wire-bucket"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize("headers", [{}, S3_SIGNED], ids=["unsigned", "s3-signed"])
def test_writes_to_the_s3_root_are_method_not_allowed(url, method, headers):
    for body in (None, b"<x/>", b"junk"):
        response = requests.request(method, f"{url}/", data=body, headers=headers, timeout=ANSWER_TIMEOUT)
        assert_refused(response, "MethodNotAllowed", "s3", status=405)


@pytest.mark.parametrize("headers", [{}, S3_SIGNED], ids=["unsigned", "s3-signed"])
def test_head_of_the_s3_root_is_no_5xx(url, headers):
    response = requests.head(f"{url}/", headers=headers, timeout=ANSWER_TIMEOUT)
    assert problems("s3", response, "HEAD") == []


def test_an_empty_target_header_is_answered_as_s3(url):
    response = requests.post(f"{url}/", data=b"{}", headers={"X-Amz-Target": ""}, timeout=ANSWER_TIMEOUT)
    assert_refused(response, "MethodNotAllowed", "s3", status=405)


@pytest.mark.parametrize("method, target, body, status, code", [
    ("POST", "{bucket}", None, 400, "MalformedPOSTRequest"),
    ("POST", "{bucket}/key", None, 405, "MethodNotAllowed"),
    ("GET", "{bucket}?list-type=2&max-keys=-1", None, 400, "InvalidArgument"),
    ("GET", "{bucket}?list-type=2&max-keys=abc", None, 400, "InvalidArgument"),
    ("PUT", "new-bucket-{unique}", b"not xml", 400, "MalformedXML"),
    ("POST", "{bucket}?delete", b"<x/>", 400, "MalformedXML"),
    ("PUT", "{bucket}?acl", b"<x", 400, "MalformedACLError"),
    ("PUT", "{bucket}?policy", b"", 400, "MalformedPolicy"),
    ("PUT", "{bucket}?acl=&policy=", b"junk", 400, "MalformedPolicy"),
    # moto stored any website body and gave it back to GET ?website as its "XML" (a fuzz example's bytes)
    ("PUT", "{bucket}?website", b"i\xd2\xc8U", 400, "MalformedXML"),
    ("PUT", "{bucket}?website", b"<Other/>", 400, "MalformedXML"),
    ("PUT", "{bucket}/key?partNumber=1&uploadId=nope", b"x", 404, "NoSuchUpload"),
    ("POST", "{bucket}/key?uploadId=nope", b"<CompleteMultipartUpload/>", 404, "NoSuchUpload"),
])
def test_s3_mistakes_get_s3_s_errors(url, bucket, method, target, body, status, code):
    path = target.format(bucket=bucket, unique=uuid.uuid4().hex[:8])
    response = requests.request(method, f"{url}/{path}", data=body, headers=S3_SIGNED, timeout=ANSWER_TIMEOUT)
    assert_refused(response, code, "s3", status=status)


def test_an_s3_error_quoting_a_control_character_is_still_xml(url, bucket):
    response = requests.get(f"{url}/{bucket}/%1F", timeout=ANSWER_TIMEOUT)
    assert_refused(response, "NoSuchKey", "s3", status=404)


def test_a_wrong_method_on_an_asynchronous_invocation_is_json(url):
    response = requests.get(f"{url}/endpoints/nowhere/async-invocations", headers={"Authorization": authorization("sagemaker")},
                            timeout=ANSWER_TIMEOUT)
    assert problems("runtime", response) == [] and response.status_code == 405
    assert response.json()["__type"] == "UnknownOperationException"


def test_a_scope_without_a_service_is_a_malformed_authorization(url):
    response = requests.get(f"{url}/", timeout=ANSWER_TIMEOUT, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1//aws4_request, SignedHeaders=host, Signature=0"})
    assert_refused(response, "AuthorizationHeaderMalformed", "s3")


@pytest.mark.parametrize("target, body, code", [
    ("Logs_20140328.CreateLogGroup", b"{}", "InvalidParameterException"),
    ("Logs_20140328.CreateLogGroup", b'{"logGroupName": 5}', "InvalidParameterException"),
    ("Logs_20140328.NoSuchOperation", b"{}", "UnknownOperationException"),
    ("Logs_20140328.CreateLogGroup", b"{not json", "SerializationException"),
])
def test_logs_mistakes_get_logs_errors(url, target, body, code):
    response = requests.post(f"{url}/", data=body, headers={**LOGS, "X-Amz-Target": target}, timeout=ANSWER_TIMEOUT)
    assert_refused(response, code, "logs")


@pytest.mark.parametrize("body, code", [
    ("Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/r", "ValidationError"),
    ("Action=NoSuchAction&Version=2011-06-15", "InvalidAction"),
    ("Action=GetFederationToken&Version=2011-06-15&Name=%08", "ValidationError"),
    ("Action=GetFederationToken&Version=2011-06-15&Name=n&DurationSeconds=many", "ValidationError"),
])
def test_sts_mistakes_get_sts_errors(url, body, code):
    assert_refused(requests.post(f"{url}/", data=body, headers=STS, timeout=ANSWER_TIMEOUT), code, "sts")


def test_the_embedded_services_still_answer_botocore(url):
    """The checks in front of moto refuse nothing a real client sends."""
    sts = clients(url, "sts")
    assert sts.get_caller_identity()["Account"] == "123456789012"
    role = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="session", DurationSeconds=900)
    assert role["Credentials"]["AccessKeyId"]
    logs = clients(url, "logs")
    group = f"/wire/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000),
                                                                                    "message": "m"}])
    assert [event["message"] for event in logs.get_log_events(logGroupName=group, logStreamName="s")["events"]] == ["m"]
    answer = logs.describe_log_groups(logGroupNamePrefix=group)
    assert answer["ResponseMetadata"]["RequestId"]
    s3 = clients(url, "s3")
    s3.create_bucket(Bucket="wire-policy")
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    assert s3.put_bucket_policy(Bucket="wire-policy", Policy=policy)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert json.loads(s3.get_bucket_policy(Bucket="wire-policy")["Policy"]) == json.loads(policy)
