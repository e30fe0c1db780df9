"""Start again a container that stopped after a healthy start, as SageMaker replaces a failed instance.

Docker's restart policies do not cover it: a `docker kill` counts as a manual stop, after which no
policy (not even `always`) restarts the container (seen on Docker 20.10). So the process that owns
the containers watches them. `docker start` keeps the container's published host port, so its URL,
and every front worker's route to it, stays valid.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from emulator.invocation.container_http import pings
from emulator.containers.docker_backend import OUT_OF_MEMORY, DockerBackend

POLL_INTERVAL = 0.5
FIRST_BACKOFF, MAX_BACKOFF = 1.0, 30.0  # least time between two starts; doubles while it keeps dying
STABLE_AFTER = 10.0  # running this long after a start clears the backoff


@dataclass
class Watched:
    id: str
    hostname: str
    restarts: int = 0
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF
    down: bool = False  # seen stopped and not started again yet
    memory_kills: int = 0  # processes the kernel killed for lack of memory, as last seen
    url: str = ""
    awaiting_ping: bool = False  # started again, not answering /ping yet


class Supervisor:
    def __init__(self, backend: DockerBackend, containers: dict[str, tuple[str, str]], progress: Callable[[str], None],
                 events: Callable[[str, str, str], None] = lambda hostname, event, detail: None,
                 memory_kills: Callable[[str], int | None] = lambda container_id: None):
        """`containers`: hostname -> (container id, URL); `events` hears (hostname, exited|restarted|healthy|
        out-of-memory, detail); `memory_kills(container id)`: its processes killed for lack of memory so far."""
        self.backend, self._progress, self._events, self._memory_kills = backend, progress, events, memory_kills
        self.watched = {hostname: Watched(cid, hostname, url=url) for hostname, (cid, url) in containers.items()}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sagemaker-emulator-supervisor", daemon=True)

    def start(self) -> "Supervisor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def restarts(self, hostname: str) -> int:
        return self.watched[hostname].restarts

    def _run(self) -> None:
        while not self._stopping.wait(POLL_INTERVAL):
            for container in self.watched.values():
                try:
                    self._check(container)
                except Exception as exc:  # noqa: BLE001 - the engine's errors vary; the watch must go on
                    self._progress(f"{container.hostname}: cannot check or restart it ({exc}); trying again")

    def _check(self, container: Watched) -> None:
        kills = self._memory_kills(container.id)
        if kills is not None and kills > container.memory_kills:
            container.memory_kills = kills
            self._events(container.hostname, "out-of-memory", f"a process of it was {OUT_OF_MEMORY}")
            self._progress(f"{container.hostname}: a process of it was {OUT_OF_MEMORY}")
        state = self.backend.state(container.id)
        status = state.status
        now = time.monotonic()
        if status == "running" and now - container.started_at > STABLE_AFTER:
            container.backoff = FIRST_BACKOFF
        if status == "running" and container.awaiting_ping and pings(container.url):
            container.awaiting_ping = False
            self._events(container.hostname, "healthy", f"after restart {container.restarts}")
        if status not in ("exited", "dead"):
            return
        if not container.down:
            container.down = True
            self._events(container.hostname, "exited", state.describe())
        if now - container.started_at < container.backoff:
            return
        # Set before starting, so a start that fails is not tried again at every poll either.
        container.started_at, container.backoff = now, min(container.backoff * 2, MAX_BACKOFF)
        self.backend.start(container.id)
        container.restarts += 1
        container.down, container.awaiting_ping = False, True
        self._events(container.hostname, "restarted", f"restart {container.restarts}, same port")
        self._progress(f"{container.hostname}: it had stopped ({status}); started it again "
                       f"(restart {container.restarts}, same port)")
