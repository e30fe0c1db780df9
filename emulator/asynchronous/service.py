"""Asynchronous inference in the owner process: accepting a request (a committed row, then 202), and the
workers that run the queue against the endpoints the control plane serves.

An endpoint is asynchronous when the config it deployed has AsyncInferenceConfig (the endpoint keeps a
copy in `Deployed`, as it keeps its models). SNS notifications (NotificationConfig) are recorded with the
config and never sent; KmsKeyId is recorded and not used.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Protocol

from emulator.asynchronous import invocation
from emulator.asynchronous.queue import Claimed, DurableQueue
from emulator.asynchronous.requests import (DEFAULT_INVOCATION_TIMEOUT_SECONDS, DEFAULT_TTL_SECONDS, AsyncRequest,
                                            NotAccepted, UnknownEndpoint, input_url, locations)
from emulator.asynchronous.invoker import AsyncInvoker
from emulator.asynchronous.slots import Slots
from emulator.asynchronous.workers import Workers
from emulator.aws.s3 import S3Error
from emulator.invocation.chain import CallPolicy, PayloadLimits
from emulator.invocation.request import InvocationRequest
from emulator.multimodel.loader import ModelLoader
from emulator.observe.recording import Recorder
from emulator.observe.records import Finished
from emulator.invocation.outcomes import InvalidRequest
from emulator.seam.serving import EndpointSpec, build

# The default when ClientConfig.MaxConcurrentInvocationsPerInstance is not set: SageMaker "chooses an
# optimal value" (botocore's model); 4 is the emulator's pick, UNCONFIRMED.
DEFAULT_MAX_CONCURRENT = 4
# The payload goes to the first container whole (it is read from S3); answers go to S3, not to a caller.
ASYNC_LIMITS = PayloadLimits(request=invocation.MAX_INPUT_BYTES, between=None, response=None)
STARTING = ("Creating", "SystemUpdating")
STAGED = 2  # requests in flight per invocation slot: one invoking, one reading its input or writing its answer


class NotAsynchronous(NotAccepted):
    def __init__(self, endpoint: str):
        super().__init__(f"Endpoint {endpoint} is not an asynchronous inference endpoint: its endpoint configuration "
                         "has no AsyncInferenceConfig. Fix: call InvokeEndpoint, or deploy the model with an endpoint "
                         "configuration that sets AsyncInferenceConfig.")


class Endpoints(Protocol):
    """What asynchronous inference reads of the endpoints (emulator.control.endpoint_states.EndpointStates)."""
    database: Path

    def status(self, name: str) -> str | None: ...
    def async_config(self, name: str) -> dict[str, Any] | None: ...
    def serving(self, name: str) -> EndpointSpec | None: ...


class AsyncInference:
    def __init__(self, endpoints: Endpoints, record: Callable[[Finished], None] | None = None):
        """`record`: where each invocation goes when it ends (the owner's request log), if anywhere."""
        self.endpoints, self.recorder = endpoints, Recorder(record, "async")
        self.clock = time.time  # what the workers compare RequestTTLSeconds with (tests move it on)
        self.queue = DurableQueue(endpoints.database)
        self.slots = Slots()
        self.workers = Workers(self.queue, self._run, self._in_flight)

    def start(self) -> "AsyncInference":
        """Requests a stopped owner accepted but did not finish are run again (at least once, one object each)."""
        self.queue.requeue()
        self.workers.start()
        return self

    def stop(self) -> None:
        self.workers.stop()

    def close(self) -> None:
        self.queue.close()

    def accept(self, endpoint: str, input_location: str, call: InvocationRequest, *, ttl: int | None = None,
               timeout: int | None = None, filename: str | None = None, extension: str | None = None) -> AsyncRequest:
        """Queue the request (committed when this returns); NotAccepted when it cannot be. `call`: the invocation's
        members (its body is read from `input_location` when it runs)."""
        if self.endpoints.serving(endpoint) is None:
            raise UnknownEndpoint(endpoint)
        config = self.endpoints.async_config(endpoint)
        if config is None:
            raise NotAsynchronous(endpoint)
        input_url(input_location)
        inference_id = call.inference_id or str(uuid.uuid4())
        output, failure = locations(config["OutputConfig"], inference_id, filename=filename, extension=extension)
        request = AsyncRequest(endpoint, inference_id, input_location, output, failure, round(time.time(), 3),
                               ttl or DEFAULT_TTL_SECONDS, timeout or DEFAULT_INVOCATION_TIMEOUT_SECONDS, call.members())
        self.queue.put(request)
        self.workers.wake()
        return request

    def _in_flight(self, endpoint: str) -> int | None:
        """How many of the endpoint's requests may run at once; None while it is starting."""
        if self.endpoints.status(endpoint) in STARTING:
            return None
        return STAGED * self._max_concurrent(endpoint)

    def _chain_for(self, request: AsyncRequest) -> AsyncInvoker:
        spec = self.endpoints.serving(request.endpoint)
        if spec is None:
            status = self.endpoints.status(request.endpoint) or "deleted"
            raise invocation.Unavailable(f"Endpoint {request.endpoint} could not run request {request.inference_id}: "
                                         f"the endpoint is {status}.")
        try:  # the inference component it names, or its variant, and one of its copies
            variant = build(spec, models=ModelLoader).target(request.members.get("target_variant"),
                                                              request.members.get("inference_component"))
        except InvalidRequest as refusal:
            raise invocation.Unavailable(f"Endpoint {request.endpoint} could not run request {request.inference_id}: "
                                         f"{refusal.message}") from None
        return AsyncInvoker(variant.pick().chain, CallPolicy(request.timeout, ASYNC_LIMITS),
                            self.slots.of(request.endpoint.lower(), self._max_concurrent(request.endpoint)),
                            variant.name, self.recorder)

    def _max_concurrent(self, endpoint: str) -> int:
        client = (self.endpoints.async_config(endpoint) or {}).get("ClientConfig") or {}
        return client.get("MaxConcurrentInvocationsPerInstance") or DEFAULT_MAX_CONCURRENT

    def _run(self, claimed: Claimed) -> None:
        try:
            written = invocation.run(claimed, self._chain_for, stopping=self.workers.stopping, clock=self.clock)
        except S3Error as error:
            print(f"sagemaker-emulator: asynchronous request {claimed.request.inference_id} of endpoint "
                  f"{claimed.request.endpoint} ended with no object: {error}", file=sys.stderr)
            written = claimed.request.failure  # nothing more can be done for it
        if written is not None and not self.workers.stopping():  # once stopping, the next start looks for the object
            self.queue.finish(claimed.seq)



