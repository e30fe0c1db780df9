"""Show invocations as text: each hop as a table row (what each container received and returned, in order),
and the request log's invocations and container events as lines of a live listing."""

from __future__ import annotations

import time
from typing import Any

COLUMNS = [("#", 2), ("container", 16), ("content type in", 28), ("accept", 18), ("status", 6),
           ("content type out", 28), ("bytes in", 9), ("bytes out", 9), ("ms", 9)]
BODY_PREVIEW = 400


def format_hops(hops: list[dict[str, Any]]) -> str:
    lines = [_row([name for name, _ in COLUMNS])]
    for number, hop in enumerate(hops, 1):
        # A multi-model container's hops say what each did: load, unload or invoke of which TargetModel.
        container = f"{hop['container']} {hop['action']} {hop['model']}" if hop.get("action") else hop["container"]
        lines.append(_row([number, container, hop["content_type_in"] or "-", hop["accept_in"] or "-",
                           hop["status"] or "none", hop["content_type_out"] or "-", hop["bytes_in"], hop["bytes_out"],
                           f"{hop['ms']:.1f}"]))
    for number, hop in enumerate(hops, 1):
        if hop.get("warning"):
            lines.append(f"warning (hop {number}): {hop['warning']}")
        for key, label in (("request_body", "received"), ("response_body", "returned")):
            if hop.get(key) is not None:
                lines.append(f"--- hop {number} {hop['container']} {label}:\n{_preview(hop[key])}")
    return "\n".join(lines)


def _row(cells: list[Any]) -> str:
    return "  ".join(str(cell).ljust(width) for cell, (_, width) in zip(cells, COLUMNS)).rstrip()


def _preview(text: str) -> str:
    return text if len(text) <= BODY_PREVIEW else f"{text[:BODY_PREVIEW]}... ({len(text)} characters)"


def format_invocation(record: dict[str, Any], bodies: bool = False) -> str:
    """One invocation of the request log: a line for the request, then its hops, indented."""
    error = record.get("error")
    outcome = f"{record['status']} {error['code']}" if error else str(record["status"])
    shadow = record.get("shadow")
    variant = record["variant"]
    if shadow:
        verdict = "agrees with" if shadow["agrees"] else "differs from"
        variant = f"{variant} (shadow: {verdict} {shadow['production_variant']})"
    head = (f"{_clock(record['time'])}  {record['endpoint']}  {variant}  {outcome}  "
            f"{record['ms']:.1f} ms  #{record['seq']}")
    if record.get("cold_start_ms") is not None:
        head += f"  (cold start: {record['cold_start_ms']:.0f} ms)"
    hops = record["hops"] if bodies else [{k: v for k, v in hop.items() if not k.endswith("_body")} for hop in record["hops"]]
    lines = [head]
    if error:
        lines.append(f"  error: {error['message']}")
    if hops:
        lines += ["  " + line for line in format_hops(hops).splitlines()]
    return "\n".join(lines)


def format_agreement(tally: dict[str, Any]) -> str:
    """How often a shadow variant agreed with production, as `trace` prints it."""
    share = f" ({100 * tally['agreed'] / tally['compared']:.0f} %)" if tally["compared"] else ""
    return (f"shadow {tally['endpoint']}/{tally['variant']} answered as {tally['production_variant']} did "
            f"in {tally['agreed']} of {tally['compared']} copies{share}")


def format_event(event: dict[str, Any]) -> str:
    detail = f" ({event['detail']})" if event.get("detail") else ""
    return f"{_clock(event['time'])}  {event['endpoint']}/{event['container']}  container {event['event']}{detail}"


def _clock(seconds: float) -> str:
    moment = time.localtime(seconds)
    return time.strftime("%H:%M:%S", moment) + f".{int(seconds % 1 * 1000):03d}"
