"""InvokeEndpointWithResponseStream's body: the last container's answer as PayloadPart events, as it
produces it, ended by ModelStreamError or InternalStreamFailure when it cannot be finished."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from emulator.front import event_stream
from emulator.seam.wire_errors import InternalStreamFailure, StreamError, stream_error
from emulator.invocation.outcomes import Hop, StreamedResult, StreamInterrupted

logger = logging.getLogger(__name__)
# botocore's documentation of InternalStreamFailure, which is what SageMaker says.
INTERNAL_STREAM_FAILURE = ("The stream processing failed because of an unknown error, exception or failure. "
                           "Try your request again.")


def payload_events(result: StreamedResult, finish: Callable[[list[Hop], StreamError | None], None]) -> Iterator[bytes]:
    """The event stream of `result`; `finish(hops, error)` is called once it has ended, or the caller left."""
    error: StreamError | None = None
    try:
        try:
            for part in result.parts:
                yield event_stream.event("PayloadPart", part)
        except StreamInterrupted as failure:
            error = stream_error(failure)
        except Exception:  # the emulator's own failure, after the 200 went out: logged, told as SageMaker does
            logger.exception("the response stream failed")
            error = InternalStreamFailure(INTERNAL_STREAM_FAILURE)
        if error is not None:
            yield event_stream.exception(error.code, error.event_members())
    finally:
        result.parts.close()  # a caller that left: the container's connection, mid-answer, is closed
        finish(result.hops, error)
