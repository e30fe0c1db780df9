"""What the front's workers need to forward requests: endpoint names, modes and container URLs.

The owning process writes it once; workers read it at start. Containers keep their
URLs across restarts (fixed host ports), so it never changes while serving.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from emulator.chain import Chain, Route

STATE_ENV = "SAGEMAKER_EMULATOR_FRONT_STATE"


@dataclass(frozen=True)
class EndpointRoutes:
    name: str
    mode: str
    routes: tuple[Route, ...]
    timeout: float

    def chain(self) -> Chain:
        return Chain(self.name, list(self.routes), self.mode, timeout=self.timeout)


def dumps(endpoints: list[EndpointRoutes]) -> str:
    return json.dumps({e.name: {"mode": e.mode, "timeout": e.timeout,
                                "routes": [[r.hostname, r.url] for r in e.routes]} for e in endpoints})


def loads(text: str) -> list[EndpointRoutes]:
    return [EndpointRoutes(name, spec["mode"], tuple(Route(h, u) for h, u in spec["routes"]), spec["timeout"])
            for name, spec in json.loads(text).items()]


def from_environment() -> list[EndpointRoutes]:
    text = os.environ.get(STATE_ENV)
    if not text:
        raise RuntimeError(f"{STATE_ENV} is not set: start the front with `sagemaker-emulator serve`.")
    return loads(text)
