"""One port for every AWS service a deploy script calls: which service a request is for, and the one
helper that forwards it to the owner process's internal server.

`sagemaker` and `sagemaker-runtime` both sign as `sagemaker`: the control plane is told apart by its
`X-Amz-Target: SageMaker.<Operation>` header, the runtime by its `/endpoints/` path (its asynchronous
invocations, which write to the state, are a service of their own that the owner answers). Other services by
the SigV4 credential scope's service name (the Authorization header, or X-Amz-Credential in a presigned
URL); an unsigned request outside the runtime's paths is taken as S3's (public or browser-style reads).
"""

from __future__ import annotations

import json
import re
from typing import Callable, Iterable, Iterator
from urllib.parse import quote

import urllib3

from emulator.front.wire_errors import REQUEST_ID, new_request_id

SAGEMAKER, RUNTIME, ASYNC_RUNTIME, S3 = "sagemaker", "runtime", "runtime-async", "s3"
ASYNC_SUFFIX = "/async-invocations"
RUNTIME_PATHS = ("/endpoints/", "/_emulator/")
CONTROL_URL_ENV = "SAGEMAKER_EMULATOR_CONTROL_URL"
SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/(?P<region>[^/,\s]*)/(?P<service>[^/,\s]+)/aws4_request")
QUERY_SCOPE = re.compile(r"(?:^|&)X-Amz-Credential=[^&]*?(?:/|%2F)\d{8}(?:/|%2F)(?P<region>[^&/%]*)(?:/|%2F)"
                         r"(?P<service>[^&/%]+)(?:/|%2F)aws4_request", re.IGNORECASE)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")  # us-east-1, us-gov-west-1
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
              "transfer-encoding", "upgrade"}
FORWARD_TIMEOUT = urllib3.Timeout(connect=5.0, read=120.0)  # above the longest DescribeEndpoint wait
CHUNK = 64 * 1024


def service_of(environ: dict) -> str:
    """`sagemaker` (control plane), `runtime` (invocations, /ping, the emulator's own routes), `runtime-async`
    (InvokeEndpointAsync), or the service name of the request's SigV4 scope (s3, sts, logs, ...)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("SageMaker."):
        return SAGEMAKER
    scope = _scope_service(environ)
    if scope not in (None, SAGEMAKER):
        return scope
    path = environ.get("PATH_INFO", "")
    if path.startswith("/endpoints/") and path.endswith(ASYNC_SUFFIX):
        return ASYNC_RUNTIME
    if path.startswith(RUNTIME_PATHS) or path == "/ping":
        return RUNTIME
    return SAGEMAKER if scope == SAGEMAKER else S3


def region_of(environ: dict) -> str | None:
    """The region the request is signed for, when it names one that looks like an AWS region."""
    match = _scope(environ)
    region = match.group("region").lower() if match else ""
    return region if REGION.fullmatch(region) else None


def _scope_service(environ: dict) -> str | None:
    match = _scope(environ)
    return match.group("service").lower() if match else None


def _scope(environ: dict) -> re.Match[str] | None:
    return SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or QUERY_SCOPE.search(environ.get("QUERY_STRING", ""))


class Dispatch:
    """WSGI middleware of the front's workers: invocations stay here (`runtime_app`), everything else
    goes to the owner's internal server."""

    def __init__(self, runtime_app: Callable, control_url: str | None):
        self.runtime_app = runtime_app
        self.control_url = control_url
        self._pool: urllib3.HTTPConnectionPool | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if service_of(environ) == RUNTIME or not self.control_url:
            return self.runtime_app(environ, start_response)
        if self._pool is None:  # per worker process: created after gunicorn's fork
            self._pool = urllib3.connection_from_url(self.control_url, maxsize=64, block=False)
        return forward(environ, start_response, self._pool)


def forward(environ: dict, start_response: Callable, pool: urllib3.HTTPConnectionPool) -> Iterable[bytes]:
    """Send the request on as it came (method, raw path and query, headers with Host and Authorization,
    the body streamed) and stream the answer back."""
    length = environ.get("CONTENT_LENGTH")
    body_input = environ["wsgi.input"]
    chunked = not length and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    body = _chunks(body_input) if chunked else (body_input if length and length != "0" else None)
    try:
        upstream = pool.urlopen(environ["REQUEST_METHOD"], _raw_target(environ), body=body, headers=_headers(environ),
                                chunked=chunked, retries=False, redirect=False, preload_content=False,
                                decode_content=False, timeout=FORWARD_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        message = f"The emulator's control plane did not answer ({exc}); see the output of `sagemaker-emulator serve`."
        answer = json.dumps({"__type": "ServiceUnavailable", "Message": message}).encode()
        start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                   ("x-amzn-ErrorType", "ServiceUnavailable"),
                                                   (REQUEST_ID, new_request_id()),
                                                   ("Content-Length", str(len(answer)))])
        return [answer]
    headers = [(name, value) for name, value in upstream.headers.items() if name.lower() not in HOP_BY_HOP]
    start_response(f"{upstream.status} {upstream.reason or ''}".rstrip(), headers)
    return _stream(upstream)


def _stream(upstream: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    try:
        yield from upstream.stream(CHUNK, decode_content=False)
    finally:
        upstream.release_conn()


def _chunks(stream) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _raw_target(environ: dict) -> str:
    """The path and query as the client sent them; from the parsed path when the client sent no path (`OPTIONS *`,
    or an absolute URL, whose host is not the one forwarded to)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")  # gunicorn, werkzeug: as the client sent it
    if raw and raw.startswith("/"):
        return raw
    path = "/" + quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/~!$&'()*+,;=:@").lstrip("/*")
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def _headers(environ: dict) -> dict[str, str]:
    headers = {}
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            header = name[5:].replace("_", "-").title()
        elif name in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            header = name.replace("_", "-").title()
        else:
            continue
        if header.lower() not in HOP_BY_HOP:
            headers[header] = value
    return headers
