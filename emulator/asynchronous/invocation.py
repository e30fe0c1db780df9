"""One asynchronous request, start to end: its input from S3, the endpoint's chain, its answer to S3.

Whatever happens, a finished request leaves exactly one object: the output, or the failure object
holding the reason as text (SageMaker's message for a failed container; the text of the other reasons
is the emulator's own, UNCONFIRMED). A request started before (a stop or a crash interrupted it) first
looks for an object that start already wrote, so a restart never writes a second one.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

from emulator.asynchronous.queue import Claimed
from emulator.asynchronous.requests import AsyncRequest
from emulator.aws import s3
from emulator.aws.s3 import S3Error, S3Url
from emulator.invocation.outcomes import MB, InvocationFailed, InvocationResult
from emulator.invocation.request import InvocationRequest

MAX_INPUT_BYTES = 1024 * MB  # SageMaker's limit for an asynchronous request's payload


class Unavailable(Exception):
    """The endpoint cannot run the request (deleted, failed); the message says so."""


class Invoker(Protocol):
    def invoke(self, request: InvocationRequest) -> InvocationResult: ...


ChainFor = Callable[[AsyncRequest], Invoker]  # raises Unavailable


def run(claimed: Claimed, chain_for: ChainFor, *, stopping: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.time) -> str | None:
    """The URL of the object the request ended with; None when the owner stopped meanwhile (the request
    then stays in the queue and runs again at the next start)."""
    request = claimed.request
    if claimed.attempts and (earlier := _written(request)):
        return earlier
    if request.expired(clock()):
        return _fail(request, f"Request {request.inference_id} expired: it waited in the queue longer than its "
                              f"RequestTTLSeconds ({request.ttl} s) before an invocation could start.")
    try:
        chain = chain_for(request)
    except Unavailable as reason:
        return _fail(request, str(reason))
    try:
        body = s3.read(S3Url.parse(request.input, "InputLocation"), MAX_INPUT_BYTES)
    except S3Error as error:
        return _fail(request, f"Could not read the request's input: {error}")
    try:
        result = chain.invoke(request.invocation(body))
    except InvocationFailed as failure:
        return None if stopping() else _fail(request, failure.message)
    if stopping():
        return None
    try:
        s3.write(S3Url.parse(request.output, "OutputLocation"), result.body, result.content_type)
    except S3Error as error:
        return _fail(request, f"The invocation succeeded but its output could not be written: {error}")
    return request.output


def _fail(request: AsyncRequest, reason: str) -> str:
    """Raises S3Error when even the failure object cannot be written (the caller logs it)."""
    s3.write(S3Url.parse(request.failure, "FailureLocation"), reason.encode(), "text/plain; charset=utf-8")
    return request.failure


def _written(request: AsyncRequest) -> str | None:
    for url in (request.output, request.failure):
        if s3.exists(S3Url.parse(url, "location")):
            return url
    return None
