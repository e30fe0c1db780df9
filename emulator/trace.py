"""Show an invocation's hops as a table: what each container received and returned, in order."""

from __future__ import annotations

from typing import Any

COLUMNS = [("#", 2), ("container", 16), ("content type in", 28), ("accept", 18), ("status", 6),
           ("content type out", 28), ("bytes in", 9), ("bytes out", 9), ("ms", 9)]
BODY_PREVIEW = 400


def format_hops(hops: list[dict[str, Any]]) -> str:
    lines = [_row([name for name, _ in COLUMNS])]
    for number, hop in enumerate(hops, 1):
        lines.append(_row([number, hop["container"], hop["content_type_in"] or "-", hop["accept_in"] or "-",
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
