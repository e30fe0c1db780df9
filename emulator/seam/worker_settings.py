"""What the owner hands the front's workers when it starts them: built once, in the owner, and passed in one
environment variable (gunicorn forks the workers: the environment is the one thing they all inherit)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

VARIABLE = "SAGEMAKER_EMULATOR_WORKER_SETTINGS"
CLIENT_TIMEOUT = 60.0


@dataclass(frozen=True)
class RequestLogChannel:
    """Where a worker sends its finished invocations (the owner's datagram socket), and how much of each body."""
    socket: str
    body_limit: int


@dataclass(frozen=True)
class WorkerSettings:
    state_database: str  # the serving table the workers route by
    control_url: str | None = None  # the owner's internal server; None: no owner (an exported pod's router)
    client_timeout: float = CLIENT_TIMEOUT  # silence allowed while a client sends a body or reads an answer
    request_log: RequestLogChannel | None = None  # None: the owner keeps no request log
    lifeline: int | None = None  # the read end of the pipe whose closing ends the front (emulator.front.lifeline)

    def with_lifeline(self, descriptor: int) -> "WorkerSettings":
        return replace(self, lifeline=descriptor)

    def child_environment(self) -> dict[str, str]:
        """This process's environment, with the settings for the front it starts."""
        return {**os.environ, VARIABLE: json.dumps(asdict(self))}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "WorkerSettings":
        text = environ.get(VARIABLE)
        if not text:
            raise RuntimeError(f"{VARIABLE} is not set: start the front with `sagemaker-emulator serve`.")
        fields = json.loads(text)
        channel = fields.pop("request_log")
        return cls(**fields, request_log=RequestLogChannel(**channel) if channel else None)
