"""The front's gunicorn worker: gevent, so a connection costs a greenlet, not a thread.

A request whose headers or body are still arriving (a slow upload, or a client that sends part of its
headers and goes silent) waits in its own greenlet while the others go on. The bounds are those of a
server facing the internet:
- the headers, and the idle time between kept-alive requests: gunicorn's `--keep-alive` seconds
  (its async workers read each request's headers under that timeout), then the connection is closed;
- silence while a body is read or an answer is written: the client timeout, per read or write;
- connections at once: `--worker-connections` per worker; a full worker stops accepting and the kernel
  queues newcomers, so requests in flight are bounded by workers x worker-connections, not by threads.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
from gevent import monkey, socket
from gunicorn.workers.ggevent import GeventWorker

from emulator.seam.worker_settings import WorkerSettings

# The workers connect only to numeric loopback addresses (containers, the owner): resolving them in
# gevent's default thread pool would add a thread hand-off to every new connection, for nothing.
gevent.config.resolver = "block"


class FrontWorker(GeventWorker):
    def init_process(self) -> None:
        self._awaiting: dict[gevent.Greenlet, gevent.Timeout] = {}  # connections waiting for a request's headers
        _allow_open_files(2 * self.worker_connections + 64)  # each client's socket, and one to its container
        super().init_process()

    def patch(self) -> None:
        # gunicorn's GeventWorker.patch, but select and selectors stay the kernel's: their only user here is
        # urllib3's check, with a timeout of 0, that a pooled connection is still open (never a wait), and
        # gevent's poll takes 15 times as long for it (27 us against 1.7, twice per request).
        monkey.patch_all(select=False)
        self.sockets = [socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach()) for s in self.sockets]
        self.client_timeout = WorkerSettings.from_environment().client_timeout

    @contextmanager
    def timeout_ctx(self) -> Iterator[None]:
        """gunicorn reads each request's headers in this: --keep-alive seconds at most, cut short on a stop."""
        waiting = gevent.Timeout(self.cfg.keepalive, False)
        self._awaiting[gevent.getcurrent()] = waiting
        try:
            with waiting:
                yield
        finally:
            del self._awaiting[gevent.getcurrent()]

    def run(self) -> None:
        try:
            super().run()
        finally:  # after the graceful stop: what this worker captured reaches the owner before it exits
            capture = getattr(self.wsgi, "extensions", {}).get("capture")
            if capture is not None:
                capture.flush()

    def handle_exit(self, sig: int, frame: Any) -> None:
        """A graceful stop: requests in flight finish; idle kept-alive connections close at once, as at
        their timeout (else the stop would wait the whole graceful timeout for clients that send nothing)."""
        super().handle_exit(sig, frame)
        gevent.get_hub().loop.run_callback(self._end_waits)

    def _end_waits(self) -> None:
        # In the event loop, where every greenlet is parked: one still awaiting its headers gets its own
        # timeout, which its wait swallows (a request that has just arrived is not cut off).
        for greenlet, waiting in list(self._awaiting.items()):
            if self._awaiting.get(greenlet) is waiting:
                greenlet.throw(waiting)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        sock.settimeout(self.client_timeout)
        try:
            return super().handle_request(listener_name, req, sock, addr)
        except TimeoutError:
            # The client stopped sending its body or reading its answer: drop the connection quietly
            # (gunicorn would log an OSError without an errno as a failure of its own).
            raise StopIteration from None
        finally:
            sock.settimeout(None)  # between requests only --keep-alive bounds the wait


def _allow_open_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
