"""The control plane's state: models, endpoint configs, endpoints (and jobs) as JSON documents in SQLite,
plus the serving table the front's workers route by.

One owner process writes (a lock file in the state folder keeps a second `serve` out); the front's
workers only read the serving table, through their own connections (WAL: readers never block the writer).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from emulator.errors import EmulatorError
from emulator.settings import Settings
from emulator.seam import serving, sessions
from emulator.seam.serving import EndpointSpec, connect, read_serving

DATABASE = "state.sqlite3"
LOCK = "owner.lock"
SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key));
""" + serving.SCHEMA + sessions.SCHEMA


def default_state_folder() -> Path:
    return Settings.from_environment().default_state_folder


def database_path(folder: Path) -> Path:
    return folder / DATABASE


class Store:
    """The owner's handle on the state folder; holds its lock until closed."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_file = _take_lock(self.folder)
        self._db = connect(database_path(self.folder))
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(SCHEMA)
        self._mutex = threading.Lock()

    @property
    def path(self) -> Path:
        return database_path(self.folder)

    def insert(self, kind: str, key: str, body: dict[str, Any]) -> bool:
        """False when a document of that kind and key exists already."""
        with self._mutex:
            try:
                self._db.execute("INSERT INTO resources VALUES (?, ?, ?)", (kind, key, json.dumps(body)))
            except sqlite3.IntegrityError:
                return False
        return True

    def put(self, kind: str, key: str, body: dict[str, Any]) -> None:
        with self._mutex:
            self._db.execute("INSERT OR REPLACE INTO resources VALUES (?, ?, ?)", (kind, key, json.dumps(body)))

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._mutex:
            row = self._db.execute("SELECT body FROM resources WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, kind: str, key: str) -> bool:
        with self._mutex:
            return self._db.execute("DELETE FROM resources WHERE kind = ? AND key = ?", (kind, key)).rowcount > 0

    def all(self, kind: str) -> list[dict[str, Any]]:
        with self._mutex:
            return read_all(self._db, kind)

    def set_serving(self, endpoint: str, spec: EndpointSpec | None) -> None:
        """What the front routes `endpoint`'s invocations to; None: nothing (not found)."""
        with self._mutex:
            serving.write_serving(self._db, endpoint, spec)

    def serving(self) -> dict[str, EndpointSpec]:
        with self._mutex:
            return read_serving(self._db)

    def open_session(self, session: sessions.Session) -> None:
        with self._mutex:
            sessions.write_open(self._db, session)

    def close_session(self, endpoint: str, session_id: str) -> None:
        with self._mutex:
            sessions.write_close(self._db, endpoint, session_id)

    def close(self) -> None:
        with self._mutex:
            self._db.close()
        self._lock_file.close()  # closing the descriptor releases the lock


def read_all(connection: sqlite3.Connection, kind: str) -> list[dict[str, Any]]:
    rows = connection.execute("SELECT body FROM resources WHERE kind = ? ORDER BY key", (kind,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def _take_lock(folder: Path):
    path = folder / LOCK
    handle = open(path, "a+")  # noqa: SIM115 - held open for the store's life: the lock lives with it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise EmulatorError(f"the state folder {folder} is in use by another sagemaker-emulator (pid {holder}). "
                            "Fix: stop that one, or give this one its own folder with --state DIR.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
