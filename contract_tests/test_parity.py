"""The preprocessing parity check, with --sagemaker-parity-data: each container that receives the caller's records
(an image given alone, or a definition's first container) must answer them one request per record exactly as in a
batch transform (MultiRecord), the output the model was trained on. A definition's container runs with its
Environment, and in a Serial pipeline without an Accept, as it runs there."""

from __future__ import annotations

import pytest

from contract_tests.plan import Plan, Target
from emulator.definition import parse
from emulator.errors import EmulatorError
from emulator.invocation.outcomes import InvocationFailed
from emulator.hosting.parity import compare


def test_realtime_equals_batch_transform(target: Target, plan: Plan) -> None:
    data = plan.parity_data
    if data is None:
        pytest.skip("no parity check: pass --sagemaker-parity-data PATH[:CONTENT_TYPE] (records, one per line)")
    if target.fed_by_chain:
        pytest.skip("the parity check runs on the containers that receive the caller's records: a Serial pipeline's "
                    "first container")
    model_data = {"ModelDataUrl": target.model_data} if target.model_data else {}
    # Only the last container of a Serial pipeline receives the caller's Accept.
    in_front = target.endpoint is not None and target.endpoint.mode == "Serial" and target.endpoint.is_pipeline
    try:
        [model] = parse({"PrimaryContainer": {"Image": target.image, "Environment": target.environment, **model_data}})
        report = compare(model, data.body, source=data.name, content_type=data.content_type,
                         accept=None if in_front else data.content_type, startup_timeout=plan.startup_timeout)
    except (EmulatorError, InvocationFailed) as exc:
        pytest.fail(f"the parity check could not run: {exc}. Fix: make test_answers_samples pass first.", pytrace=False)
    if not report.ok:
        pytest.fail(report.explain(), pytrace=False)
