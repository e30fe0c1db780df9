"""HTTP to the containers: one shared connection pool, and the /ping check."""

from __future__ import annotations

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
