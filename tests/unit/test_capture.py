"""Data capture's pure parts: the capture line as SageMaker writes it, the file key, the grouping into files,
the frames a worker hands the owner, the writer's cut and close, and the share a shadow gets; a line's body and
the frames are fuzzed (callers send anything; the owner's route reads what it is sent)."""

from __future__ import annotations

import base64
import json
import re

from hypothesis import given, settings, strategies as st

import pytest

from emulator.capture.frames import BadFrames, decode, encode
from emulator.capture.lines import Captured, encoding, file_key, line
from emulator.capture.sender import CaptureSender
from emulator.capture.writer import CaptureWriter, files
from emulator.front.followups import share
from emulator.seam.capture import CaptureSpec

SPEC = CaptureSpec("s3://bucket/capture/", 100, True, True, ("text/csv",), ("application/json",))
NOON = 1_765_195_200.25  # 2025-12-08T12:00:00.250Z


def captured(body: bytes = b"1,2", content_type: str | None = "text/csv", **more) -> Captured:
    return Captured(**{"spec": SPEC, "endpoint": "ep", "variant": "AllTraffic", "time": NOON, "input": body,
                       "input_type": content_type, "output": b'{"a": 1}', "output_type": "application/json", **more})


def test_a_line_holds_what_sagemaker_writes():
    parsed = json.loads(line(captured(inference_id="order-7", event_id="e-1")))
    assert parsed == {"captureData": {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2", "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT", "data": '{"a": 1}',
                           "encoding": "JSON"}},
        "eventMetadata": {"eventId": "e-1", "inferenceId": "order-7", "inferenceTime": "2025-12-08T12:00:00Z"},
        "eventVersion": "0"}


def test_no_inference_id_no_member_and_a_fresh_event_id_each_time():
    first, second = (json.loads(line(captured()))["eventMetadata"] for _ in range(2))
    assert "inferenceId" not in first and first["eventId"] != second["eventId"]


def test_encoding_follows_the_media_type_and_falls_back_to_base64():
    assert encoding(SPEC, "text/csv; charset=utf-8") == "CSV"
    assert encoding(SPEC, "Application/JSON") == "JSON"
    assert encoding(SPEC, "image/png") == encoding(SPEC, None) == "BASE64"
    assert encoding(CaptureSpec("s3://b", 1, True, True), "text/csv") == "BASE64"  # no CaptureContentTypeHeader


def test_capture_options_choose_input_or_output():
    only_input = captured(spec=CaptureSpec("s3://b", 100, True, False, ("text/csv",)))
    assert list(json.loads(line(only_input))["captureData"]) == ["endpointInput"]
    only_output = captured(spec=CaptureSpec("s3://b", 100, False, True))
    assert list(json.loads(line(only_output))["captureData"]) == ["endpointOutput"]


def test_the_spec_of_a_config():
    config = {"EnableCapture": True, "InitialSamplingPercentage": 50, "DestinationS3Uri": "s3://b/p",
              "CaptureOptions": [{"CaptureMode": "InputAndOutput"}],
              "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]}}
    assert CaptureSpec.of(config) == CaptureSpec("s3://b/p", 50.0, True, True, ("text/csv",), ())
    assert CaptureSpec.of({**config, "EnableCapture": False}) is None and CaptureSpec.of(None) is None


def test_file_key_is_sagemakers_path_and_name():
    key = file_key("s3://bucket/capture/", "ep", "AllTraffic", NOON, "u-1")
    assert key == "s3://bucket/capture/ep/AllTraffic/2025/12/08/12/00-00-250-u-1.jsonl"
    assert re.fullmatch(r".*/\d\d-\d\d-\d\d\d-[0-9a-f-]{36}\.jsonl", file_key("s3://b", "e", "v", NOON))


def test_lines_are_grouped_by_variant_and_hour():
    an_hour_later = captured(time=NOON + 3600)
    grouped = files([captured(), captured(variant="Shadow"), captured(), an_hour_later])
    assert [(g["variant"], len(g["lines"])) for g in grouped] == [("AllTraffic", 2), ("Shadow", 1), ("AllTraffic", 1)]


def test_the_writer_writes_one_file_per_group_and_all_at_close():
    written: dict[str, bytes] = {}
    writer = CaptureWriter(written.__setitem__, interval=3600)
    sender = CaptureSender(lambda frames: writer.accept(decode(frames)))
    for _ in range(3):
        sender.add(captured())
    sender.add(captured(variant="Shadow"))
    sender.flush()
    assert written == {}  # not before its cut
    writer.close()
    by_variant = {url.split("/")[5]: body for url, body in written.items()}
    assert sorted(by_variant) == ["AllTraffic", "Shadow"]
    assert [len(body.splitlines()) for body in by_variant.values()] == [3, 1]
    sender.add(captured())
    sender.flush()  # a delivery after the close is written at once
    assert len(written) == 3


def test_a_failed_delivery_is_counted_not_raised(capsys):
    def refuse(_):
        raise ConnectionError("owner gone")
    sender = CaptureSender(refuse)
    sender.add(captured())
    sender.flush()
    assert sender.dropped == 1 and "lost" in capsys.readouterr().err


def test_a_shadow_gets_its_weight_relative_to_production():
    assert share(0.5, 1) == 0.5 and share(2, 1) == 1.0 and share(1, 0) == 1.0 and share(0, 0) == 0.0


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300), content_type=st.one_of(st.none(), st.text(max_size=40)),
       inference_id=st.one_of(st.none(), st.text(max_size=20)))
def test_any_body_makes_a_line_that_gives_it_back(body, content_type, inference_id):
    parsed = json.loads(line(captured(body, content_type, inference_id=inference_id)))
    captured_input = parsed["captureData"]["endpointInput"]
    data = captured_input["data"]
    back = base64.b64decode(data) if captured_input["encoding"] == "BASE64" else data.encode()
    assert back == body and captured_input["observedContentType"] == (content_type or "")
    assert parsed["eventMetadata"].get("inferenceId") == inference_id


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=200), st.binary(max_size=200), st.one_of(st.none(), st.text(max_size=10))),
                max_size=5))
def test_frames_give_back_the_captures(bodies):
    captures = [captured(body, output=answer, inference_id=inference_id) for body, answer, inference_id in bodies]
    assert decode(encode(captures)) == captures


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_anything_else_is_refused_as_bad_frames(data):
    try:
        decode(data)
    except BadFrames:
        pass


def test_a_cut_frame_is_refused():
    with pytest.raises(BadFrames, match="more bytes"):
        decode(encode([captured()])[:-1])
