"""Record readers for each SplitType, reading one record at a time."""

from __future__ import annotations

import io
import struct

import pytest

from emulator.transform.crc32c import crc32c, masked_crc32c
from emulator.transform.errors import RecordError
from emulator.transform.job import SplitType
from emulator.transform.records import RECORDIO_MAGIC, Record, encode_recordio, encode_tfrecord, read_records


def read(data: bytes, split: SplitType, **options) -> list[Record]:
    return list(read_records(io.BytesIO(data), split, **options))


def raws(data: bytes, split: SplitType, **options) -> list[bytes]:
    return [record.raw for record in read(data, split, **options)]


class MeteredStream(io.BytesIO):
    """Remembers the largest piece handed out, to prove a reader never took a record whole."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        return self._note(super().read(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._note(super().readline(size))

    def _note(self, data: bytes) -> bytes:
        self.largest = max(self.largest, len(data))
        return data


def test_none_is_the_whole_file():
    assert read(b"a\nb\n", SplitType.NONE) == [Record(1, b"a\nb\n")]
    assert read(b"", SplitType.NONE) == [Record(1, b"")]


def test_none_too_large_fails_without_reading_it_all():
    stream = MeteredStream(b"x" * 5_000_000)
    with pytest.raises(RecordError, match=r"5,000,000 bytes.*1,000 bytes"):
        list(read_records(stream, SplitType.NONE, max_payload=1000))
    assert stream.largest <= 1 << 20


def test_lines_drop_newlines_handle_crlf_and_a_missing_final_newline():
    assert raws(b"a,1\r\nb,2\nc,3", SplitType.LINE) == [b"a,1", b"b,2", b"c,3"]
    assert [r.index for r in read(b"a\nb\n", SplitType.LINE)] == [1, 2]


def test_blank_lines_are_not_records():
    assert raws(b"a\n\n\r\nb\n\n", SplitType.LINE) == [b"a", b"b"]
    assert raws(b"", SplitType.LINE) == []


def test_a_line_at_the_limit_passes_one_byte_over_fails():
    assert raws(b"12345\r\nabc\n", SplitType.LINE, max_payload=5) == [b"12345", b"abc"]
    with pytest.raises(RecordError, match="record 2 is 6 bytes") as info:
        read(b"abc\n123456\n", SplitType.LINE, max_payload=5)
    assert info.value.index == 2


def test_an_overlong_line_is_never_held_whole():
    stream = MeteredStream(b"ok\n" + b"x" * 5_000_000 + b"\nafter\n")
    with pytest.raises(RecordError, match="record 2 is 5,000,000 bytes"):
        list(read_records(stream, SplitType.LINE, max_payload=1000))
    assert stream.largest <= 1 << 20


def test_recordio_keeps_the_framing_and_knows_the_padding():
    data = encode_recordio(b"abc") + encode_recordio(b"") + encode_recordio(b"abcd")
    records = read(data, SplitType.RECORDIO)
    assert [r.raw for r in records] == [encode_recordio(b"abc"), encode_recordio(b""), encode_recordio(b"abcd")]
    assert [r.padding for r in records] == [1, 0, 0]
    assert b"".join(r.raw for r in records) == data


def test_recordio_multipart_records_are_one_record():
    def part(flag: int, payload: bytes) -> bytes:
        return struct.pack("<II", RECORDIO_MAGIC, flag << 29 | len(payload)) + payload + b"\0" * (-len(payload) % 4)

    multipart = part(1, b"ab") + part(2, b"cdef") + part(3, b"g")
    records = read(multipart + encode_recordio(b"next"), SplitType.RECORDIO)
    assert [r.raw for r in records] == [multipart, encode_recordio(b"next")]
    assert records[0].padding == 3


def test_recordio_tolerates_a_missing_final_padding():
    data = encode_recordio(b"abc")[:-1]
    assert read(data, SplitType.RECORDIO) == [Record(1, data, 0)]


@pytest.mark.parametrize(("data", "words"), [
    (b"a,b,c\n1,2,3\n", "no RecordIO magic number at byte 0"),
    (encode_recordio(b"abcdef")[:-5], "record 1 is truncated"),
    (encode_recordio(b"ok") + encode_recordio(b"x")[:5], "record 2 is truncated at byte 12"),
    (struct.pack("<II", RECORDIO_MAGIC, 2 << 29 | 1) + b"a\0\0\0", "unexpected RecordIO part flag 2"),
])
def test_recordio_errors_name_the_record(data, words):
    with pytest.raises(RecordError, match=words):
        read(data, SplitType.RECORDIO)


def test_recordio_too_large_is_seen_from_the_header():
    with pytest.raises(RecordError, match="record 2 is 11 bytes"):
        read(encode_recordio(b"ok") + encode_recordio(b"x" * 11), SplitType.RECORDIO, max_payload=10)


def test_crc32c_matches_the_standard_check_value():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_tfrecord_roundtrip_with_checksums():
    data = encode_tfrecord(b"first") + encode_tfrecord(b"") + encode_tfrecord(b"x" * 300)
    records = read(data, SplitType.TFRECORD, verify_crc=True)
    assert [r.raw for r in records] == [encode_tfrecord(b"first"), encode_tfrecord(b""), encode_tfrecord(b"x" * 300)]
    assert all(r.padding == 0 for r in records)


def test_tfrecord_framing_matches_the_published_format():
    framed = encode_tfrecord(b"hi")
    length, length_crc = struct.unpack("<QI", framed[:12])
    assert (length, length_crc) == (2, masked_crc32c(struct.pack("<Q", 2)))
    assert framed[12:14] == b"hi" and struct.unpack("<I", framed[14:])[0] == masked_crc32c(b"hi")


def test_tfrecord_bad_length_checksum_points_at_the_split_type():
    with pytest.raises(RecordError, match=r"bad TFRecord length checksum at byte 0.*Check SplitType"):
        read(b"0123456789abcdef\n", SplitType.TFRECORD)


def test_tfrecord_data_checksum_is_checked_only_on_request():
    corrupt = bytearray(encode_tfrecord(b"payload"))
    corrupt[13] ^= 0xFF
    assert len(read(bytes(corrupt), SplitType.TFRECORD)) == 1
    with pytest.raises(RecordError, match="record 1: bad TFRecord data checksum"):
        read(bytes(corrupt), SplitType.TFRECORD, verify_crc=True)


def test_tfrecord_truncated_and_too_large():
    with pytest.raises(RecordError, match="record 2 is truncated"):
        read(encode_tfrecord(b"a") + encode_tfrecord(b"bcd")[:-2], SplitType.TFRECORD)
    with pytest.raises(RecordError, match="record 1 is 20 bytes"):
        read(encode_tfrecord(b"y" * 20), SplitType.TFRECORD, max_payload=19)
