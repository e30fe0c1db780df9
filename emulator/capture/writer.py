"""In the owner process: the capture files, written to S3 off every request's path.

The front's workers deliver captures in batches (emulator.capture.sender, framed by emulator.capture.frames);
a thread makes their lines and writes what came every CUT_INTERVAL as one file per destination, endpoint,
variant and hour (named after its first line's time, as SageMaker names them). `close()` writes what is left:
nothing captured is lost at a clean stop.

    POST /_emulator/capture   (body: frames)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulator.capture.frames import BadFrames, decode
from emulator.capture.lines import Captured, file_key, hour_of, line

CAPTURE_PATH = "/_emulator/capture"
CUT_INTERVAL = 1.0  # seconds between files of one variant: with the workers' half second, captures show in S3 within about two seconds

Write = Callable[[str, bytes], None]  # (s3:// URL, the file's bytes)


class CaptureWriter:
    def __init__(self, write: Write, interval: float = CUT_INTERVAL):
        self._write, self.interval = write, interval
        self._pending: list[Captured] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def accept(self, captures: list[Captured]) -> None:
        with self._lock:
            self._pending.extend(captures)
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
                self._thread.start()
        if self._closed.is_set():  # a worker's last delivery after the close: written at once
            self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self._writing:
            with self._lock:
                pending, self._pending = self._pending, []
            for group in files(pending):
                url = file_key(group["destination"], group["endpoint"], group["variant"], group["first"])
                try:
                    self._write(url, ("\n".join(group["lines"]) + "\n").encode())
                except Exception as exc:  # e.g. no such bucket: said where the user looks, never raised at a request
                    print(f"sagemaker-emulator: {len(group['lines'])} captured invocation(s) of endpoint "
                          f"{group['endpoint']} could not be written to {url}: {exc}", file=sys.stderr)

    def close(self) -> None:
        self._closed.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)
        self.flush()

    def routes(self) -> Blueprint:
        routes = Blueprint("capture", __name__)

        @routes.post(CAPTURE_PATH)
        def capture() -> Response:
            try:
                self.accept(decode(request.get_data()))
            except BadFrames as error:
                return jsonify({"error": str(error)}), 400
            return jsonify({})

        return routes


def files(captures: list[Captured]) -> list[dict[str, Any]]:
    """The lines of `captures`, grouped by the file they go to: one per destination, endpoint, variant and hour."""
    grouped: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for captured in captures:
        where = (captured.spec.destination, captured.endpoint, captured.variant, hour_of(captured.time))
        group = grouped.setdefault(where, {"destination": captured.spec.destination, "endpoint": captured.endpoint,
                                           "variant": captured.variant, "first": captured.time, "lines": []})
        group["first"] = min(group["first"], captured.time)
        group["lines"].append(line(captured))
    return list(grouped.values())
