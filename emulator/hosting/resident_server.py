"""The resident emulator's process (see emulator.hosting.resident): `python -m emulator.hosting.resident_server FOLDER`.

It serves the definition and options in FOLDER/resident.json with reuse on, and answers one-line JSON
questions on a unix socket only its user may reach (emulator.hosting.resident.socket_path):
- `attach`: is what it serves still what the file says now? With its front's URL, state folder and request log;
- `ping`: it lives;
- `stop`: stop (keeping the containers, for the next resident to adopt) and exit.
"""

from __future__ import annotations

import json
import os
import signal
import socketserver
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from emulator.hosting.emulator import Emulator, definitions_of
from emulator.definition import EndpointDefinition
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.group import fingerprint
from emulator.errors import EmulatorError
from emulator.hosting.resident import FAILURE, code_stamp, hold, socket_path
from emulator.settings import Settings
from emulator.waiting import until_set

DEFAULT_IDLE = 3600.0
IDLE_CHECK = 30.0  # seconds between two looks (or a quarter of the limit, if shorter)


class Resident:
    def __init__(self, folder: Path):
        self.folder = folder
        settings = json.loads((folder / "resident.json").read_text())
        self.source, self.names = settings["source"], settings["options"].get("names")
        try:
            self.emulator = Emulator(self.source, reuse=True, **settings["options"])
        except TypeError as error:  # as it would have been raised in the test's own process
            raise EmulatorError(f"{error}: sagemaker_endpoints() passes its options to Emulator, which does not take "
                                "this one. Fix: pass only Emulator's keyword arguments.") from None
        self.serving = self._fingerprints(self.emulator.definitions)  # taken before the start: a change meanwhile shows
        self.stopping = threading.Event()
        self.code = code_stamp()  # the code this process runs (emulator.hosting.resident compares it with its own)
        self.idle_limit = float(Settings.from_environment().resident_idle or DEFAULT_IDLE)
        self.active = time.monotonic()  # the last attach or invocation
        self.expired = False  # stopped for being idle: nobody will rerun soon, so its containers go too

    def run(self) -> None:
        self.emulator.listen()
        self.emulator.start()
        self.emulator.serve()
        path = socket_path(self.folder)
        path.unlink(missing_ok=True)  # a killed resident's
        resident = self

        class Questions(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                question = json.loads(self.rfile.readline() or b"{}")
                self.wfile.write(json.dumps(resident.answer(question.get("op"))).encode() + b"\n")

        server = socketserver.ThreadingUnixStreamServer(str(path), Questions)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="resident-questions", daemon=True).start()
        threading.Thread(target=self._expire_when_idle, name="resident-idle", daemon=True).start()
        print(f"resident emulator of {self.source} serving on {self.emulator.url} (pid {os.getpid()}); it stops "
              f"after {self.idle_limit:g} s without a run or an invocation", flush=True)
        try:
            until_set(self.stopping)
        finally:
            # Before the socket closes: whoever asked it to stop waits until its containers are free.
            self.emulator.stop(keep=not self.expired)
            server.shutdown()
            server.server_close()
            path.unlink(missing_ok=True)

    def answer(self, operation: str | None) -> dict[str, Any]:
        if operation == "ping":
            return {"ok": True, "pid": os.getpid()}
        if operation == "stop":
            self.stopping.set()
            return {"ok": True, "pid": os.getpid()}
        if operation != "attach":
            return {"ok": False, "why": f"unknown question {operation!r}"}
        self.active = time.monotonic()
        try:
            why = self._changed()
        except EmulatorError as error:  # the file no longer parses, an image is gone: a new start says it
            why = str(error).splitlines()[0]
        if why:
            return {"ok": False, "why": why}
        emulator = self.emulator
        return {"ok": True, "url": emulator.url, "pid": os.getpid(), "state": str(emulator.store.folder),
                "database": str(emulator.store.path), "log": self._log_settings(),
                "invocation_timeout": emulator.invocation_timeout, "describe_wait": emulator.describe_wait,
                "code": self.code}

    def _expire_when_idle(self) -> None:
        """Stop, removing the containers, after idle_limit seconds in which no run held it and nothing invoked it."""
        log = self.emulator.request_log
        seen = log.read()["next"] if log else 0
        while not self.stopping.wait(min(IDLE_CHECK, self.idle_limit / 4)):
            latest = log.read(seen)["next"] if log else 0
            if latest != seen or _held(self.folder / "lock"):
                seen, self.active = latest, time.monotonic()
            elif time.monotonic() - self.active >= self.idle_limit:
                print(f"idle for {self.idle_limit:g} s: stopping and removing the containers", flush=True)
                self.expired = True
                self.stopping.set()

    def _changed(self) -> str | None:
        """What differs between what this process serves and what the definition file says now."""
        now = self._fingerprints(definitions_of(self.source, self.names))
        if set(now) != set(self.serving):
            return f"its endpoints are now {', '.join(sorted(now))}, were {', '.join(sorted(self.serving))}"
        changed = sorted(name for name in now if now[name] != self.serving[name])
        if changed:
            return f"endpoint {', '.join(changed)}: the definition, an image id, a model artifact or the environment changed"
        missing = sorted(set(now) - set(self.emulator.endpoints))
        return f"endpoint {', '.join(missing)} no longer serves" if missing else None

    def _fingerprints(self, definitions: list[EndpointDefinition]) -> dict[str, str]:
        backend: DockerBackend = self.emulator.backend
        return {definition.name: fingerprint(definition, backend) for definition in definitions}

    def _log_settings(self) -> dict[str, Any] | None:
        """Where a run's in-process invocations go, to show in the resident's request log."""
        channel = self.emulator.request_log_channel()
        return asdict(channel) if channel else None


def _held(lock: Path) -> bool:
    """A run holds the resident (emulator.hosting.resident.attach): it may invoke at any moment. (A run attaching in the
    microseconds this probe holds the lock finds it held, and starts its own emulator: slower, never wrong.)"""
    descriptor = hold(lock)
    if descriptor is None:
        return True
    os.close(descriptor)
    return False


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl-C: the containers are kept
    try:
        Resident(folder).run()
    except EmulatorError as error:
        (folder / FAILURE).write_text(str(error))
        print(error, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
