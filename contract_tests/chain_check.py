"""The verdict on one sample's trip through a serial pipeline: does each container accept what the previous
one answered? Fails (pytest) or warns (ContractWarning) with what SageMaker would do and the fix."""

from __future__ import annotations

from typing import NoReturn

from contract_tests.pipeline_runs import SampleRun
from contract_tests.verdicts import caution, violation
from emulator.invocation.content_types import base_type
from emulator.definition import EndpointDefinition

ON_SAGEMAKER_REFUSED = ("SageMaker would fail every such invocation with ModelError (424): "
                        '"Received client error (415) from {consumer} ...", as SageMaker passes each response\'s '
                        "Content-Type verbatim as the next container's Content-Type.")


def check_run(endpoint: EndpointDefinition, run: SampleRun) -> None:
    if run.error is None:
        for hop in run.hops:
            if hop.warning:
                caution(f"Pipeline {endpoint.name}, {run.sample}: {hop.warning}",
                        f"{hop.container} accepts it, so SageMaker would serve this pipeline; put a container that "
                        "compares the whole header in its place and SageMaker would fail every invocation with "
                        "ModelError (424).",
                        "answer a bare media type (in Flask, `Response(body, content_type='text/csv')`: "
                        "`mimetype=` appends '; charset=utf-8').")
        return
    if not run.hops or run.hops[-1].status == 0 or len(run.hops) == 1:
        _failed(endpoint, run)
    consumer, producer = run.hops[-1], run.hops[-2]
    sent = consumer.content_type_in
    if consumer.status == 415 and run.accepts_bare_type:
        violation(
            f"Pipeline {endpoint.name}, {run.sample}: {producer.container} answers Content-Type {sent!r}; "
            f"{consumer.container} receives it verbatim and refuses it (415), although it accepts "
            f"{base_type(sent)!r}. This is the charset pitfall: Flask's `mimetype=` appends '; charset=utf-8'.",
            ON_SAGEMAKER_REFUSED.format(consumer=consumer.container),
            f"make {producer.container} answer the bare type (in Flask, `Response(body, content_type="
            f"'{base_type(sent)}')`), or make {consumer.container} compare only the media type, before the ';'.")
    if consumer.status == 415:
        violation(
            f"Pipeline {endpoint.name}, {run.sample}: {consumer.container} refuses (415) what {producer.container} "
            f"answers, Content-Type {sent!r}: {run.error}",
            ON_SAGEMAKER_REFUSED.format(consumer=consumer.container),
            f"intermediate containers get no Accept header: set {producer.container}'s "
            f"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT to a type {consumer.container} reads, or teach "
            f"{consumer.container} to read {base_type(sent)!r}.")
    _failed(endpoint, run)


def _failed(endpoint: EndpointDefinition, run: SampleRun) -> NoReturn:
    where = f" at {run.hops[-1].container}" if run.hops else ""
    violation(f"Pipeline {endpoint.name}, {run.sample}: the invocation failed{where}: {run.error}",
              "SageMaker would return the same error to the caller (ModelError 424 when a container failed).",
              "run the sample hop by hop with `sagemaker-emulator invoke ENDPOINT SAMPLE --definition FILE --trace "
              "--bodies`; the per-container checks above show what that container gets wrong.")
