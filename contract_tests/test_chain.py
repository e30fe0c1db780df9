"""The chain of a serial pipeline: each container must accept what the previous one answers."""

from __future__ import annotations

import pytest

from contract_tests.chain_check import check_run
from contract_tests.pipeline_runs import PipelineRuns
from contract_tests.plan import Plan
from contract_tests.verdicts import NEEDS_SAMPLE, violation
from emulator.definition import EndpointDefinition


def test_chain_passes_content_types(pipeline: EndpointDefinition, plan: Plan, pipeline_runs: PipelineRuns) -> None:
    if not plan.samples:
        pytest.skip(NEEDS_SAMPLE)
    run = pipeline_runs.of(pipeline)
    if run.startup_error:
        violation(f"Pipeline {pipeline.name} did not start on the emulator: {run.startup_error}",
                  "SageMaker would fail CreateEndpoint the same way.",
                  "the checks of its containers say which one fails and why.")
    for sample_run in run.runs:
        check_run(pipeline, sample_run)
