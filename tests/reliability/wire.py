"""Raw HTTP to one `serve`, as AWS's wire: requests signed for a service, and the checks every answer of the port
must pass (a status under 500, a request id, a body its protocol's parser reads)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

import requests

ANSWER_TIMEOUT = 10  # seconds: an answer slower than this is a hang
JSON_SERVICES = ("sagemaker", "logs", "application-autoscaling", "runtime", "emulator")  # answered in JSON; s3 and sts in XML
REQUEST_ID_HEADERS = ("x-amzn-RequestId", "x-amz-request-id")


def authorization(service: str, region: str = "us-east-1") -> str:
    """A SigV4 Authorization header for `service` (the emulator reads the scope, not the signature)."""
    return (f"AWS4-HMAC-SHA256 Credential=x/20240101/{region}/{service}/aws4_request, SignedHeaders=host, "
            "Signature=0")


def control(url: str, operation: str, body: Any, **headers: str) -> requests.Response:
    """A sagemaker control-plane call; `body` as bytes or str is sent as it is, anything else as JSON."""
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(url, data=data, timeout=ANSWER_TIMEOUT, headers={
        "X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": authorization("sagemaker"), **headers})


def request_id(response: requests.Response) -> str | None:
    return next((response.headers[name] for name in REQUEST_ID_HEADERS if response.headers.get(name)), None)


def problems(service: str, response: requests.Response, method: str = "GET") -> list[str]:
    """What in `response` no AWS answer would do: a 5xx, no request id, a body its protocol cannot parse."""
    found = []
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    if not request_id(response):
        found.append("no request id")
    content_type = response.headers.get("Content-Type", "")
    body = response.content
    if method == "HEAD" or not body.strip():
        return found
    # The emulator's container-log route answers plain text, its refusal too; every other error is its protocol's.
    plain_text = service == "emulator" and content_type.startswith("text/plain")
    as_json = "json" in content_type or (response.status_code >= 400 and service in JSON_SERVICES and not plain_text)
    as_xml = "xml" in content_type or (response.status_code >= 400 and not as_json and not plain_text)
    try:
        if as_json:
            json.loads(body, parse_constant=_not_json)
        elif as_xml:
            ElementTree.fromstring(body)
    except (ValueError, ElementTree.ParseError) as error:
        found.append(f"body is not {'JSON' if as_json else 'XML'} ({error}): {body[:200]!r}")
    return found


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
