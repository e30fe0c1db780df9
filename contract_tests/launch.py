"""Start a container under test as SageMaker does (`IMAGE serve`) and wait for its first healthy ping.

Unlike an endpoint, the suite watches more than the expected port: a container that answers on
8080 although told SAGEMAKER_BIND_TO_PORT=9123 is reported as such at once, not after a timeout.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from contract_tests import calls
from contract_tests.slow_pings import PingWatch
from emulator import labels as L
from emulator.docker_backend import ContainerSpec, DockerBackend
from emulator.errors import EmulatorError

POLL_INTERVAL = 0.05
EXPECTED_PORT_GRACE = 2.0  # after another port answered, how long the expected one may still take
LOG_LINES = 20


@dataclass
class Launched:
    container_id: str  # "" when Docker did not create it
    port: int  # the port it was told to listen on
    urls: dict[int, str] = field(default_factory=dict)  # container port -> URL from this host
    answered_on: int | None = None  # the port that first answered /ping with 200
    problem: str = ""  # why it is not serving on `port`, with its last log lines

    @property
    def serving(self) -> bool:
        return self.answered_on == self.port

    @property
    def url(self) -> str:
        return self.urls[self.port]


def launch(backend: DockerBackend, image: str, *, role: str, port: int, environment: dict[str, str],
           model: Path | None, model_read_only: bool = True, also_watch: tuple[int, ...] = (),
           timeout: float) -> Launched:
    spec = ContainerSpec(image=image, name=_name(image, role), container_port=port, environment=environment,
                         labels={**L.owner_labels(), L.ENDPOINT: "contract-tests", L.CONTAINER_HOSTNAME: role},
                         model_folder=model, model_read_only=model_read_only, extra_ports=also_watch)
    try:
        container_id, url = backend.run(spec)
    except EmulatorError as exc:
        return Launched("", port, problem=f"Docker did not start it: {exc}")
    watched = {other: backend.published_url(container_id, other) for other in also_watch}
    launched = Launched(container_id, port, {port: url, **watched})
    _wait_for_ping(backend, launched, timeout)
    return launched


def _wait_for_ping(backend: DockerBackend, launched: Launched, timeout: float) -> None:
    started = time.monotonic()
    deadline = started + timeout
    pings = PingWatch()
    while time.monotonic() < deadline:
        if pings.healthy(launched.url):
            launched.answered_on = launched.port
            return
        if pings.too_slow:
            launched.problem = pings.problem()
            break
        if launched.answered_on is None:
            launched.answered_on = next((port for port, url in launched.urls.items()
                                         if port != launched.port and calls.ping(url).status == 200), None)
            if launched.answered_on is not None:
                deadline = min(deadline, time.monotonic() + EXPECTED_PORT_GRACE)
        state = backend.state(launched.container_id)
        if state.status not in ("running", "created"):
            launched.problem = f"exited with code {state.exit_code} after {time.monotonic() - started:.1f} s"
            break
        time.sleep(POLL_INTERVAL)
    else:
        launched.problem = (f"did not answer GET /ping with 200 within {timeout:g} s" if launched.answered_on is None
                            else f"answered /ping on port {launched.answered_on}, never on port {launched.port}")
    launched.problem += last_logs(backend, launched.container_id)


def last_logs(backend: DockerBackend, container_id: str) -> str:
    text = backend.logs(container_id, tail=LOG_LINES).decode("utf-8", "replace").rstrip()
    if not text:
        return "; it printed nothing."
    return ". Its last log lines:\n    " + "\n    ".join(text.splitlines()[-LOG_LINES:])


def _name(image: str, role: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", image.rsplit("/", 1)[-1]).strip("-.")
    return f"sme-check-{slug}-{role}-{uuid.uuid4().hex[:8]}"
