"""Mini-batches: exact MultiRecord packing on the bytes sent, SingleRecord, framing, oversize records."""

from __future__ import annotations

import pytest

from emulator.transform.batching import Batch, make_batches
from emulator.transform.errors import RecordError
from emulator.transform.job import SplitType
from emulator.transform.records import Record, encode_recordio, encode_tfrecord


def lines(*raws: bytes) -> list[Record]:
    return [Record(index, raw) for index, raw in enumerate(raws, start=1)]


def batch(records, split=SplitType.LINE, multi=True, max_bytes=None, keep=False) -> list[Batch]:
    return list(make_batches(records, split_type=split, multi_record=multi, max_bytes=max_bytes, keep_sources=keep))


def test_multi_record_lines_fill_exactly_to_the_limit_counting_separators():
    # "aaaa\nbbbb" is 9 bytes: fits a 9-byte limit exactly.
    assert [b.body for b in batch(lines(b"aaaa", b"bbbb", b"cc"), max_bytes=9)] == [b"aaaa\nbbbb", b"cc"]


def test_one_byte_over_the_limit_starts_a_new_batch():
    assert [b.body for b in batch(lines(b"aaaa", b"bbbb", b"cc"), max_bytes=8)] == [b"aaaa", b"bbbb\ncc"]


def test_batches_know_their_record_range():
    result = batch(lines(b"a", b"b", b"c", b"d", b"e"), max_bytes=3)
    assert [(b.first, b.last, b.count) for b in result] == [(1, 2, 2), (3, 4, 2), (5, 5, 1)]


def test_unbounded_multi_record_is_one_batch():
    assert [b.body for b in batch(lines(b"a", b"b", b"c"))] == [b"a\nb\nc"]


def test_megabyte_limits_are_exact():
    mb = 1_048_576
    half = b"x" * (mb // 2)
    exact = batch(lines(half, b"y" * (mb // 2 - 1), b"z"), max_bytes=mb)
    assert [len(b.body) for b in exact] == [mb, 1]
    over = batch(lines(half, b"y" * (mb // 2)), max_bytes=mb)
    assert [len(b.body) for b in over] == [mb // 2, mb // 2]


def test_single_record_sends_one_record_per_batch():
    assert [(b.body, b.first) for b in batch(lines(b"a", b"b"), multi=False, max_bytes=1)] == [(b"a", 1), (b"b", 2)]


@pytest.mark.parametrize("multi", [True, False])
def test_a_record_larger_than_the_limit_is_an_error_naming_it(multi):
    with pytest.raises(RecordError, match="record 2 is 5 bytes") as info:
        batch(lines(b"ok", b"12345"), multi=multi, max_bytes=4)
    assert info.value.index == 2


def test_recordio_multi_record_keeps_framing_and_padding():
    records = [Record(1, encode_recordio(b"abc"), 1), Record(2, encode_recordio(b"defg"), 0)]
    (only,) = batch(records, SplitType.RECORDIO)
    assert only.body == encode_recordio(b"abc") + encode_recordio(b"defg")


def test_recordio_single_record_drops_only_the_padding():
    (first,) = batch([Record(1, encode_recordio(b"abc"), 1)], SplitType.RECORDIO, multi=False)
    assert first.body == encode_recordio(b"abc")[:-1]


def test_recordio_size_counts_the_framing():
    framed = encode_recordio(b"abcd")  # 12 bytes, no padding
    records = [Record(1, framed), Record(2, framed)]
    assert len(batch(records, SplitType.RECORDIO, max_bytes=24)) == 1
    assert len(batch(records, SplitType.RECORDIO, max_bytes=23)) == 2


def test_tfrecord_batches_concatenate_framed_records():
    records = [Record(1, encode_tfrecord(b"a")), Record(2, encode_tfrecord(b"b"))]
    (only,) = batch(records, SplitType.TFRECORD)
    assert only.body == encode_tfrecord(b"a") + encode_tfrecord(b"b")


def test_sources_are_kept_only_when_asked():
    records = [Record(1, b"f1", source=b"id1,f1"), Record(2, b"f2", source=b"id2,f2")]
    assert batch(records)[0].sources == ()
    assert batch(records, keep=True)[0].sources == (b"id1,f1", b"id2,f2")
    assert [b.sources for b in batch(records, multi=False, keep=True)] == [(b"id1,f1",), (b"id2,f2",)]
