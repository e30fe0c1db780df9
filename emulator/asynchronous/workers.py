"""The pool that runs queued requests: at most `limit(endpoint)` at a time per endpoint, each in a thread.

One dispatcher thread claims work when woken (a request accepted, one finished) and every POLL seconds
(for endpoints that could not run yet). `limit` returns None for an endpoint that cannot run now (still
starting): its requests wait in the queue.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections import Counter
from typing import Callable

from emulator.asynchronous.queue import Claimed, DurableQueue

POLL = 1.0


class Workers:
    def __init__(self, queue: DurableQueue, run: Callable[[Claimed], None], limit: Callable[[str], int | None]):
        self.queue, self._run, self._limit = queue, run, limit
        self._active: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._dispatcher: threading.Thread | None = None

    def start(self) -> None:
        self._dispatcher = threading.Thread(target=self._dispatch, name="async-dispatcher", daemon=True)
        self._dispatcher.start()

    def wake(self) -> None:
        self._wake.set()

    def stopping(self) -> bool:
        return self._closed.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        """No new work starts. Invocations in flight are not waited for: they end when the containers stop,
        and once stopping their results are not written, so their requests stay queued for the next start."""
        self._closed.set()
        self._wake.set()
        if self._dispatcher is not None:
            self._dispatcher.join(timeout)

    def _dispatch(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(POLL)
            self._wake.clear()
            try:
                self._start_what_fits()
            except Exception:  # a bug of ours: logged, and the next wake tries again
                traceback.print_exc(file=sys.stderr)

    def _start_what_fits(self) -> None:
        for endpoint in self.queue.waiting_endpoints():
            limit = self._limit(endpoint)
            with self._lock:
                free = 0 if limit is None or self._closed.is_set() else limit - self._active[endpoint]
            if free <= 0:
                continue
            for claimed in self.queue.claim(endpoint, free):
                with self._lock:
                    self._active[endpoint] += 1
                thread = threading.Thread(target=self._guarded, args=(endpoint, claimed),
                                          name=f"async-{claimed.request.inference_id}", daemon=True)
                thread.start()

    def _guarded(self, endpoint: str, claimed: Claimed) -> None:
        try:
            self._run(claimed)
        except Exception:  # a bug of ours: logged; the run decides what becomes of the row
            traceback.print_exc(file=sys.stderr)
        finally:
            with self._lock:
                self._active[endpoint] -= 1
            self._wake.set()
