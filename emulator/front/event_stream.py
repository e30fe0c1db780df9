"""AWS's event-stream framing (application/vnd.amazon.eventstream), the encoding side: botocore ships
only the parser (botocore.eventstream), which the tests use to prove these frames parse.

A message is a prelude (total length, headers length, the prelude's CRC32), the headers, the payload,
and the CRC32 of everything before it; all integers big-endian. The runtime sends only string headers.
"""

from __future__ import annotations

import json
import struct
import zlib

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7  # the header value type of a UTF-8 string
_PRELUDE = struct.Struct(">II")


def message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = _PRELUDE.pack(_PRELUDE.size + 4 + len(encoded) + len(payload) + 4, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return struct.pack(">B", len(name_bytes)) + name_bytes + struct.pack(">BH", _STRING, len(value_bytes)) + value_bytes


def event(event_type: str, payload: bytes, content_type: str = "application/octet-stream") -> bytes:
    """An event of the stream, e.g. a PayloadPart whose payload is the part's bytes."""
    return message({":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, payload)


def exception(exception_type: str, members: dict[str, str]) -> bytes:
    """A modeled error ending the stream (ModelStreamError, InternalStreamFailure): boto3 raises it as an
    EventStreamError whose code is `exception_type`."""
    return message({":exception-type": exception_type, ":content-type": "application/json",
                    ":message-type": "exception"}, json.dumps(members).encode())
