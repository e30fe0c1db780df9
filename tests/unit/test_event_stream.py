"""The event-stream encoder against botocore's own parser: every frame it writes parses back whole."""

from __future__ import annotations

from botocore.eventstream import EventStreamBuffer
from hypothesis import given, strategies as st

import json

import pytest

from emulator.front import event_stream
from emulator.front.response_stream import payload_events
from emulator.invocation.outcomes import StreamedResult, StreamInterrupted

header_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda name: len(name.encode()) < 256)
header_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


def parsed(*frames: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(b"".join(frames))
    return list(buffer)


@given(st.dictionaries(header_names, header_values, max_size=5), st.binary(max_size=5000))
def test_any_message_parses_back_with_its_headers_and_payload(headers, payload):
    [message] = parsed(event_stream.message(headers, payload))
    assert (message.headers, message.payload) == (headers, payload)


def test_payload_parts_and_the_closing_exception_parse_as_boto3_reads_them():
    first, second, failure = parsed(event_stream.event("PayloadPart", b"one "), event_stream.event("PayloadPart", b"two"),
                                    event_stream.exception("ModelStreamError", {"Message": "broke", "ErrorCode": "StreamBroken"}))
    assert [first.payload, second.payload] == [b"one ", b"two"]
    assert first.headers[":event-type"] == "PayloadPart" and first.headers[":message-type"] == "event"
    assert failure.headers[":exception-type"] == "ModelStreamError"
    assert failure.payload == b'{"Message": "broke", "ErrorCode": "StreamBroken"}'


@pytest.mark.parametrize("timed_out, error_code", [(False, "StreamBroken"), (True, "ModelInvocationTimeExceeded")])
def test_a_stream_that_stops_ends_with_model_stream_error_and_sagemakers_error_code(timed_out, error_code):
    def parts():
        yield b"one "
        raise StreamInterrupted("e", "primary", "it closed the connection", timed_out=timed_out)
    finished = []
    frames = parsed(*payload_events(StreamedResult(parts(), "text/plain", None), lambda hops, error: finished.append(error)))
    assert [frame.headers.get(":event-type") for frame in frames] == ["PayloadPart", None]
    assert frames[1].headers[":exception-type"] == "ModelStreamError"
    assert json.loads(frames[1].payload)["ErrorCode"] == error_code
    assert [error.code for error in finished] == ["ModelStreamError"]  # what the request log records


def test_a_failure_of_the_emulator_mid_stream_is_an_internal_stream_failure():
    def parts():
        yield b"one "
        raise RuntimeError("a bug")
    frames = parsed(*payload_events(StreamedResult(parts(), None, None), lambda hops, error: None))
    assert frames[1].headers[":exception-type"] == "InternalStreamFailure"
    assert json.loads(frames[1].payload) == {"Message": "The stream processing failed because of an unknown error, "
                                                         "exception or failure. Try your request again."}
