"""A worker's side of a serverless variant (emulator.control.serverless): an invocation takes one of its
MaxConcurrency slots or is throttled, and one that finds the variant stopped for idleness asks the owner to start
it and waits (a cold start)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import urllib3
from flask import Response

from emulator.observe.recording import Recording
from emulator.seam.serverless import WAKE_PATH, Slots, slots_folder
from emulator.seam.owner import OwnerClient, OwnerUnreachable
from emulator.seam.serving import ServedEndpoint, ServedVariant
from emulator.seam.wire_errors import ModelNotReadyException, ThrottlingException

# The owner gives up when the containers fail their pings; this only guards against an owner that hangs.
WAKE_TIMEOUT = urllib3.Timeout(connect=5.0, read=900.0)


@dataclass
class Admission:
    """One invocation let in: the variant to invoke (warm), and the slot it gives back when its answer is sent."""
    variant: ServedVariant
    release: Callable[[], None]
    cold_start: float | None = None  # seconds it waited for the variant to start


class ServerlessGate:
    def __init__(self, state_folder: Path, owner: OwnerClient):
        self.state_folder, self.owner = state_folder, owner
        self._slots: dict[tuple[str, str, int], Slots] = {}

    def answer(self, endpoint: str, variant: ServedVariant, recording: Recording,
               respond: Callable[[ServedVariant, Recording], Response],
               current: Callable[[], ServedEndpoint | None]) -> Response:
        """`respond(variant, recording)` once admitted; the slot is given back when the answer has been sent (a
        stream's too). `current`: the endpoint as the serving table says it now."""
        admission = self.admit(endpoint, variant, current)
        recording.cold_start = admission.cold_start
        try:
            response = respond(admission.variant, recording)
        except BaseException:
            admission.release()
            raise
        response.call_on_close(admission.release)
        return response

    def admit(self, endpoint: str, variant: ServedVariant, current: Callable[[], ServedEndpoint | None]) -> Admission:
        """Take a slot (ThrottlingException when none is free), then make sure the variant runs (ModelNotReadyException
        when it does not start)."""
        slots = self._slots_of(endpoint, variant)
        number = slots.acquire()
        if number is None:
            raise ThrottlingException(
                f"Rate exceeded: serverless endpoint {endpoint} (variant {variant.name}) already has "
                f"{variant.max_concurrency} invocations in flight, its MaxConcurrency. Fix: retry with backoff, or "
                "raise MaxConcurrency in its endpoint configuration's ServerlessConfig.")
        try:
            variant = self._now(endpoint, variant, current)  # the owner may have stopped it since it was chosen
            if not variant.cold:
                return Admission(variant, lambda: slots.release(number))
            began = time.perf_counter()
            self._wake(endpoint, variant.name)
            variant = self._now(endpoint, variant, current)
            if variant.cold:
                raise ModelNotReadyException(f"Serverless endpoint {endpoint} (variant {variant.name}) is still "
                                             "being provisioned. Fix: try the request again.")
            return Admission(variant, lambda: slots.release(number), time.perf_counter() - began)
        except BaseException:
            slots.release(number)
            raise

    def _slots_of(self, endpoint: str, variant: ServedVariant) -> Slots:
        at = (endpoint.lower(), variant.name, variant.max_concurrency)
        if at not in self._slots:
            self._slots[at] = Slots(slots_folder(self.state_folder, endpoint, variant.name), variant.max_concurrency)
        return self._slots[at]

    def _wake(self, endpoint: str, variant: str) -> None:
        try:
            answer = self.owner.ask(WAKE_PATH, {"endpoint": endpoint, "variant": variant}, WAKE_TIMEOUT)
        except OwnerUnreachable as exc:
            answer = {"failure": str(exc)}
        if "failure" in answer:
            raise ModelNotReadyException(f"Serverless endpoint {endpoint} (variant {variant}) could not be started "
                                         f"after it idled: {answer['failure']}")

    @staticmethod
    def _now(endpoint: str, variant: ServedVariant, current: Callable[[], ServedEndpoint | None]) -> ServedVariant:
        served = current()
        if served is None:
            raise ModelNotReadyException(f"Endpoint {endpoint} no longer serves. Fix: try the request again.")
        return served.choose(variant.name)
