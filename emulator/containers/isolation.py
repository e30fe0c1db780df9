"""EnableNetworkIsolation: a container with no network at all, reached through its network namespace.

Why not a Docker `internal` network: a container on one has no route out, but it still reaches every
port the host listens on, through the bridge's gateway address and the host's other addresses (seen on
Docker 20.10). A container started with `--network none` has only its loopback interface.

This process, which owns the container, joins the two sides: it listens on 127.0.0.1 on the host, and
for each connection a thread enters the container's network namespace (`setns` changes only the calling
thread) and connects to the server's port on the container's loopback. That needs CAP_SYS_ADMIN (root)
and an engine on this machine (not Docker Desktop's VM, not rootless Docker or Podman); `check()` says so
at start.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from typing import Callable

from emulator.errors import EmulatorError

CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT = 2.0
CHUNK = 256 * 1024


class NamespaceRelay:
    """127.0.0.1:<a port of its own> on the host -> 127.0.0.1:`port` inside a container's network namespace.

    `namespace` gives the path of the container's current namespace; it is asked at each connection,
    since a restarted container has a new one. The host port never changes, so neither does the URL.
    """

    def __init__(self, namespace: Callable[[], str], port: int):
        self._namespace, self._port = namespace, port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> "NamespaceRelay":
        threading.Thread(target=self._accept, name=f"relay-{self.url}", daemon=True).start()
        return self

    def check(self) -> None:
        """Raise a clear EmulatorError now when this process cannot enter the container's namespace."""
        failure: list[Exception] = []

        def enter() -> None:  # in a thread that ends there, so this one stays on the host's network
            try:
                _enter(self._namespace())
            except (OSError, KeyError) as exc:
                failure.append(exc)

        thread = threading.Thread(target=enter)
        thread.start()
        thread.join()
        if failure:
            raise EmulatorError(
                f"EnableNetworkIsolation: cannot enter the container's network namespace ({failure[0]}). The emulator "
                "reaches an isolated container from inside its namespace, which needs root and a Docker or Podman engine "
                "on this machine (not Docker Desktop, not rootless Docker or Podman). Fix: run the emulator as root on "
                "the engine's host, or set EnableNetworkIsolation: false for local runs.")

    def stop(self) -> None:
        """Stop listening and cut every open connection; calling it again is harmless."""
        _shut(self._listener)  # wakes the thread blocked in accept()
        self._listener.close()
        with self._lock:
            for sock in self._open:
                _shut(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        """In a thread of its own, which stays in the container's namespace until it ends."""
        try:
            _enter(self._namespace())
            inside = socket.create_connection(("127.0.0.1", self._port), timeout=CONNECT_TIMEOUT)
            inside.settimeout(None)
        except (OSError, KeyError):
            client.close()  # the container is down: the caller sees a closed connection at once, as from a crash
            return
        with self._lock:
            self._open.update((client, inside))
        try:
            _splice(client, inside)
        finally:
            with self._lock:
                self._open.difference_update((client, inside))


def _enter(namespace: str) -> None:
    descriptor = os.open(namespace, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(descriptor, CLONE_NEWNET) != 0:  # Linux's libc; cheap to look up
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
    finally:
        os.close(descriptor)


def _splice(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until both sides have finished sending, then close both."""
    other = threading.Thread(target=_copy, args=(a, b), daemon=True)
    other.start()
    _copy(b, a)
    other.join()
    a.close()
    b.close()


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)  # pass the end of the stream on, as the other side sent it
    except OSError:
        _shut(source)  # one side failed: end the other direction too
        _shut(target)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected
