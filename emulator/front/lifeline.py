"""gunicorn settings for the front (`--config python:emulator.front.lifeline`): end it when its emulator dies.

The emulator holds the write end of a pipe and never writes to it. The kernel closes it when the
emulator's process ends, however it ends (SIGKILL too), and the master's read then returns.
prctl's PDEATHSIG is no substitute: it follows the *thread* that started the child, so an emulator
that served from a short-lived thread lost its front as soon as that thread ended.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from emulator.seam.worker_settings import WorkerSettings


def when_ready(server: Any) -> None:
    """gunicorn hook, in the master once it listens (its signal handlers are installed by then)."""
    descriptor = WorkerSettings.from_environment().lifeline
    threading.Thread(target=_quit_when_closed, args=(descriptor,), name="lifeline", daemon=True).start()


def _quit_when_closed(descriptor: int) -> None:
    while os.read(descriptor, 1):
        pass  # nothing is ever written: only the end of the pipe matters
    os.kill(os.getpid(), signal.SIGQUIT)  # gunicorn's quick shutdown: nobody owns the containers any more
