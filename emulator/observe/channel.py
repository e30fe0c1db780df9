"""Finished invocations from the front's workers to the owner process, never slowing a request.

A request only appends to a bounded list (dropping, and counting, when it is full). A thread in each worker,
woken by the first record of a batch (an idle front never wakes it), sends what came within FLUSH_INTERVAL
as JSON datagrams on a unix socket, without blocking: when the owner's
queue is full the batch is dropped and counted (Linux queues only net.unix.max_dgram_qlen datagrams, 10 by
default, per receiving socket: one datagram per batch keeps far below it). The owner's count of drops
includes what the workers report with their next batch.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from emulator.batches import Batched
from emulator.observe.records import Finished, invocation_record

FLUSH_INTERVAL = 0.1  # seconds: a request shows in `trace --follow` well within a second
PENDING_LIMIT = 2000  # records waiting for the next flush; beyond, a request's record is dropped
DATAGRAM_LIMIT = 200_000  # bytes (below the default socket buffer, 212,992)
RECEIVE_BUFFER = 1 << 20


class Sender(Batched[Finished]):
    """In a front worker. Created at import; its thread starts with the first record (after gunicorn forks)."""

    def __init__(self, path: str, body_limit: int):
        super().__init__(PENDING_LIMIT, FLUSH_INTERVAL, "request-log-sender")
        self.path, self.body_limit = path, body_limit
        self._socket: socket.socket | None = None

    @property
    def capture_bodies(self) -> bool:
        return self.body_limit > 0

    def _opened(self) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending and not self._dropped:
            return
        for batch in _batches([invocation_record(f, self.body_limit) for f in pending]):
            dropped, self._dropped = self._dropped, 0
            payload = f'{{"dropped":{dropped},"records":[{",".join(batch)}]}}'.encode()
            try:
                self._socket.sendto(payload, self.path)
            except OSError:  # queue full (EAGAIN), owner gone (ECONNREFUSED, ENOENT): drop, never wait
                self._dropped += dropped + len(batch)


def _batches(records: list[dict[str, Any]]) -> list[list[str]]:
    """Records as JSON, grouped so each datagram stays under DATAGRAM_LIMIT; one too large alone loses its bodies."""
    room = DATAGRAM_LIMIT - 100
    batches: list[list[str]] = [[]]
    size = 0
    for record in records:
        text = _json(record)
        if len(text) > room:
            text = _json(_without_bodies(record))
        if size + len(text) > room and batches[-1]:
            batches.append([])
            size = 0
        batches[-1].append(text)
        size += len(text) + 1
    return [batch for batch in batches if batch]


def _json(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def _without_bodies(record: dict[str, Any]) -> dict[str, Any]:
    hops = [{k: v for k, v in hop.items() if not k.startswith(("request_body", "response_body"))} for hop in record["hops"]]
    return {**record, "hops": hops, "bodies_dropped": "too large for the request log"}


class Receiver:
    """In the owner process: binds the socket (in a folder only this user can open) and hands batches over."""

    def __init__(self, path: str, deliver: Callable[[list[dict[str, Any]], int], None]):
        self.path, self._deliver = path, deliver
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(path)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self._thread = threading.Thread(target=self._run, name="request-log-receiver", daemon=True)
        self._closed = False

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed = True
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the thread's recv (close alone would not)
        except OSError:
            pass
        self._thread.join(timeout=2)
        self._socket.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _run(self) -> None:
        while not self._closed:
            try:
                data = self._socket.recv(DATAGRAM_LIMIT + 1024)
            except OSError:
                return
            if self._closed:
                return
            try:
                message = json.loads(data)
                self._deliver(message["records"], int(message["dropped"]))
            except (ValueError, KeyError, TypeError):
                continue  # not ours: only this user can write to the socket, so nothing worse than a bug
