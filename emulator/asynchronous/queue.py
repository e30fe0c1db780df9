"""The durable queue of asynchronous requests: a table in the state database (the control plane's
file, on a connection of its own), so accepting a request is a committed row and a restart loses none.

A row is `queued`, then `running` while a worker has it; it is deleted once its output or failure object
is written. At start, `requeue` puts back the rows a stopped or killed owner left `running` (counted in
`attempts`, so the worker can look for an object written just before the stop instead of writing twice).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from emulator.asynchronous.requests import AsyncRequest
from emulator.seam.serving import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS async_requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    request TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS async_requests_by_state ON async_requests (state, endpoint, seq);
"""
QUEUED, RUNNING = "queued", "running"


@dataclass(frozen=True)
class Claimed:
    seq: int
    attempts: int  # earlier starts of this request (a stop or a crash interrupted them)
    request: AsyncRequest


class DurableQueue:
    def __init__(self, database: Path):
        self._db = connect(database)
        # A commit reaches the OS before put() returns, so a killed owner loses nothing; only a crash of the
        # machine itself could lose the last commits (WAL with synchronous NORMAL: no fsync per request).
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def put(self, request: AsyncRequest) -> None:
        with self._lock:
            self._db.execute("INSERT INTO async_requests (endpoint, state, request) VALUES (?, ?, ?)",
                             (request.endpoint.lower(), QUEUED, request.to_json()))

    def requeue(self) -> int:
        """Rows left running by an owner that stopped: queued again. Returns how many."""
        with self._lock:
            return self._db.execute("UPDATE async_requests SET state = ? WHERE state = ?", (QUEUED, RUNNING)).rowcount

    def waiting_endpoints(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT endpoint FROM async_requests WHERE state = ?", (QUEUED,))
            return [endpoint for (endpoint,) in rows]

    def claim(self, endpoint: str, count: int) -> list[Claimed]:
        """Up to `count` of the endpoint's oldest queued requests, marked running."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute("SELECT seq, attempts, request FROM async_requests WHERE state = ? AND endpoint = ? "
                                        "ORDER BY seq LIMIT ?", (QUEUED, endpoint, count)).fetchall()
                self._db.executemany("UPDATE async_requests SET state = ?, attempts = attempts + 1 WHERE seq = ?",
                                     [(RUNNING, seq) for seq, _, _ in rows])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return [Claimed(seq, attempts, AsyncRequest.from_json(text)) for seq, attempts, text in rows]

    def release(self, seq: int) -> None:
        """Back to queued (the endpoint cannot run it yet)."""
        with self._lock:
            self._db.execute("UPDATE async_requests SET state = ?, attempts = attempts - 1 WHERE seq = ?", (QUEUED, seq))

    def finish(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM async_requests WHERE seq = ?", (seq,))

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT state, COUNT(*) FROM async_requests GROUP BY state").fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()
