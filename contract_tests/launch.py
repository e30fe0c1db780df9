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
from emulator.containers import labels as L
from emulator.containers.docker_backend import ContainerSpec, DockerBackend
from emulator.containers.launcher import Exited, last_log_lines, launch as launch_container

EXPECTED_PORT_GRACE = 2.0  # after another port answered, how long the expected one may still take
OTHER_PORT = "answered on another port"
TOO_SLOW = "pings too slow"


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
           timeout: float, models: Path | None = None) -> Launched:
    """`models`: mounted at /opt/ml/models, as for a multi-model container."""
    spec = ContainerSpec(image=image, name=_name(image, role), container_port=port, environment=environment,
                         labels={**L.owner_labels(), L.ENDPOINT: "contract-tests", L.CONTAINER_HOSTNAME: role},
                         model_folder=model, model_read_only=model_read_only, extra_ports=also_watch,
                         models_folder=models)
    launched = Launched("", port)
    other_answered_at: list[float] = []

    def watch(container_id: str, url: str) -> str:
        launched.container_id = container_id
        launched.urls = {port: url, **{other: backend.published_url(container_id, other) for other in also_watch}}
        return url

    pings = PingWatch()

    def answers(url: str) -> bool:
        if pings.healthy(url):
            launched.answered_on = port
            return True
        if launched.answered_on is None:
            launched.answered_on = next((other for other, other_url in launched.urls.items()
                                         if other != port and calls.ping(other_url).status == 200), None)
            if launched.answered_on is not None:
                other_answered_at.append(time.monotonic())
        return False

    def gave_up() -> str | None:
        if pings.too_slow:
            return TOO_SLOW
        late = other_answered_at and time.monotonic() > other_answered_at[0] + EXPECTED_PORT_GRACE
        return OTHER_PORT if late else None

    result = launch_container(backend, spec, timeout=timeout, after_run=watch, ready=answers, abort=gave_up)
    if result.start_error is not None:
        launched.problem = f"Docker did not start it: {result.start_error}"
    elif result.stopped == TOO_SLOW:
        launched.problem = pings.problem()
    elif isinstance(result.stopped, Exited):
        launched.problem = f"exited with code {result.stopped.exit_code} after {result.seconds:.1f} s"
    elif not result.healthy:
        launched.problem = (f"did not answer GET /ping with 200 within {timeout:g} s" if launched.answered_on is None
                            else f"answered /ping on port {launched.answered_on}, never on port {port}")
    if launched.problem and launched.container_id:
        launched.problem += last_logs(backend, launched.container_id)
    return launched


def last_logs(backend: DockerBackend, container_id: str) -> str:
    lines = last_log_lines(backend, container_id)
    return f". Its last log lines:{lines}" if lines else "; it printed nothing."


def _name(image: str, role: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9_.-]+", "-", image.rsplit("/", 1)[-1]).strip("-.")
    return f"sme-check-{slug}-{role}-{uuid.uuid4().hex[:8]}"
