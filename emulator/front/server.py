"""Run the front app under gunicorn in a child process; this process keeps the containers."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import urllib3

from emulator.errors import EmulatorError
from emulator.seam.worker_settings import CLIENT_TIMEOUT, RequestLogChannel, WorkerSettings
from emulator.waiting import wait_until

START_TIMEOUT = 30.0
# A worker whose event loop stops for this long (a runaway computation, not a slow container or
# client: those only wait) is replaced by gunicorn.
WORKER_TIMEOUT = 120
# gunicorn's default (8190) would answer a long header with an HTML page; up to this size the app
# answers with a SageMaker ValidationError naming the header.
MAX_HEADER_BYTES = 65536
# Connections the front holds at once, kept-alive idle ones included (each carries at most one request in
# flight); past it new connections wait in the kernel's queue. Far above what a laptop's load test opens.
MAX_CONNECTIONS = 2048
# Idle time between kept-alive requests, and the time a client has to send a request's headers.
KEEP_ALIVE = 75


class FrontServer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, workers: int = 2,
                 max_connections: int = MAX_CONNECTIONS, keep_alive: int = KEEP_ALIVE,
                 client_timeout: float = CLIENT_TIMEOUT):
        if workers < 1 or max_connections < workers:
            raise EmulatorError(f"the front needs at least 1 worker and as many connections as workers (got {workers} "
                                f"workers, {max_connections} connections). Fix: --workers or --max-connections.")
        self.host, self.port = host, port
        self.workers, self.max_connections = workers, max_connections
        self.keep_alive, self.client_timeout = keep_alive, client_timeout
        self._listener: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._lifeline: int | None = None  # write end of the pipe whose closing stops the front
        self._ready = False
        self._launch: tuple[list[str], WorkerSettings] | None = None  # to start gunicorn again
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Lock()  # a restart by the watcher and stop() never interleave
        self.on_failure: Callable[[str], None] | None = None  # told when a dead front could not be restarted

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None

    def listen(self) -> "FrontServer":
        """Take the port now, so a port in use is reported before any container starts."""
        if self._listener is None:
            if not _is_loopback(self.host):
                warnings.warn(f"the front server listens on {self.host}, reachable from other machines; "
                              "it has no authentication. Use --host 127.0.0.1 unless you mean it.", stacklevel=2)
            self._listener = _listen(self.host, self.port)
            self.port = self._listener.getsockname()[1]
        return self

    def start(self, state_database: Path, control_url: str | None = None,
              request_log: RequestLogChannel | None = None, *, wait: bool = True) -> "FrontServer":
        """Serve the endpoints of the serving table in `state_database`; forward the rest to `control_url`
        (None: there is no control plane, as in an exported pod's router). `request_log`: where the workers
        send their invocations (None: nowhere). `wait=False`: return once gunicorn is started, and call
        wait_ready() later (the emulator boots the front while its containers boot)."""
        listener = self.listen()._listener
        per_worker = -(-self.max_connections // self.workers)
        command = [sys.executable, "-m", "gunicorn", "--bind", f"fd://{listener.fileno()}",
                   "--worker-class", "emulator.front.worker.FrontWorker", "--workers", str(self.workers),
                   "--worker-connections", str(per_worker), "--timeout", str(WORKER_TIMEOUT),
                   "--graceful-timeout", "5", "--keep-alive", str(self.keep_alive),
                   "--limit-request-field_size", str(MAX_HEADER_BYTES), "--config", "python:emulator.front.lifeline",
                   "--log-level", "warning", "emulator.front.app:create_app()"]
        settings = WorkerSettings(str(state_database), control_url, self.client_timeout, request_log)
        self._launch = (command, settings)
        self._spawn()
        if wait:
            self.wait_ready()
        return self

    def _spawn(self) -> None:
        """Start gunicorn on our socket. We keep the socket (bound before any container started, so the
        port is known at once and no other process can take it) to start gunicorn again if it dies."""
        command, settings = self._launch
        lifeline, self._lifeline = os.pipe()
        self._process = subprocess.Popen(command, env=settings.with_lifeline(lifeline).child_environment(),
                                         pass_fds=[self._listener.fileno(), lifeline],
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        os.close(lifeline)

    def wait_ready(self) -> None:
        """Until the front answers /ping (at once when it did already)."""
        if self._ready:
            return
        pool = urllib3.PoolManager(retries=False)

        def answers() -> bool:
            try:
                return pool.request("GET", self.url + "/ping", timeout=1.0).status == 200
            except urllib3.exceptions.HTTPError:
                return False

        process = self._process
        if process is None:
            raise EmulatorError("the front server is stopped: start() it first.")
        waited = wait_until(answers, timeout=START_TIMEOUT, abort=process.poll)
        if waited.ready:
            self._ready = True
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="front-watcher", daemon=True)
                self._watcher.start()
            return
        self.stop()
        if waited.aborted is not None:
            raise EmulatorError(f"the front server (gunicorn) exited with code {waited.aborted} at start; "
                                "its output is above.")
        raise EmulatorError(f"the front server did not answer on {self.url} within {START_TIMEOUT:g} s.")

    def _watch(self) -> None:
        """A front that dies (its gunicorn master killed) is started again on the same socket at once, so
        the port never stays silent while the containers run; if it cannot start, `on_failure` is told."""
        while (process := self._process) is not None:
            code = process.wait()
            if self._process is not process:  # stop() ended it
                return
            print(f"the front server (gunicorn) exited with code {code}; starting it again on {self.url}",
                  file=sys.stderr, flush=True)
            try:
                with self._stopping:
                    if self._process is not process:  # stop() began meanwhile
                        return
                    self._ready = False
                    self._close_lifeline()
                    self._spawn()
                self.wait_ready()
            except (EmulatorError, OSError) as exc:
                self._watcher = None
                if self._process is None:  # stopped while starting again: nothing failed
                    return
                if self.on_failure is not None:
                    self.on_failure(f"the front server died and could not be started again: {exc}")
                return

    def stop(self) -> None:
        with self._stopping:
            self._ready = False
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_lifeline()

    def _close_lifeline(self) -> None:
        lifeline, self._lifeline = self._lifeline, None
        if lifeline is not None:
            os.close(lifeline)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise EmulatorError(f"cannot listen on {host}:{port} ({exc.strerror}). Fix: choose another --port, "
                            "or stop what uses it.") from None
    listener.listen(1024)
    return listener


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
