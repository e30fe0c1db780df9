"""How the suite reports: what the container did, what SageMaker would do with it, and how to fix it."""

from __future__ import annotations

import warnings
from typing import NoReturn

import pytest

# Why a check is skipped: what it needs, and which option or check to look at.
NO_TARGET = "no container to check: pass --sagemaker-image IMAGE or --sagemaker-definition FILE"
NO_PIPELINE = "no serial pipeline to check: pass --sagemaker-definition FILE with a Serial endpoint of 2+ containers"
NEEDS_SAMPLE = "needs a request body: pass --sagemaker-sample PATH[:CONTENT_TYPE]"
NOT_SERVING = "the container did not start serving; test_starts_and_passes_ping says why"
SAMPLES_REFUSED = "the container does not answer the samples with 2xx; test_answers_samples says why"


class ContractWarning(UserWarning):
    """Something SageMaker tolerates but that often breaks later; reported, not failed."""


def explain(problem: str, on_sagemaker: str, fix: str) -> str:
    return f"{problem}\n{on_sagemaker}\nFix: {fix}"


def violation(problem: str, on_sagemaker: str, fix: str) -> NoReturn:
    pytest.fail(explain(problem, on_sagemaker, fix), pytrace=False)


def caution(problem: str, on_sagemaker: str, fix: str) -> None:
    warnings.warn(ContractWarning(explain(problem, on_sagemaker, fix)), stacklevel=2)
