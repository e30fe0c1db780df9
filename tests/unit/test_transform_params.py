"""Effective settings: job first, then the container's /execution-parameters, then defaults; and the env."""

from __future__ import annotations

import pytest

from emulator.transform import (BatchStrategy, ExecutionParametersError, SplitType, TransformJob,
                                container_environment, resolve_params)
from emulator.transform.params import MB

CONTAINER = {"MaxConcurrentTransforms": 8, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 2}


def test_defaults_without_job_settings_or_container_answer():
    params = resolve_params(TransformJob(split_type=SplitType.LINE), None)
    assert (params.max_concurrent_transforms, params.max_payload_in_mb, params.batch_strategy) == (
        1, 6, BatchStrategy.MULTI_RECORD)
    assert params.max_payload_bytes == 6 * MB
    assert set(params.sources.values()) == {"default"}


def test_the_container_answer_beats_defaults():
    params = resolve_params(TransformJob(split_type=SplitType.LINE), CONTAINER)
    assert (params.max_concurrent_transforms, params.max_payload_in_mb, params.batch_strategy) == (
        8, 2, BatchStrategy.SINGLE_RECORD)
    assert set(params.sources.values()) == {"container /execution-parameters"}


def test_job_settings_beat_the_container_answer():
    job = TransformJob(split_type=SplitType.LINE, max_concurrent_transforms=2, max_payload_in_mb=10,
                       batch_strategy=BatchStrategy.MULTI_RECORD)
    params = resolve_params(job, CONTAINER)
    assert (params.max_concurrent_transforms, params.max_payload_in_mb, params.batch_strategy) == (
        2, 10, BatchStrategy.MULTI_RECORD)
    assert set(params.sources.values()) == {"job"}


def test_settings_mix_their_sources_one_by_one():
    params = resolve_params(TransformJob(max_payload_in_mb=1), {"MaxConcurrentTransforms": 3})
    assert params.sources == {"MaxConcurrentTransforms": "container /execution-parameters",
                              "MaxPayloadInMB": "job", "BatchStrategy": "default"}


def test_zero_concurrency_in_the_job_defers_to_the_container():
    assert resolve_params(TransformJob(max_concurrent_transforms=0), {"MaxConcurrentTransforms": 5}
                          ).max_concurrent_transforms == 5


def test_zero_payload_means_unbounded():
    assert resolve_params(TransformJob(max_payload_in_mb=0), None).max_payload_bytes is None


def test_the_container_may_spell_the_strategy_like_the_api():
    params = resolve_params(TransformJob(), {"BatchStrategy": "SingleRecord"})
    assert params.batch_strategy is BatchStrategy.SINGLE_RECORD


def test_multi_record_needs_a_split_type():
    assert not resolve_params(TransformJob(batch_strategy=BatchStrategy.MULTI_RECORD), None).multi_record
    assert resolve_params(TransformJob(split_type=SplitType.RECORDIO), None).multi_record


def test_the_product_limit_applies_to_effective_values_and_names_their_sources():
    with pytest.raises(ExecutionParametersError, match=r"32 \(from the container.*6 \(from the default\) = 192 MB"):
        resolve_params(TransformJob(), {"MaxConcurrentTransforms": 32})


@pytest.mark.parametrize("answer", [
    {"MaxConcurrentTransforms": 0}, {"MaxConcurrentTransforms": "4"}, {"MaxPayloadInMB": 101},
    {"BatchStrategy": "BATCH"}, {"MaxConcurrentTransforms": True},
])
def test_a_wrong_container_answer_is_a_clear_error(answer):
    with pytest.raises(ExecutionParametersError, match="execution-parameters answered"):
        resolve_params(TransformJob(), answer)


def test_unknown_keys_in_the_container_answer_are_ignored():
    assert resolve_params(TransformJob(), {"Workers": 4}).max_concurrent_transforms == 1


def test_environment_has_only_what_the_user_set():
    assert container_environment(TransformJob()) == {"SAGEMAKER_BATCH": "true"}
    job = TransformJob(max_payload_in_mb=0, batch_strategy=BatchStrategy.SINGLE_RECORD, max_concurrent_transforms=4,
                       environment={"LOG_LEVEL": "debug"})
    assert container_environment(job) == {
        "LOG_LEVEL": "debug", "SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "0",
        "SAGEMAKER_BATCH_STRATEGY": "SINGLE_RECORD", "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "4"}
    multi = TransformJob(batch_strategy=BatchStrategy.MULTI_RECORD, max_concurrent_transforms=0)
    assert container_environment(multi) == {"SAGEMAKER_BATCH": "true", "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD"}
