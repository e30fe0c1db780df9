"""The preprocessing parity check, for each image given with --sagemaker-parity-data: real-time answers
(one request per record) must equal the batch transform's (MultiRecord), the output the model was trained on."""

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
    if target.endpoint is not None:
        pytest.skip("the parity check runs on images given with --sagemaker-image (a preprocessing image alone)")
    model_data = {"ModelDataUrl": target.model_data} if target.model_data else {}
    [model] = parse({"PrimaryContainer": {"Image": target.image, **model_data}})
    try:
        report = compare(model, data.body, source=data.name, content_type=data.content_type,
                         accept=data.content_type, startup_timeout=plan.startup_timeout)
    except (EmulatorError, InvocationFailed) as exc:
        pytest.fail(f"the parity check could not run: {exc}. Fix: make test_answers_samples pass first.", pytrace=False)
    if not report.ok:
        pytest.fail(report.explain(), pytrace=False)
