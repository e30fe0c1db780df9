"""Request bodies the checks send besides the samples: a malformed one, and one near the 6 MB limit."""

from __future__ import annotations

import json
from itertools import cycle
from typing import Any

from contract_tests.samples import Sample
from emulator.invocation.content_types import base_type

UNSUPPORTED_CONTENT_TYPE = "application/x-contract-test-unsupported"
# Invalid UTF-8 and truncated JSON at once: malformed as CSV, JSON, NumPy or image data alike.
MALFORMED_BODY = b'\xff\xfe{"instances": [\x00'
# Just under InvokeEndpoint's 6,291,456-byte limit, so the platform would let it through to the container.
NEAR_LIMIT_BYTES = 6_000_000
ROWS_MARK = "\x00contract-test-rows\x00"


def near_limit(sample: Sample, limit: int = NEAR_LIMIT_BYTES) -> bytes | None:
    """The sample's rows repeated up to `limit` bytes; None when it has no rows to repeat.

    Rows are a JSON list (bare or the only list in an object, as `{"instances": [...]}`) for JSON
    content types, and lines for any other UTF-8 text (CSV, JSON Lines).
    """
    content_type = base_type(sample.content_type)
    if content_type.endswith(("/json", "+json")):
        return _repeat_json_items(sample.body, limit)
    try:
        lines = sample.body.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None
    rows = [(line + "\n").encode() for line in lines if line.strip()]
    return _repeat(rows, limit, separator=b"") if rows else None


def _repeat_json_items(body: bytes, limit: int) -> bytes | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    lists = [key for key, item in value.items() if isinstance(item, list)] if isinstance(value, dict) else []
    if not isinstance(value, list) and len(lists) != 1:
        return None
    items = value if isinstance(value, list) else value[lists[0]]
    if not items:
        return None
    # The document with a mark where the list goes: what comes before and after the repeated items.
    document = ROWS_MARK if isinstance(value, list) else {**value, lists[0]: ROWS_MARK}
    head, _, tail = _compact(document).partition(_compact(ROWS_MARK))
    rows = _repeat([_compact(item) for item in items], limit - len(head) - len(tail) - 2, separator=b",")
    return head + b"[" + rows + b"]" + tail


def _repeat(rows: list[bytes], limit: int, *, separator: bytes) -> bytes:
    """Rows cycled and joined by `separator` while the total stays within `limit` bytes."""
    out = bytearray()
    for row in cycle(rows):
        piece = separator + row if out else row
        if len(out) + len(piece) > limit:
            return bytes(out)
        out += piece
    raise AssertionError("unreachable: cycle() never ends")


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
