"""Streaming record readers: one record at a time from a binary file, never the whole file.

`max_payload` is a memory guard: a record whose payload alone exceeds it can never be sent, so the
reader fails before reading it rather than loading it whole.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from emulator.transform.crc32c import masked_crc32c
from emulator.transform.errors import RecordError
from emulator.transform.job import SplitType

RECORDIO_MAGIC = 0xCED7230A
_RECORDIO_LENGTH_MASK = (1 << 29) - 1
# RecordIO's cflag: a record containing the magic number is written as parts (start, middle, end).
_WHOLE, _START, _MIDDLE, _END = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Record:
    index: int              # 1-based position in its file
    raw: bytes              # as framed in the file (Line: without its newline)
    padding: int = 0        # trailing alignment bytes inside `raw` (RecordIO), dropped for SingleRecord
    source: bytes | None = None  # the record before the InputFilter, kept only for JoinSource=Input

    @property
    def original(self) -> bytes:
        return self.raw if self.source is None else self.source


def read_records(stream: BinaryIO, split_type: SplitType, *, max_payload: int | None = None,
                 verify_crc: bool = False) -> Iterator[Record]:
    """`verify_crc` also checks TFRecord data checksums (slow in pure Python); length checksums
    are always checked, since they catch a wrong SplitType at once."""
    if split_type is SplitType.NONE:
        return _whole(stream, max_payload)
    if split_type is SplitType.LINE:
        return _lines(stream, max_payload)
    if split_type is SplitType.RECORDIO:
        return _recordio(stream, max_payload)
    return _tfrecord(stream, max_payload, verify_crc)


def too_large(index: int, size: int, limit: int) -> RecordError:
    return RecordError(index, f"record {index} is {size:,} bytes, larger than MaxPayloadInMB allows "
                              f"({limit:,} bytes). Raise MaxPayloadInMB (at most 100; 0 = unbounded) "
                              "or split the record.")


def _whole(stream: BinaryIO, max_payload: int | None) -> Iterator[Record]:
    data = stream.read() if max_payload is None else stream.read(max_payload + 1)
    if max_payload is not None and len(data) > max_payload:
        size = len(data) + _drain(stream)
        raise RecordError(1, f"the whole file is one record with SplitType None and is {size:,} bytes, "
                             f"larger than MaxPayloadInMB allows ({max_payload:,} bytes). Set SplitType "
                             "(e.g. Line) or raise MaxPayloadInMB (0 = unbounded).")
    yield Record(1, data)


def _lines(stream: BinaryIO, max_payload: int | None) -> Iterator[Record]:
    index = 0
    # Room for "\r\n" plus one byte, so an over-long line is seen without reading it whole.
    limit = -1 if max_payload is None else max_payload + 3
    while chunk := stream.readline(limit):
        complete = chunk.endswith(b"\n")
        line = chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1] if complete else chunk
        if not line:
            continue  # blank lines are not records
        index += 1
        if max_payload is not None and len(line) > max_payload:
            size = len(line) if complete else len(line) + _drain(stream, line_only=True)
            raise too_large(index, size, max_payload)
        yield Record(index, line)


def _drain(stream: BinaryIO, *, line_only: bool = False) -> int:
    """Counts the bytes left (in the current line only, if asked) without keeping them."""
    size = 0
    while chunk := (stream.readline(1 << 20) if line_only else stream.read(1 << 20)):
        size += len(chunk)
        if line_only and chunk.endswith(b"\n"):
            return size - len(chunk) + len(chunk.rstrip(b"\r\n"))
    return size


def _recordio(stream: BinaryIO, max_payload: int | None) -> Iterator[Record]:
    offset, index = 0, 0
    while header := stream.read(8):
        index += 1
        parts: list[bytes] = []
        payload = padding = 0
        while True:
            if len(header) < 8:
                raise RecordError(index, f"record {index} is truncated at byte {offset}: "
                                         "the file ends inside a RecordIO header.")
            magic, word = struct.unpack("<II", header)
            if magic != RECORDIO_MAGIC:
                raise RecordError(index, f"record {index}: no RecordIO magic number at byte {offset} "
                                         f"(found 0x{magic:08x}). Is the file really RecordIO? Check SplitType.")
            flag, length = word >> 29, word & _RECORDIO_LENGTH_MASK
            if (flag in (_WHOLE, _START)) != (not parts):
                raise RecordError(index, f"record {index}: unexpected RecordIO part flag {flag} at byte "
                                         f"{offset}; the file is corrupt.")
            payload += length + (4 if parts else 0)  # parts are rejoined with the magic number between
            if max_payload is not None and payload > max_payload:
                raise too_large(index, payload, max_payload)
            padding = -length % 4
            body = stream.read(length + padding)
            if len(body) < length:
                raise RecordError(index, f"record {index} is truncated: its header at byte {offset} "
                                         f"announces {length} bytes, the file has {len(body)}.")
            padding = len(body) - length  # a writer may omit the padding after the last record
            parts += [header, body]
            offset += 8 + len(body)
            if flag in (_WHOLE, _END):
                break
            header = stream.read(8)
        yield Record(index, b"".join(parts), padding)


def _tfrecord(stream: BinaryIO, max_payload: int | None, verify_crc: bool) -> Iterator[Record]:
    offset, index = 0, 0
    while header := stream.read(12):
        index += 1
        if len(header) < 12:
            raise RecordError(index, f"record {index} is truncated at byte {offset}: "
                                     "the file ends inside a TFRecord header.")
        length, length_crc = struct.unpack("<QI", header)
        if masked_crc32c(header[:8]) != length_crc:
            raise RecordError(index, f"record {index}: bad TFRecord length checksum at byte {offset}. "
                                     "Is the file really TFRecord? Check SplitType.")
        if max_payload is not None and length > max_payload:
            raise too_large(index, length, max_payload)
        rest = stream.read(length + 4)
        if len(rest) < length + 4:
            raise RecordError(index, f"record {index} is truncated: its header at byte {offset} "
                                     f"announces {length} bytes, the file has {max(len(rest) - 4, 0)}.")
        data, (data_crc,) = rest[:length], struct.unpack("<I", rest[length:])
        if verify_crc and masked_crc32c(data) != data_crc:
            raise RecordError(index, f"record {index}: bad TFRecord data checksum (record at byte "
                                     f"{offset}); the file is corrupt.")
        offset += 12 + len(rest)
        yield Record(index, header + rest)


def encode_recordio(payload: bytes) -> bytes:
    """Frame one record as MXNet RecordIO (whole record, cflag 0, padded to 4 bytes)."""
    if len(payload) > _RECORDIO_LENGTH_MASK:
        raise ValueError("a RecordIO record holds at most 2**29 - 1 bytes")
    return struct.pack("<II", RECORDIO_MAGIC, len(payload)) + payload + b"\0" * (-len(payload) % 4)


def encode_tfrecord(payload: bytes) -> bytes:
    """Frame one record as TFRecord: length, masked CRC of the length, data, masked CRC of the data."""
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", masked_crc32c(length)) + payload + struct.pack("<I", masked_crc32c(payload))
