"""HTTP calls to a container under test: timed, and never raising (an answer, or why none came)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3

from emulator.invocation.chain import CONNECT_TIMEOUT, DEFAULT_INVOCATION_TIMEOUT
from emulator.invocation.container_http import PING_TIMEOUT, pool

PREVIEW_BYTES = 300
PINGS_AFTER_STRESS = 3  # a server still finishing a heavy request may miss one ping; SageMaker tolerates that too


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer came
    content_type: str | None
    body: bytes
    seconds: float
    failure: str = ""  # why no HTTP answer came

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def __str__(self) -> str:
        if not self.status:
            return f"no answer after {self.seconds:.1f} s ({self.failure})"
        preview = self.body[:PREVIEW_BYTES].decode("utf-8", "replace")
        more = f"... ({len(self.body)} bytes)" if len(self.body) > PREVIEW_BYTES else ""
        return f"{self.status} with Content-Type {self.content_type!r}: {preview!r}{more}"


def request(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = DEFAULT_INVOCATION_TIMEOUT) -> Answer:
    started = time.perf_counter()
    try:
        response = pool.request(method, url, body=body, headers=headers or {}, retries=False,
                                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=timeout))
    except urllib3.exceptions.HTTPError as exc:
        reason = " ".join(str(getattr(exc, "reason", None) or exc).split())
        return Answer(0, None, b"", time.perf_counter() - started, reason)
    return Answer(response.status, response.headers.get("Content-Type"), response.data, time.perf_counter() - started)


def invoke(url: str, body: bytes, content_type: str | None, extra_headers: dict[str, str] | None = None) -> Answer:
    headers = {"Content-Type": content_type} if content_type else {}
    return request("POST", url + "/invocations", body=body, headers={**headers, **(extra_headers or {})})


def ping(url: str) -> Answer:
    return request("GET", url + "/ping", timeout=PING_TIMEOUT)


def still_serving(url: str) -> bool:
    return any(ping(url).status == 200 for _ in range(PINGS_AFTER_STRESS))
