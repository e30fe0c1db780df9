"""A front worker's one way to the owner process: forwarding a request as it came (the control plane, other
AWS services, the owner's /_emulator/ views) and asking it a question in JSON (a model load).

One connection pool per worker process, made on first use: after gunicorn's fork.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

import urllib3

from emulator.seam.wire_errors import ServiceUnavailable

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
              "transfer-encoding", "upgrade"}
FORWARD_TIMEOUT = urllib3.Timeout(connect=5.0, read=120.0)  # above the longest DescribeEndpoint wait
CHUNK = 64 * 1024


class OwnerUnreachable(Exception):
    """The owner did not answer a question (the text says why)."""


class OwnerClient:
    def __init__(self, url: str | None):
        """`url`: the owner's internal server; None where there is no owner (an exported pod's router)."""
        self.url = url
        self._pool: urllib3.HTTPConnectionPool | None = None

    @property
    def present(self) -> bool:
        return self.url is not None

    def _connection(self) -> urllib3.HTTPConnectionPool:
        if self._pool is None:
            self._pool = urllib3.connection_from_url(self.url, maxsize=64, block=False)
        return self._pool

    def forward(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Send the request on as it came (method, raw path and query, headers with Host and Authorization,
        the body streamed) and stream the answer back."""
        length = environ.get("CONTENT_LENGTH")
        body_input = environ["wsgi.input"]
        chunked = not length and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        body = _chunks(body_input) if chunked else (body_input if length and length != "0" else None)
        try:
            upstream = self._connection().urlopen(
                environ["REQUEST_METHOD"], _raw_target(environ), body=body, headers=_headers(environ), chunked=chunked,
                retries=False, redirect=False, preload_content=False, decode_content=False, timeout=FORWARD_TIMEOUT)
        except urllib3.exceptions.HTTPError as exc:
            error = ServiceUnavailable(f"The emulator's control plane did not answer ({exc}); see the output of "
                                       "`sagemaker-emulator serve`.")
            return error.wsgi(start_response)
        headers = [(name, value) for name, value in upstream.headers.items() if name.lower() not in HOP_BY_HOP]
        start_response(f"{upstream.status} {upstream.reason or ''}".rstrip(), headers)
        return _stream(upstream)

    def ask(self, path: str, question: dict[str, Any], timeout: urllib3.Timeout) -> dict[str, Any]:
        """POST `question` as JSON to the owner's `path` and return its JSON answer; OwnerUnreachable if none."""
        try:
            return json.loads(self._post(path, json.dumps(question).encode(), "application/json", timeout).data)
        except (urllib3.exceptions.HTTPError, ValueError) as exc:
            raise OwnerUnreachable(f"the emulator's owner process did not answer ({exc})") from None

    def send(self, path: str, body: bytes, content_type: str, timeout: urllib3.Timeout) -> None:
        """POST `body` to the owner's `path`; OwnerUnreachable unless it answers 200."""
        try:
            response = self._post(path, body, content_type, timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise OwnerUnreachable(f"the emulator's owner process did not answer ({exc})") from None
        if response.status != 200:
            raise OwnerUnreachable(f"the emulator's owner process answered {response.status}: {response.data[:200]!r}")

    def _post(self, path: str, body: bytes, content_type: str, timeout: urllib3.Timeout) -> urllib3.BaseHTTPResponse:
        return self._connection().urlopen("POST", path, body=body, headers={"Content-Type": content_type},
                                          timeout=timeout, retries=False)


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
