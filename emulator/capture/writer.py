"""In the owner process: the capture files, written to S3 off every request's path.

The front's workers deliver lines grouped by file (emulator.capture.sender); they are kept per destination,
endpoint, variant and hour, and a thread writes what came every CUT_INTERVAL as one file each (named after
its first line's time, as SageMaker names them). `close()` writes what is left: nothing captured is lost at a
clean stop.

    POST /_emulator/capture  {"groups": [{"destination", "endpoint", "variant", "first", "lines"}, ...]}
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulator.capture.lines import file_key, hour_of

CAPTURE_PATH = "/_emulator/capture"
CUT_INTERVAL = 1.0  # seconds between files of one variant: captures show in S3 within about a second

Write = Callable[[str, bytes], None]  # (s3:// URL, the file's bytes)


class CaptureWriter:
    def __init__(self, write: Write, interval: float = CUT_INTERVAL):
        self._write, self.interval = write, interval
        self._files: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def accept(self, groups: list[dict[str, Any]]) -> None:
        with self._lock:
            for group in groups:
                where = (group["destination"], group["endpoint"], group["variant"], hour_of(group["first"]))
                kept = self._files.setdefault(where, {**group, "lines": []})
                kept["first"] = min(kept["first"], group["first"])
                kept["lines"].extend(group["lines"])
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
                files, self._files = self._files, {}
            for (destination, endpoint, variant, _), kept in files.items():
                url = file_key(destination, endpoint, variant, kept["first"])
                try:
                    self._write(url, ("\n".join(kept["lines"]) + "\n").encode())
                except Exception as exc:  # e.g. no such bucket: said where the user looks, never raised at a request
                    print(f"sagemaker-emulator: {len(kept['lines'])} captured invocation(s) of endpoint {endpoint} "
                          f"could not be written to {url}: {exc}", file=sys.stderr)

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
            self.accept(request.get_json(force=True)["groups"])
            return jsonify({})

        return routes
