"""What follows an invocation's answer, off the caller's path: its data capture, and the shadow variants' copies.

Capture (DataCaptureConfig) samples each invocation of each variant, shadows included, and hands it to the
capture sender. A shadow variant (ShadowProductionVariants) gets a copy of the requests its weight selects
(its InitialVariantWeight over the production variant's: 0.5 against 1 copies half of them) once production's
answer has been sent: its answer is discarded, but recorded in the request log beside production's, and
captured under its own name. Its failures are the log's, never the caller's.
"""

from __future__ import annotations

import random
import threading
import time

from flask import Response

from emulator.capture.lines import Captured
from emulator.capture.sender import CaptureSender
from emulator.invocation.outcomes import InvocationFailed, InvocationResult
from emulator.invocation.request import InvocationRequest
from emulator.observe.recording import Recorder
from emulator.observe.records import ShadowComparison
from emulator.seam.capture import CaptureSpec
from emulator.seam.serving import ServedEndpoint, ServedVariant


class Followups:
    def __init__(self, capture: CaptureSender | None, shadow_recorder: Recorder, keep_bodies: bool):
        """`capture`: where captures go (None: no owner to write them); `shadow_recorder`: the request log's, for
        shadow invocations; `keep_bodies`: whether the log keeps hops' bodies."""
        self.capture, self.shadow_recorder, self.keep_bodies = capture, shadow_recorder, keep_bodies

    def answered(self, endpoint: ServedEndpoint, variant: ServedVariant, request: InvocationRequest,
                 result: InvocationResult, response: Response, started: float) -> None:
        """`request`: with its body; `started`: the wall clock when it came."""
        self._capture(endpoint, variant.name, request, result, started)
        shadows = [shadow for shadow in endpoint.shadows if random.random() < share(shadow.weight, variant.weight)]
        if shadows:
            response.call_on_close(lambda: threading.Thread(
                target=self._shadow_all, args=(endpoint, variant.name, shadows, request, result.body),
                name="shadow", daemon=True).start())

    def _capture(self, endpoint: ServedEndpoint, variant: str, request: InvocationRequest,
                 result: InvocationResult, started: float) -> None:
        spec = endpoint.capture
        if spec is None or self.capture is None or not sampled(spec):
            return
        self.capture.add(Captured(spec, endpoint.name, variant, started, request.body, request.content_type,
                                  result.body, result.content_type, request.inference_id))

    def _shadow_all(self, endpoint: ServedEndpoint, production: str, shadows: list[ServedVariant],
                    request: InvocationRequest, answer: bytes) -> None:
        for shadow in shadows:
            self._shadow(endpoint, production, shadow, request, answer)

    def _shadow(self, endpoint: ServedEndpoint, production: str, shadow: ServedVariant, request: InvocationRequest,
                answer: bytes) -> None:
        started = time.time()
        recording = self.shadow_recorder.begin(endpoint.name, request, shadow.name)
        try:
            _, result = shadow.through(lambda chain: chain.invoke(request, capture_bodies=self.keep_bodies))
        except InvocationFailed as failure:
            recording.failed(failure, ShadowComparison(production, answer, False))
            return
        recording.ended(result.hops, shadow=ShadowComparison(production, answer, result.body == answer))
        self._capture(endpoint, shadow.name, request, result, started)


def share(shadow_weight: float, production_weight: float) -> float:
    """The share of production's requests a shadow gets a copy of: its weight relative to production's, at most all."""
    if production_weight <= 0:
        return 1.0 if shadow_weight > 0 else 0.0
    return min(1.0, shadow_weight / production_weight)


def sampled(spec: CaptureSpec) -> bool:
    return random.random() * 100 < spec.percentage
