"""Effective batch settings (job, then the container's /execution-parameters, then defaults)
and the environment SageMaker gives the containers of a transform job."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.definition import EndpointDefinition
from emulator.transform.errors import ExecutionParametersError, clip
from emulator.transform.job import MAX_PAYLOAD_LIMIT_MB, BatchStrategy, SplitType, TransformJob

MB = 1_048_576
DEFAULT_MAX_CONCURRENT_TRANSFORMS = 1
DEFAULT_MAX_PAYLOAD_IN_MB = 6
# SageMaker's default table is not in the archived guide; the SDK's local mode, the public docs' table
# and AWS's XGBoost container (its /execution-parameters answer: MULTI_RECORD, 6 MB) use MultiRecord.
DEFAULT_BATCH_STRATEGY = BatchStrategy.MULTI_RECORD

JOB, CONTAINER, DEFAULT = "job", "container /execution-parameters", "default"


@dataclass(frozen=True)
class EffectiveParams:
    max_concurrent_transforms: int
    max_payload_in_mb: int
    batch_strategy: BatchStrategy
    split_type: SplitType
    # Where each value came from ("job", "container /execution-parameters" or "default").
    sources: Mapping[str, str]

    @property
    def max_payload_bytes(self) -> int | None:
        """The request body limit; None when MaxPayloadInMB is 0 (unbounded, chunked in SageMaker)."""
        return self.max_payload_in_mb * MB or None

    @property
    def multi_record(self) -> bool:
        """Whether records are packed together: only when the input is split at all."""
        return self.split_type is not SplitType.NONE and self.batch_strategy is BatchStrategy.MULTI_RECORD


def resolve_params(job: TransformJob, execution_parameters: Mapping[str, Any] | None) -> EffectiveParams:
    answer = _parse_answer(execution_parameters or {})
    sources: dict[str, str] = {}

    def pick(name: str, from_job: Any, default: Any) -> Any:
        if from_job is not None:
            sources[name] = JOB
            return from_job
        if name in answer:
            sources[name] = CONTAINER
            return answer[name]
        sources[name] = DEFAULT
        return default

    params = EffectiveParams(
        # MaxConcurrentTransforms 0 in a request means "unset" (CreateTransformJob reference).
        max_concurrent_transforms=pick("MaxConcurrentTransforms", job.max_concurrent_transforms or None,
                                       DEFAULT_MAX_CONCURRENT_TRANSFORMS),
        max_payload_in_mb=pick("MaxPayloadInMB", job.max_payload_in_mb, DEFAULT_MAX_PAYLOAD_IN_MB),
        batch_strategy=pick("BatchStrategy", job.batch_strategy, DEFAULT_BATCH_STRATEGY),
        split_type=job.split_type,
        sources=sources,
    )
    _check_total(params)
    return params


def container_environment(job: TransformJob) -> dict[str, str]:
    """The job's Environment plus SAGEMAKER_BATCH, and the three batch settings only when the user set them."""
    env = dict(job.environment)
    env["SAGEMAKER_BATCH"] = "true"
    if job.max_payload_in_mb is not None:
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(job.max_payload_in_mb)
    if job.batch_strategy is not None:
        env["SAGEMAKER_BATCH_STRATEGY"] = job.batch_strategy.env_value
    if job.max_concurrent_transforms:
        env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(job.max_concurrent_transforms)
    return env


def _parse_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(answer, Mapping):
        raise ExecutionParametersError(f"GET /execution-parameters answered {clip(repr(answer))}; "
                                       "expected a JSON object such as "
                                       '{"MaxConcurrentTransforms": 4, "BatchStrategy": "MULTI_RECORD", '
                                       '"MaxPayloadInMB": 6}.')
    parsed: dict[str, Any] = {}
    for name, low, high in (("MaxConcurrentTransforms", 1, None), ("MaxPayloadInMB", 0, MAX_PAYLOAD_LIMIT_MB)):
        value = answer.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
            bounds = f"{low}..{high}" if high else f">= {low}"
            raise ExecutionParametersError(f"GET /execution-parameters answered {name}={value!r}; "
                                           f"expected an integer {bounds}. Fix the container's answer "
                                           "or set the value in the job, which takes precedence.")
        parsed[name] = value
    if answer.get("BatchStrategy") is not None:
        parsed["BatchStrategy"] = _strategy(answer["BatchStrategy"])
    return parsed


def _strategy(value: Any) -> BatchStrategy:
    for strategy in BatchStrategy:
        if value in (strategy.env_value, strategy.value):
            return strategy
    raise ExecutionParametersError(f"GET /execution-parameters answered BatchStrategy={value!r}; expected "
                                   "MULTI_RECORD or SINGLE_RECORD. Fix the container's answer or set "
                                   "BatchStrategy in the job, which takes precedence.")


def _check_total(params: EffectiveParams) -> None:
    total = params.max_concurrent_transforms * params.max_payload_in_mb
    if total > MAX_PAYLOAD_LIMIT_MB:
        sources = params.sources
        raise ExecutionParametersError(
            f"MaxConcurrentTransforms {params.max_concurrent_transforms} (from the "
            f"{sources['MaxConcurrentTransforms']}) x MaxPayloadInMB {params.max_payload_in_mb} (from the "
            f"{sources['MaxPayloadInMB']}) = {total} MB, above SageMaker's {MAX_PAYLOAD_LIMIT_MB} MB. "
            "Set lower values in the job; they take precedence over the container's.")


def with_batch_environment(model: EndpointDefinition, job: TransformJob) -> EndpointDefinition:
    """Every container gets SAGEMAKER_BATCH and the job's batch settings, as in a transform job, and runs on the
    job's instance type (TransformResources.InstanceType) when it names one."""
    extra = container_environment(job)
    containers = tuple(dataclasses.replace(c, environment={**c.environment, **extra}) for c in model.containers)
    return dataclasses.replace(model, containers=containers, instance_type=job.instance_type or model.instance_type)
