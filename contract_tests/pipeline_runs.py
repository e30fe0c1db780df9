"""Each sample sent once through a pipeline endpoint of the definition, on the emulator, with every hop kept.

The hops feed two checks: the chain (does each container accept what the previous one answers?)
and the per-container checks of the later containers, whose samples are what the chain handed them.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract_tests import calls
from contract_tests.samples import Sample
from emulator.api import Emulator
from emulator.hosting.emulated_endpoint import EmulatedEndpoint
from emulator.invocation.content_types import base_type
from emulator.definition import EndpointDefinition
from emulator.errors import EmulatorError
from emulator.invocation.outcomes import Hop, InvocationFailed


@dataclass(frozen=True)
class SampleRun:
    sample: Sample
    hops: list[Hop]
    error: str | None = None  # SageMaker's error message, when the invocation failed
    # When a container refused (415) a Content-Type with parameters: whether it takes the bare type.
    accepts_bare_type: bool | None = None


@dataclass(frozen=True)
class EndpointRun:
    endpoint: EndpointDefinition
    startup_error: str | None
    runs: list[SampleRun]

    def samples_for(self, position: int) -> list[Sample]:
        """What the container at `position` received, for each sample the chain carried that far."""
        hostname = self.endpoint.containers[position].hostname
        return [Sample(f"{run.sample.name} as {hostname} receives it", hop.request_body or b"", hop.content_type_in)
                for run in self.runs for hop in run.hops[position:position + 1]]


class PipelineRuns:
    """Runs an endpoint's samples on first demand, then remembers the result for the session."""

    def __init__(self, samples: list[Sample], startup_timeout: float, docker_host: str | None):
        self.samples, self.startup_timeout, self.docker_host = samples, startup_timeout, docker_host
        self._done: dict[str, EndpointRun] = {}

    def of(self, endpoint: EndpointDefinition) -> EndpointRun:
        if endpoint.name not in self._done:
            self._done[endpoint.name] = self._run(endpoint)
        return self._done[endpoint.name]

    def _run(self, endpoint: EndpointDefinition) -> EndpointRun:
        emulator = Emulator([endpoint], startup_timeout=self.startup_timeout, docker_host=self.docker_host)
        try:
            emulator.start()
            return EndpointRun(endpoint, None, [_send(emulator[endpoint.name], sample) for sample in self.samples])
        except EmulatorError as exc:
            return EndpointRun(endpoint, str(exc), [])
        finally:
            emulator.stop()


def _send(endpoint: EmulatedEndpoint, sample: Sample) -> SampleRun:
    try:
        return SampleRun(sample, endpoint.invoke(sample.body, content_type=sample.content_type, trace_bodies=True).hops)
    except InvocationFailed as failed:
        return SampleRun(sample, failed.hops, failed.message, _accepts_bare_type(endpoint, failed.hops))


def _accepts_bare_type(endpoint: EmulatedEndpoint, hops: list[Hop]) -> bool | None:
    """Tells the charset pitfall from a plain type mismatch: resend the refused body without the parameters."""
    refused = hops[-1] if hops else None
    if refused is None or refused.status != 415 or ";" not in (refused.content_type_in or ""):
        return None
    route = endpoint.chain.routes[len(hops) - 1]
    return calls.invoke(route.url, refused.request_body or b"", base_type(refused.content_type_in)).ok
