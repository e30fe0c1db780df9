"""CreateTransformJob validation: good requests become TransformJobs, bad ones a clear JobConfigError."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from emulator.transform import (AssembleWith, BatchStrategy, DataProcessing, JobConfigError, JoinSource,
                                ModelClientConfig, SplitType, TransformJob, from_request, with_batch_environment)
from emulator.definition import parse

REQUEST: dict[str, Any] = {
    "TransformJobName": "penguins-batch",
    "ModelName": "penguins",
    "MaxConcurrentTransforms": 4,
    "MaxPayloadInMB": 6,
    "BatchStrategy": "MultiRecord",
    "ModelClientConfig": {"InvocationsTimeoutInSeconds": 30, "InvocationsMaxRetries": 1},
    "Environment": {"LOG_LEVEL": "debug"},
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in/"}},
        "ContentType": "text/csv",
        "SplitType": "Line",
        "CompressionType": "None",
    },
    "TransformOutput": {"S3OutputPath": "s3://bucket/out/", "Accept": "text/csv", "AssembleWith": "Line"},
    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
}


def request(**changes: Any) -> dict[str, Any]:
    """REQUEST with changes; a dotted key reaches into sections, None deletes."""
    result = copy.deepcopy(REQUEST)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = result
        for parent in parents:
            target = target[parent]
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return result


def config_error(req: dict[str, Any]) -> JobConfigError:
    with pytest.raises(JobConfigError) as info:
        from_request(req)
    return info.value


def test_a_full_request_becomes_a_job():
    job = from_request(REQUEST)
    assert job == TransformJob(
        name="penguins-batch", model_name="penguins", content_type="text/csv", accept="text/csv",
        split_type=SplitType.LINE, batch_strategy=BatchStrategy.MULTI_RECORD, max_payload_in_mb=6,
        max_concurrent_transforms=4, assemble_with=AssembleWith.LINE,
        model_client_config=ModelClientConfig(30, 1),
        data_processing=DataProcessing("$[1:]", "$[0,-1]", JoinSource.INPUT),
        environment={"LOG_LEVEL": "debug"}, input_uri="s3://bucket/in/", output_path="s3://bucket/out/",
        instance_type="ml.m5.large")


def test_an_instance_type_the_emulator_cannot_size_is_refused_with_the_known_ones():
    error = config_error(request(TransformResources__InstanceType="ml.r7i.large"))
    assert error.field == "TransformResources.InstanceType"
    assert "'ml.r7i.large' is not an instance type" in error.problem and "ml.m4" in error.fix


def test_the_jobs_instance_type_sizes_the_models_containers_over_the_definitions():
    [model] = parse({"PrimaryContainer": {"Image": "i"}, "InstanceType": "ml.c5.xlarge"})
    assert with_batch_environment(model, from_request(REQUEST)).instance_type == "ml.m5.large"
    assert with_batch_environment(model, from_request(request(TransformResources=None))).instance_type == "ml.c5.xlarge"


def test_defaults_are_sagemakers():
    job = from_request({
        "TransformJobName": "j", "ModelName": "m",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}},
        "TransformOutput": {"S3OutputPath": "s3://b/o"}})
    assert job.split_type is SplitType.NONE
    assert job.assemble_with is AssembleWith.NONE
    assert job.batch_strategy is None and job.max_payload_in_mb is None and job.max_concurrent_transforms is None
    assert job.model_client_config == ModelClientConfig(invocations_timeout_in_seconds=600, invocations_max_retries=3)
    assert not job.data_processing.active


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"TransformInput__CompressionType": "Gzip"}, "TransformInput.CompressionType", "Decompress"),
    ({"TransformInput__SplitType": "line"}, "TransformInput.SplitType", "Did you mean 'Line'"),
    ({"BatchStrategy": "Multi"}, "BatchStrategy", "SingleRecord, MultiRecord"),
    ({"TransformOutput__AssembleWith": "Newline"}, "TransformOutput.AssembleWith", "None, Line"),
    ({"MaxPayloadInMB": 101, "MaxConcurrentTransforms": None}, "MaxPayloadInMB", "between 0 and 100"),
    ({"MaxPayloadInMB": "6"}, "MaxPayloadInMB", "integer"),
    ({"MaxConcurrentTransforms": 20, "MaxPayloadInMB": 6}, "MaxConcurrentTransforms", "at most 100"),
    ({"ModelClientConfig__InvocationsTimeoutInSeconds": 0}, "ModelClientConfig.InvocationsTimeoutInSeconds",
     "between 1 and 3600"),
    ({"ModelClientConfig__InvocationsMaxRetries": 4}, "ModelClientConfig.InvocationsMaxRetries", "between 0 and 3"),
    ({"BatchStratgy": "MultiRecord"}, "BatchStratgy", "Did you mean 'BatchStrategy'"),
    ({"TransformInput__Splittype": "Line"}, "TransformInput.Splittype", "Did you mean 'SplitType'"),
    ({"TransformJobName": None}, "TransformJobName", "required"),
    ({"TransformJobName": "bad_name"}, "TransformJobName", "letters, digits and hyphens"),
    ({"TransformOutput": None}, "TransformOutput", "required"),
    ({"TransformInput__DataSource__S3DataSource__S3DataType": "AugmentedManifestFile"},
     "TransformInput.DataSource.S3DataSource.S3DataType", "S3Prefix or ManifestFile"),
    ({"Environment": {"1BAD": "x"}}, "Environment.1BAD", "letters, digits and underscores"),
    ({"Environment": {f"K{i}": "v" for i in range(17)}}, "Environment", "16"),
    ({"Environment": {"K": "v" * 10241}}, "Environment.K", "at most 10240 characters"),  # TransformEnvironmentValue
    ({"DataProcessing__InputFilter": "features"}, "DataProcessing.InputFilter", "must start with '$'"),
    ({"DataProcessing__OutputFilter": "$[0:2,246:]"}, "DataProcessing.OutputFilter", "only single range filters"),
    ({"DataProcessing__JoinSource": "Output"}, "DataProcessing.JoinSource", "None, Input"),
    ({"DataProcessing__OutputFilter": "$['id']"}, "DataProcessing.OutputFilter", "CSV rows are arrays"),
    ({"TransformInput__SplitType": "None"}, "TransformInput.SplitType", "Set SplitType to Line"),
    ({"TransformOutput__AssembleWith": "None"}, "TransformOutput.AssembleWith", "Set AssembleWith to Line"),
    ({"TransformOutput__Accept": "application/json"}, "TransformOutput.Accept", "Set Accept to 'text/csv'"),
    ({"TransformInput__ContentType": "application/x-npy"}, "TransformInput.ContentType", "text/csv"),
    ({"TransformInput__SplitType": "RecordIO", "TransformInput__ContentType": "application/json",
      "TransformOutput__Accept": "application/json", "DataProcessing__OutputFilter": "$"},
     "TransformInput.SplitType", "Line or None"),
])
def test_bad_requests_name_the_field_and_the_fix(changes, field, words):
    error = config_error(request(**changes))
    assert error.field == field
    assert words in str(error)
    assert "Fix:" in str(error)


def test_zero_concurrency_means_unset_and_passes_the_total_check():
    job = from_request(request(MaxConcurrentTransforms=0, MaxPayloadInMB=100))
    assert job.max_concurrent_transforms == 0


def test_ignored_fields_are_accepted():
    job = from_request(request(Tags=[{"Key": "k", "Value": "v"}], DataCaptureConfig={"DestinationS3Uri": "s3://x"}))
    assert job.name == "penguins-batch"


def test_json_join_accepts_names_and_any_split():
    job = from_request(request(
        TransformInput__ContentType="application/jsonlines", TransformOutput__Accept="application/json",
        TransformInput__SplitType="None", TransformOutput__AssembleWith="None",
        DataProcessing__InputFilter="$.features", DataProcessing__OutputFilter="$['id','SageMakerOutput']"))
    assert job.data_processing.output_filter == "$['id','SageMakerOutput']"


def test_direct_construction_is_validated_too():
    with pytest.raises(JobConfigError, match="MaxPayloadInMB"):
        TransformJob(max_payload_in_mb=-1)
    with pytest.raises(JobConfigError, match="InvocationsMaxRetries"):
        ModelClientConfig(invocations_max_retries=-1)
