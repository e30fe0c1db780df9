"""One finished invocation as the request log keeps it: a small JSON-ready dict, bodies cut to a limit."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from emulator.invocation.outcomes import Hop


class ShadowComparison(NamedTuple):
    """A shadow variant's invocation beside the production answer to the same request."""
    production_variant: str
    production_body: bytes
    agrees: bool  # the shadow answered the same bytes as production


class Finished(NamedTuple):
    """What the request path hands over: no formatting, no copies (the log formats it later, off that path);
    a tuple, the cheapest record Python builds."""
    time: float  # wall clock at the request's start
    endpoint: str
    variant: str
    status: int
    ms: float
    hops: list[Hop]
    error: dict[str, Any] | None = None  # {"code", "message", and the error's members, e.g. OriginalMessage}
    source: str = "front"  # front | api (the Python API, in the owner process) | async (InvokeEndpointAsync's workers)
    request: dict[str, str] | None = None  # the request's own members the log shows (InvocationRequest.described)
    shadow: ShadowComparison | None = None  # a shadow variant's copy of a request (source `shadow`)
    cold_start: float | None = None  # seconds it waited for a serverless variant stopped for idleness to start


def finished(endpoint: str, variant: str, started: float, clock: float, hops: list[Hop], error: Any = None,
             source: str = "front", request: dict[str, str] | None = None,
             shadow: ShadowComparison | None = None, cold_start: float | None = None) -> Finished:
    """`started`: time.time() and `clock`: time.perf_counter() at the request's start; `error`: the service
    error answered (its code, message, status and members), None for a 200."""
    ms = round((time.perf_counter() - clock) * 1000, 3)
    if error is None:
        return Finished(started, endpoint, variant, 200, ms, hops, None, source, request or None, shadow, cold_start)
    summary = {"code": error.code, "message": error.message, **error.members}
    return Finished(started, endpoint, variant, error.status, ms, hops, summary, source, request or None, shadow,
                    cold_start)


def invocation_record(finished: Finished, body_limit: int) -> dict[str, Any]:
    """`body_limit`: bytes of each body kept (0: none; a body the request path did not capture is None anyway)."""
    hops = [_hop(hop, body_limit) for hop in finished.hops]
    record = {"kind": "invocation", "time": finished.time, "endpoint": finished.endpoint, "variant": finished.variant,
              "status": finished.status, "ms": finished.ms, "source": finished.source, "hops": hops}
    if finished.error is not None:
        record["error"] = finished.error
    if finished.request:
        record.update(finished.request)
    if finished.shadow is not None:
        record["shadow"] = _comparison(finished.shadow, body_limit)
    if finished.cold_start is not None:
        record["cold_start_ms"] = round(finished.cold_start * 1000, 3)
    return record


def _comparison(shadow: ShadowComparison, body_limit: int) -> dict[str, Any]:
    """What the log shows beside a shadow's answer: production's answer (cut as bodies are) and whether they agree."""
    compared: dict[str, Any] = {"production_variant": shadow.production_variant, "agrees": shadow.agrees}
    if body_limit > 0:
        compared["production_body"] = shadow.production_body[:body_limit].decode("utf-8", "replace")
    return compared


def _hop(hop: Hop, body_limit: int) -> dict[str, Any]:
    data = hop.to_dict(bodies=False)
    if body_limit > 0:
        for key, body in (("request_body", hop.request_body), ("response_body", hop.response_body)):
            if body is not None:
                data[key] = body[:body_limit].decode("utf-8", "replace")
                if len(body) > body_limit:
                    data[f"{key}_truncated"] = len(body)
    return data
