"""Start a container from a spec and wait until it is healthy, as SageMaker does before it sends traffic.

Used by endpoints and by the contract suite. Waiting polls often, asks Docker now and then whether the
container still runs (a container that died is reported within INSPECT_EVERY polls, not at the timeout),
and stops at once when the caller's own abort condition says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulator.errors import EmulatorError
from emulator.waiting import wait_until

if TYPE_CHECKING:  # importing this module stays cheap: the contract suite's options read its default
    from emulator.containers.docker_backend import ContainerSpec, DockerBackend

DEFAULT_STARTUP_TIMEOUT = 240.0  # SageMaker's default ContainerStartupHealthCheckTimeoutInSeconds
INSPECT_EVERY = 4  # polls: asking Docker costs CPU the booting containers want
LOG_LINES = 20


@dataclass(frozen=True)
class Exited:
    """The container stopped while it was starting."""
    exit_code: int
    out_of_memory: bool = False


@dataclass
class Launch:
    container_id: str = ""  # "" when Docker did not create it
    url: str = ""
    start_error: str | None = None  # why Docker (or reaching it) failed
    healthy: bool = False
    seconds: float = 0.0  # how long the wait for health took
    stopped: Any = None  # what ended the wait early: Exited, or the caller's abort reason

    @property
    def timed_out(self) -> bool:
        return self.start_error is None and not self.healthy and self.stopped is None


def launch(backend: DockerBackend, spec: ContainerSpec, *, timeout: float = DEFAULT_STARTUP_TIMEOUT,
           after_run: Callable[[str, str], str] | None = None, ready: Callable[[str], bool] | None = None,
           abort: Callable[[], Any] | None = None) -> Launch:
    """Run `spec`, then poll `ready(url)` (default: /ping answers 200) until true, the container exits, `abort()` returns a reason or
    `timeout` passes. `after_run(container_id, url)`, called once Docker runs it, returns the URL to poll
    (the published one, or a relay's); an EmulatorError it raises is a start error."""
    launched = Launch()
    try:
        launched.container_id, launched.url = backend.run(spec)
        if after_run is not None:
            launched.url = after_run(launched.container_id, launched.url)
    except EmulatorError as exc:
        launched.start_error = str(exc)
        return launched
    if ready is None:
        from emulator.invocation.container_http import pings as ready  # noqa: PLC0415 - urllib3 only when a container starts
    polls = itertools.count()

    def stop_waiting() -> Any:
        reason = abort() if abort is not None else None
        if reason is None and next(polls) % INSPECT_EVERY == 0:
            state = backend.state(launched.container_id)
            if state.status not in ("running", "created"):
                return Exited(state.exit_code, state.out_of_memory)
        return reason

    waited = wait_until(lambda: ready(launched.url), timeout=timeout, abort=stop_waiting)
    launched.healthy, launched.seconds, launched.stopped = waited.ready, waited.seconds, waited.aborted
    return launched


def last_log_lines(backend: DockerBackend, container_id: str) -> str:
    """The container's last LOG_LINES lines, each on its own indented line ("" when it printed nothing)."""
    text = backend.logs(container_id, tail=LOG_LINES).decode("utf-8", "replace").rstrip()
    return "".join(f"\n    {line}" for line in text.splitlines()[-LOG_LINES:]) if text else ""
