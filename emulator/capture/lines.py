"""One captured invocation as a line of a SageMaker capture file, and the file's key.

A line is what SageMaker writes (and Model Monitor reads):

    {"captureData": {"endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"},
                     "endpointOutput": {... "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId", "inferenceId" (when the caller sent one), "inferenceTime"},
     "eventVersion": "0"}

`encoding` is CSV or JSON when the observed content type is one the config's CaptureContentTypeHeader lists
(the data is then the body as text), BASE64 otherwise (the data is the body in base64).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import NamedTuple

from emulator.seam.capture import CaptureSpec

EVENT_VERSION = "0"


class Captured(NamedTuple):
    """What the request path hands over: no formatting (the line is built off that path)."""
    spec: CaptureSpec
    endpoint: str
    variant: str
    time: float  # wall clock of the inference
    input: bytes
    input_type: str | None
    output: bytes
    output_type: str | None
    inference_id: str | None = None
    event_id: str = ""  # empty: a new one is drawn when the line is made


def line(captured: Captured) -> str:
    spec = captured.spec
    data = {}
    if spec.inputs:
        data["endpointInput"] = _payload(spec, "INPUT", captured.input, captured.input_type)
    if spec.outputs:
        data["endpointOutput"] = _payload(spec, "OUTPUT", captured.output, captured.output_type)
    metadata = {"eventId": captured.event_id or str(uuid.uuid4())}
    if captured.inference_id is not None:
        metadata["inferenceId"] = captured.inference_id
    metadata["inferenceTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(captured.time))
    return json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": EVENT_VERSION},
                      separators=(",", ":"))


def encoding(spec: CaptureSpec, content_type: str | None) -> str:
    """CSV or JSON when the media type (parameters such as charset aside) is one the config lists; else BASE64."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media in (t.lower() for t in spec.csv_types):
        return "CSV"
    if media and media in (t.lower() for t in spec.json_types):
        return "JSON"
    return "BASE64"


def _payload(spec: CaptureSpec, mode: str, body: bytes, content_type: str | None) -> dict[str, str]:
    chosen = encoding(spec, content_type)
    if chosen != "BASE64":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # not text after all: kept exact, as base64
            chosen = "BASE64"
    data = base64.b64encode(body).decode("ascii") if chosen == "BASE64" else text
    return {"observedContentType": content_type or "", "mode": mode, "data": data, "encoding": chosen}


def file_key(destination: str, endpoint: str, variant: str, first: float, unique: str | None = None) -> str:
    """The S3 URL of a capture file whose first line was inferred at `first`:
    <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<uuid>.jsonl, times in UTC."""
    moment = time.gmtime(first)
    millis = int(first * 1000) % 1000
    name = f"{time.strftime('%M-%S', moment)}-{millis:03d}-{unique or uuid.uuid4()}.jsonl"
    return f"{destination.rstrip('/')}/{endpoint}/{variant}/{time.strftime('%Y/%m/%d/%H', moment)}/{name}"


def hour_of(moment: float) -> str:
    """The hour a line's file belongs to: lines of different hours never share a file."""
    return time.strftime("%Y%m%d%H", time.gmtime(moment))
