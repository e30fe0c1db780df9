"""HTTP to the containers: one shared connection pool, and the /ping check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import urllib3

PING_TIMEOUT = 2.0  # SageMaker's per-ping timeout

# Connections kept open to each container. The front can have hundreds of requests in flight to one
# container; past this many, connections are closed after use (and urllib3 warns of each).
KEPT_PER_CONTAINER = 1024
pool = urllib3.PoolManager(num_pools=64, maxsize=KEPT_PER_CONTAINER, retries=False)


def pings(url: str) -> bool:
    """True when the container at `url` answers GET /ping with 200 within the ping timeout."""
    try:
        return pool.request("GET", url + "/ping", timeout=PING_TIMEOUT, retries=False).status == 200
    except urllib3.exceptions.HTTPError:
        return False


class StreamedFile:
    """A request body read from a file as it is sent (chunked), never held whole: a transform job's
    object with MaxPayloadInMB 0. Each send reads the file afresh, so retries resend it."""

    CHUNK = 1 << 20

    def __init__(self, path: Path):
        self.path = path
        self.size = path.stat().st_size

    def __len__(self) -> int:
        return self.size

    def chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as stream:
            while chunk := stream.read(self.CHUNK):
                yield chunk
