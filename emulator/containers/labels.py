"""Labels on everything the emulator starts, so leftovers can always be found and removed."""

from __future__ import annotations

import os
import socket
import uuid
from functools import lru_cache

from emulator.settings import Settings

PREFIX = "io.github.sagemaker-emulator"
MANAGED = f"{PREFIX}.managed"
ENDPOINT = f"{PREFIX}.endpoint"
SESSION = f"{PREFIX}.session"
PID = f"{PREFIX}.pid"
PID_START = f"{PREFIX}.pid-start"
STATE = f"{PREFIX}.state"  # the state folder of the emulator that runs it, or what it keeps instead (state_label)
HOST = f"{PREFIX}.host"
CONTAINER_HOSTNAME = f"{PREFIX}.container-hostname"
HOST_PORT = f"{PREFIX}.host-port"
# Containers kept for reuse (emulator.containers.reuse): what they were started from, for whom, and which start they belong to.
REUSE_KEY = f"{PREFIX}.reuse-key"
REUSE_SCOPE = f"{PREFIX}.reuse-scope"
REUSE_GROUP = f"{PREFIX}.reuse-group"


@lru_cache(maxsize=1)
def session_id() -> str:
    """One id per process: pytest-xdist workers and parallel runs never share one."""
    return Settings.from_environment().session or uuid.uuid4().hex[:12]


def process_start_time(pid: int) -> str:
    """The kernel's start time of a process, so a reused pid is not taken for the living owner;
    empty for a zombie (killed, not yet reaped by its parent), which owns nothing any more."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if len(fields) < 20 or fields[0] == "Z" else fields[19]


def owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {MANAGED: "true", SESSION: session_id(), PID: str(pid),
            PID_START: process_start_time(pid), HOST: socket.gethostname()}


def state_label(folder: str | None, sources: list[str]) -> str:
    """What a container's STATE label says: the state folder its emulator keeps, or that it keeps none."""
    if folder is not None:
        return folder
    return f"none kept ({', '.join(sources)})" if sources else "none kept"


def state_of(labels: dict[str, str]) -> str:
    return labels.get(STATE, "unknown")


def owner_is_gone(labels: dict[str, str]) -> bool:
    """True when the process that started a container has died (on this host)."""
    if labels.get(HOST) != socket.gethostname():
        return False  # another machine's engine user: not ours to judge
    try:
        pid = int(labels.get(PID, ""))
    except ValueError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return process_start_time(pid) != labels.get(PID_START, "")
