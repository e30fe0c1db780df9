"""The captures a front worker hands the owner, as bytes: per capture, one JSON header line, then its input and
output bodies raw (no base64, no JSON escaping: the owner makes the lines, off the worker's event loop)."""

from __future__ import annotations

import json
from dataclasses import asdict

from emulator.capture.lines import Captured
from emulator.seam.capture import CaptureSpec

CONTENT_TYPE = "application/x-sagemaker-emulator-captures"


class BadFrames(ValueError):
    """Bytes that are not captures framed by `encode`."""


def encode(captures: list[Captured]) -> bytes:
    parts = []
    for captured in captures:
        header = {"spec": asdict(captured.spec), "endpoint": captured.endpoint, "variant": captured.variant,
                  "time": captured.time, "input_type": captured.input_type, "output_type": captured.output_type,
                  "inference_id": captured.inference_id, "input": len(captured.input), "output": len(captured.output)}
        parts += [json.dumps(header, separators=(",", ":")).encode(), b"\n", captured.input, captured.output]
    return b"".join(parts)


def decode(data: bytes) -> list[Captured]:
    captures, position = [], 0
    while position < len(data):
        end = data.find(b"\n", position)
        if end < 0:
            raise BadFrames(f"a capture header without its end at byte {position}")
        try:
            header = json.loads(data[position:end])
            spec = CaptureSpec.from_dict(header["spec"])
            sizes = int(header["input"]), int(header["output"])
            fields = (header["endpoint"], header["variant"], float(header["time"]))
            types = (header["input_type"], header["output_type"], header["inference_id"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadFrames(f"a capture header at byte {position} is not one: {exc}") from None
        bodies = end + 1
        if min(sizes) < 0 or bodies + sum(sizes) > len(data):
            raise BadFrames(f"the capture at byte {position} announces more bytes than follow")
        captured_input = data[bodies:bodies + sizes[0]]
        captured_output = data[bodies + sizes[0]:bodies + sum(sizes)]
        captures.append(Captured(spec, *fields, captured_input, types[0], captured_output, types[1], types[2]))
        position = bodies + sum(sizes)
    return captures
