"""One invocation under ModelClientConfig: the timeout, and retries for what may pass (timeouts,
5xx, unreachable container), never for the model's verdict on the request (4xx)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from emulator.invocation.container_http import StreamedFile

from emulator.invocation.outcomes import ContainerError, ContainerTimedOut, ContainerUnreachable, InvocationFailed
from emulator.transform.errors import InvocationError
from emulator.transform.job import ModelClientConfig
from emulator.transform.target import TransformTarget


@dataclass(frozen=True)
class Invocation:
    content_type: str | None
    body: bytes
    attempts: int


def invoke_with_retries(target: TransformTarget, body: bytes | StreamedFile, *, content_type: str | None,
                        accept: str | None, config: ModelClientConfig, retry_delay: float,
                        sleep: Callable[[float], None] = time.sleep) -> Invocation:
    """Retries wait `retry_delay`, then twice as long each time (SageMaker's backoff is not documented)."""
    timeout = config.invocations_timeout_in_seconds
    attempts = 0
    while True:
        attempts += 1
        try:
            response_type, response = target.invoke(body, content_type=content_type, accept=accept,
                                                    timeout=timeout)
            return Invocation(response_type, response, attempts)
        except InvocationFailed as exc:
            retryable = isinstance(exc, (ContainerTimedOut, ContainerUnreachable)) or (
                isinstance(exc, ContainerError) and exc.status >= 500)
            if not retryable or attempts > config.invocations_max_retries:
                raise _give_up(exc, attempts, timeout) from exc
        sleep(retry_delay * 2 ** (attempts - 1))


def _give_up(exc: InvocationFailed, attempts: int, timeout: int) -> InvocationError:
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, ContainerError):
        return InvocationError(f"the container answered HTTP {exc.status}{tries}", answer=exc.answer,
                               attempts=attempts)
    if isinstance(exc, ContainerTimedOut):
        return InvocationError(f"no answer within InvocationsTimeoutInSeconds={timeout}{tries}",
                               answer=None, attempts=attempts)
    if isinstance(exc, ContainerUnreachable):
        return InvocationError(f"could not reach the container{tries}: {exc}", answer=None, attempts=attempts)
    return InvocationError(f"the request was refused: {exc}", answer=None, attempts=attempts)
