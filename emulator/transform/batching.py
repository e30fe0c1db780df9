"""Group a file's records into request bodies (mini-batches) under MaxPayloadInMB.

Sizes are measured on the exact bytes sent. Batches never mix files: one call covers one file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from emulator.invocation.container_http import StreamedFile

from emulator.transform.job import SplitType
from emulator.transform.records import Record, too_large


@dataclass(frozen=True, slots=True)
class Batch:
    first: int                         # index of its first record (1-based, in its file)
    last: int                          # index of its last record
    body: bytes | StreamedFile         # the request body (a file as it is read: MaxPayloadInMB 0)
    sources: tuple[bytes, ...] = ()    # the records as read, only when outputs are joined to inputs

    @property
    def count(self) -> int:
        return self.last - self.first + 1


def make_batches(records: Iterable[Record], *, split_type: SplitType, multi_record: bool,
                 max_bytes: int | None, keep_sources: bool = False) -> Iterator[Batch]:
    """SingleRecord: one record per body. MultiRecord: as many whole records as fit in `max_bytes`
    (None = unbounded): Line records joined by "\\n", RecordIO/TFRecord records kept in their framing."""
    if not multi_record:
        for record in records:
            body = _single_body(record)
            _check_size(record.index, len(body), max_bytes)
            yield Batch(record.index, record.index, body, (record.original,) if keep_sources else ())
        return
    separator = b"\n" if split_type is SplitType.LINE else b""
    yield from _pack(records, separator, max_bytes, keep_sources)


def _single_body(record: Record) -> bytes:
    # SageMaker: "padding is removed if BatchStrategy is SingleRecord", the framing header stays.
    return record.raw[:len(record.raw) - record.padding] if record.padding else record.raw


def _pack(records: Iterable[Record], separator: bytes, max_bytes: int | None,
          keep_sources: bool) -> Iterator[Batch]:
    body = bytearray()
    sources: list[bytes] = []
    first = last = 0
    for record in records:
        _check_size(record.index, len(record.raw), max_bytes)
        if last and max_bytes is not None and len(body) + len(separator) + len(record.raw) > max_bytes:
            yield Batch(first, last, bytes(body), tuple(sources))
            body.clear()
            sources.clear()
            last = 0
        if last:
            body += separator
        else:
            first = record.index
        body += record.raw
        last = record.index
        if keep_sources:
            sources.append(record.original)
    if last:
        yield Batch(first, last, bytes(body), tuple(sources))


def _check_size(index: int, size: int, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise too_large(index, size, max_bytes)
