"""The block-cut Line batches are exactly the record-by-record batches (or the same error)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.transform import line_blocks
from emulator.transform.batching import make_batches
from emulator.transform.errors import RecordError
from emulator.transform.job import SplitType
from emulator.transform.records import read_records


def by_records(data: bytes, max_bytes: int):
    records = read_records(io.BytesIO(data), SplitType.LINE, max_payload=max_bytes)
    return [(b.first, b.last, b.body) for b in make_batches(records, split_type=SplitType.LINE, multi_record=True,
                                                             max_bytes=max_bytes)]


def by_blocks(data: bytes, max_bytes: int):
    return [(b.first, b.last, b.body) for b in line_blocks.pack_lines(io.BytesIO(data), max_bytes)]


def outcome(pack, data: bytes, max_bytes: int):
    """The batches, or which record was too large (the line reader's size may count a "\r" it cut at)."""
    try:
        return pack(data, max_bytes)
    except RecordError as exc:
        return ("too large", exc.index)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=300).map(lambda b: bytes(b"ab\r\n"[x % 4] for x in b)),
       max_bytes=st.integers(min_value=1, max_value=40), read_size=st.integers(min_value=1, max_value=17))
def test_same_batches_or_the_same_error(data, max_bytes, read_size):
    line_blocks.READ_SIZE = read_size  # small blocks put every boundary case at a block's edge
    try:
        assert outcome(by_blocks, data, max_bytes) == outcome(by_records, data, max_bytes)
    finally:
        line_blocks.READ_SIZE = 1 << 20


def test_an_over_long_record_is_named_with_its_size():
    with pytest.raises(RecordError, match="record 2 is 5 bytes"):
        by_blocks(b"a\nbbbbb\r\nc\n", 4)


@pytest.mark.parametrize("data", [b"", b"\n\n", b"a", b"a\r", b"a\r\n\r\nbb\n", b"abc\nd\n" * 50])
def test_edges(data):
    for max_bytes in (1, 3, 4, 1000):
        assert outcome(by_blocks, data, max_bytes) == outcome(by_records, data, max_bytes)
