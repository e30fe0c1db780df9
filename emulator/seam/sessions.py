"""Stateful sessions: which copy holds each open session, shared by the front's workers through the state database.

A call with SessionId NEW_SESSION goes to a copy like any other; when the container answers
`X-Amzn-SageMaker-New-Session-Id: <id>; Expires=<time>`, the worker asks the owner (OPEN_PATH) to record that the
session lives on that copy, and every later call with the id, on either worker, goes to it. The copy is fixed when
the session opens: no call of the session ever goes elsewhere. `X-Amzn-SageMaker-Closed-Session-Id` ends it
(CLOSE_PATH). Only the owner writes the table; the workers read it on their own connections, as the serving table.
"""

from __future__ import annotations

import email.utils
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime

SCHEMA = ("CREATE TABLE IF NOT EXISTS sessions (endpoint TEXT NOT NULL, id TEXT NOT NULL, target TEXT NOT NULL, "
          "copy TEXT NOT NULL, expires REAL, PRIMARY KEY (endpoint, id));")
OPEN_PATH, CLOSE_PATH = "/_emulator/sessions/open", "/_emulator/sessions/close"
NEW_SESSION = "NEW_SESSION"


@dataclass(frozen=True)
class Session:
    endpoint: str  # its key (lower case)
    id: str
    target: str  # the variant, or the inference component, whose copy holds it
    copy: str  # that copy's name ("" for a variant of one copy)
    expires: float | None  # seconds since the epoch (None: the container gave no time this reads)

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and (now if now is not None else time.time()) >= self.expires

    def to_dict(self) -> dict:
        return {"endpoint": self.endpoint, "id": self.id, "target": self.target, "copy": self.copy,
                "expires": self.expires}


def parse_new_session(value: str) -> tuple[str, float | None]:
    """`<id>; Expires=<time>` as a container answers it: the id, and the time as seconds since the epoch (ISO 8601,
    an HTTP date, or seconds; None when it gives none this reads)."""
    session_id, _, rest = value.partition(";")
    expires = None
    for attribute in rest.split(";"):
        name, _, text = attribute.strip().partition("=")
        if name.strip().lower() == "expires":
            expires = _seconds(text.strip())
    return session_id.strip(), expires


def _seconds(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


def write_open(connection: sqlite3.Connection, session: Session) -> None:
    connection.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)",
                       (session.endpoint, session.id, session.target, session.copy, session.expires))


def write_close(connection: sqlite3.Connection, endpoint: str, session_id: str) -> None:
    connection.execute("DELETE FROM sessions WHERE endpoint = ? AND id = ?", (endpoint, session_id))


def read(connection: sqlite3.Connection, endpoint: str, session_id: str) -> Session | None:
    row = connection.execute("SELECT endpoint, id, target, copy, expires FROM sessions WHERE endpoint = ? AND id = ?",
                             (endpoint, session_id)).fetchone()
    return Session(*row) if row else None
