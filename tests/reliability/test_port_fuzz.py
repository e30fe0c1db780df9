"""Fuzzed raw HTTP to every service on one `serve`'s port: sagemaker, sagemaker-runtime, S3, STS, CloudWatch Logs,
CloudWatch, Application Auto Scaling and the emulator's own /_emulator/ routes. No answer may be a 5xx, lack a request id, carry a body its protocol's
parser refuses, or take over 10 s (wire.problems). Bounded: EXAMPLES requests per service, about a minute in all.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

import botocore.session
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.api import Emulator
from tests.reliability.wire import ANSWER_TIMEOUT, authorization, problems

pytestmark = pytest.mark.docker
EXAMPLES = 400  # requests per service; seven services, about a minute
BUCKET, KEY = "fuzz-bucket", "in/object.csv"
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SENT: list[str] = []  # one entry per request, for the count docs/guarantees.md records

ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
header_values = ascii_text.map(str.strip)
# An object key XML can write: S3 lists a key of control characters as XML no parser reads (AWS's too: clients ask
# for encoding-type=url), so keys the fuzz creates stay clear of them.
object_keys = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)  # what HTTP clients send: no whitespace around a value
any_text = st.text(max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70), st.floats(),
                    any_text, st.sampled_from(["", "a" * 300, "s3://fuzz-bucket/in/", "arn:aws:sagemaker:us-east-1:"
                                               "123456789012:model/m", "1" + "0" * 400, "²", "\ud800"]))


@lru_cache(maxsize=None)
def model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def operations(service: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(sorted(model(service).operation_names)), ascii_text)


def members(service: str) -> list[str]:
    """Every member name of every input shape of `service`: bodies that look like real calls."""
    names = set()
    for operation in model(service).operation_names:
        shape = model(service).operation_model(operation).input_shape
        names.update(shape.members if shape is not None else ())
    return sorted(names)


def json_bodies(service: str) -> st.SearchStrategy[bytes]:
    keys = st.one_of(st.sampled_from(members(service)), any_text)
    values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
    documents = st.dictionaries(keys, values, max_size=6).map(lambda body: json.dumps(body).encode())
    return st.one_of(documents, st.binary(max_size=200), st.sampled_from([b"", b"{", b"[]", b"null", b'{"a": NaN}',
                                                                           b'{"a": 1e400}', b'"\\ud800"']))


xml_bodies = st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"<x/>", b"<x", b"<?xml version='1.0'?>",
                                                                  b"<Delete><Object><Key>k</Key></Object></Delete>",
                                                                  b"<CompleteMultipartUpload/>"]))


@pytest.fixture(scope="module")
def url() -> Any:
    with Emulator() as emulator:
        served = emulator.serve()
        signed = {"Authorization": authorization("s3")}
        requests.put(f"{served}/{BUCKET}", headers=signed, timeout=ANSWER_TIMEOUT).raise_for_status()
        requests.put(f"{served}/{BUCKET}/{KEY}", data=b"1\n", headers=signed, timeout=ANSWER_TIMEOUT).raise_for_status()
        yield served
    print(f"\nport fuzz: {len(SENT)} requests")


def send(url: str, service: str, method: str, path: str, *, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> None:
    SENT.append(service)
    try:
        response = requests.request(method, f"{url}{path}", data=body, headers=headers or {}, timeout=ANSWER_TIMEOUT,
                                    allow_redirects=False)
    except requests.Timeout:
        pytest.fail(f"{service}: {method} {path} hung over {ANSWER_TIMEOUT} s")
    found = problems(service, response, method)
    assert not found, f"{service}: {method} {path[:200]} {headers} {body!r:.300} -> {response.status_code}: {found}"


def signed(service: str | None, **headers: str) -> dict[str, str]:
    return {**({"Authorization": authorization(service)} if service is not None else {}), **headers}


@FUZZ
@given(operation=operations("sagemaker"), body=json_bodies("sagemaker"),
       content_type=st.sampled_from(["application/x-amz-json-1.1", "application/json", "text/plain", ""]))
def test_sagemaker(url, operation, body, content_type):
    send(url, "sagemaker", "POST", "/", body=body,
         headers=signed("sagemaker", **{"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": content_type}))


RUNTIME_HEADERS = ["Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes", "X-Amzn-SageMaker-Target-Model",
                   "X-Amzn-SageMaker-Target-Variant", "X-Amzn-SageMaker-Target-Container-Hostname",
                   "X-Amzn-SageMaker-Inference-Id", "X-Amzn-SageMaker-Enable-Explanations",
                   "X-Amzn-SageMaker-Accept", "X-Amzn-SageMaker-InputLocation", "X-Amzn-SageMaker-RequestTTLSeconds"]


@FUZZ
@given(method=st.sampled_from(["POST", "POST", "GET", "PUT"]), name=st.one_of(any_text, st.just("nowhere")),
       route=st.sampled_from(["invocations", "invocations-response-stream", "async-invocations", ""]),
       headers=st.dictionaries(st.sampled_from(RUNTIME_HEADERS), header_values, max_size=4), body=st.binary(max_size=300))
def test_sagemaker_runtime(url, method, name, route, headers, body):
    send(url, "runtime", method, f"/endpoints/{quote(name, safe='')}/{route}", body=body,
         headers=signed("sagemaker", **headers))


S3_QUERY = ["acl", "delete", "uploads", "uploadId", "partNumber", "list-type", "max-keys", "prefix", "delimiter",
            "tagging", "versioning", "location", "cors", "policy", "versionId", "continuation-token", "start-after",
            "encoding-type", "marker", "lifecycle", "website", "x-id"]


@FUZZ
@given(method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]),
       bucket=st.one_of(st.just(BUCKET), st.just(""), ascii_text), key=st.one_of(st.just(KEY), st.just(""), object_keys),
       query=st.dictionaries(st.sampled_from(S3_QUERY), st.one_of(st.just(""), ascii_text), max_size=3),
       body=xml_bodies, signature=st.sampled_from([None, "s3", ""]))
def test_s3(url, method, bucket, key, query, body, signature):
    path = "/" + quote(bucket, safe="") + (f"/{quote(key)}" if key else "")
    authorization_header = (signed("s3") if signature == "s3" else
                            {"Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1//aws4_request, "
                                              "SignedHeaders=host, Signature=0"} if signature == "" else {})
    send(url, "s3", method, f"{path}?{urlencode(query)}" if query else path, body=body, headers=authorization_header)


@FUZZ
@given(action=operations("sts"), params=st.dictionaries(st.sampled_from(members("sts")), any_text, max_size=4),
       in_body=st.booleans())
def test_sts(url, action, params, in_body):
    query = urlencode({"Action": action, "Version": "2011-06-15", **params})
    if in_body:
        send(url, "sts", "POST", "/", body=query.encode(),
             headers=signed("sts", **{"Content-Type": "application/x-www-form-urlencoded"}))
    else:
        send(url, "sts", "GET", f"/?{query}", headers=signed("sts"))


@FUZZ
@given(operation=operations("logs"), body=json_bodies("logs"))
def test_logs(url, operation, body):
    send(url, "logs", "POST", "/", body=body, headers=signed(
        "logs", **{"X-Amz-Target": f"Logs_20140328.{operation}", "Content-Type": "application/x-amz-json-1.1"}))


@FUZZ
@given(operation=operations("cloudwatch"), body=json_bodies("cloudwatch"), query_protocol=st.booleans())
def test_cloudwatch(url, operation, body, query_protocol):
    if query_protocol:  # older clients: Action=...&Version=... in a form
        form = urlencode({"Action": operation, "Version": "2010-08-01", **{name: "1" for name in members("cloudwatch")[:3]}})
        send(url, "monitoring", "POST", "/", body=form.encode() + body[:40],
             headers=signed("monitoring", **{"Content-Type": "application/x-www-form-urlencoded"}))
    else:
        send(url, "monitoring", "POST", "/", body=body, headers=signed("monitoring", **{
            "X-Amz-Target": f"GraniteServiceVersion20100801.{operation}", "Content-Type": "application/x-amz-json-1.0"}))


@FUZZ
@given(operation=operations("application-autoscaling"), body=json_bodies("application-autoscaling"))
def test_application_auto_scaling(url, operation, body):
    send(url, "application-autoscaling", "POST", "/", body=body, headers=signed("application-autoscaling", **{
        "X-Amz-Target": f"AnyScaleFrontendService.{operation}", "Content-Type": "application/x-amz-json-1.1"}))


EMULATOR_SEGMENTS = ["endpoints", "invocations", "pipelines", "static", "health", "containers", "logs", "nowhere",
                     "index.html", "app.js", "%2e%2e"]


def segment(text: str) -> str:
    """`text` as one path segment; its dots encoded, so the client does not resolve `..` away before sending."""
    return quote(text, safe="").replace(".", "%2E")


@FUZZ
@given(method=st.sampled_from(["GET", "GET", "POST", "DELETE", "PUT"]),
       segments=st.lists(st.one_of(st.sampled_from(EMULATOR_SEGMENTS), any_text.map(segment)),
                         max_size=5),
       query=st.dictionaries(st.sampled_from(["bodies", "limit", "since", "endpoint", "tail"]), ascii_text, max_size=2),
       body=st.binary(max_size=100), signature=st.sampled_from([None, "sagemaker", ""]))
def test_emulator_routes(url, method, segments, query, body, signature):
    path = "/_emulator/" + "/".join(segments)
    send(url, "emulator", method, f"{path}?{urlencode(query)}" if query else path, body=body, headers=signed(signature))
