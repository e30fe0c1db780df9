"""Transform jobs through the API with real boto3: S3 -> real containers -> S3, statuses, the waiter,
StopTransformJob, the logs in CloudWatch Logs, and SageMaker's errors."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.containers import labels
from emulator.containers.docker_backend import DockerBackend

from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def s3(emulator) -> Any:
    client = clients(emulator.url, "s3")
    client.create_bucket(Bucket="transform")
    return client


@pytest.fixture(scope="module")
def logs(emulator) -> Any:
    return clients(emulator.url, "logs")


@pytest.fixture
def model(sm, example_images):
    """An echo model; extra environment turns it into a failing or slow one."""
    def create(**environment: str) -> str:
        name = f"echo-{uuid.uuid4().hex[:8]}"
        sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE, "Environment": environment},
                        ExecutionRoleArn="arn:aws:iam::123456789012:role/emulator")
        return name
    return create


def job_request(name: str, model: str, source: str, output: str, **extra: Any) -> dict[str, Any]:
    data_type = extra.pop("data_type", "S3Prefix")
    return {"TransformJobName": name, "ModelName": model,
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": source}},
                               "ContentType": "text/csv", "SplitType": "Line"},
            "TransformOutput": {"S3OutputPath": output, "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}, **extra}


def wait(sm, name: str) -> dict[str, Any]:
    sm.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 600})
    return sm.describe_transform_job(TransformJobName=name)


def containers_of(job: str) -> list[str]:
    return [c.name for c in DockerBackend().list_managed(**{labels.ENDPOINT: job})]


def read(s3, key: str) -> bytes:
    return s3.get_object(Bucket="transform", Key=key)["Body"].read()


def test_a_prefix_is_transformed_into_out_objects_with_logs(sm, s3, logs, model, unique):
    job = unique("job")
    s3.put_object(Bucket="transform", Key=f"{job}/in/a.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket="transform", Key=f"{job}/in/day2/b.csv", Body=b"5,6\n")
    arn = sm.create_transform_job(**job_request(job, model(), f"s3://transform/{job}/in/",
                                                f"s3://transform/{job}/out"))["TransformJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job}"
    assert sm.describe_transform_job(TransformJobName=job)["TransformJobStatus"] == "InProgress"
    described = wait(sm, job)
    assert described["TransformJobStatus"] == "Completed" and "FailureReason" not in described
    assert described["TransformEndTime"] >= described["TransformStartTime"]
    assert read(s3, f"{job}/out/a.csv.out") == b"1,2\n3,4\n"
    assert read(s3, f"{job}/out/day2/b.csv.out") == b"5,6\n"
    assert containers_of(job) == []
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs",
                                        logStreamNamePrefix=f"{job}/")["logStreams"]
    assert len(streams) == 1 and streams[0]["logStreamName"].startswith(f"{job}/i-")
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TransformJobs",
                                 logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
    assert events, "the container's output is not in CloudWatch Logs"
    summaries = sm.list_transform_jobs(NameContains=job, StatusEquals="Completed")["TransformJobSummaries"]
    assert [summary["TransformJobName"] for summary in summaries] == [job]


def test_a_manifest_names_the_inputs(sm, s3, model, unique):
    job = unique("manifest")
    s3.put_object(Bucket="transform", Key=f"{job}/data/x.csv", Body=b"x\n")
    s3.put_object(Bucket="transform", Key=f"{job}/data/skipped.csv", Body=b"not listed\n")
    manifest = [{"prefix": f"s3://transform/{job}/data/"}, "x.csv"]
    s3.put_object(Bucket="transform", Key=f"{job}/inputs.manifest", Body=json.dumps(manifest).encode())
    sm.create_transform_job(**job_request(job, model(), f"s3://transform/{job}/inputs.manifest",
                                          f"s3://transform/{job}/out", data_type="ManifestFile"))
    assert wait(sm, job)["TransformJobStatus"] == "Completed"
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="transform", Prefix=f"{job}/out/")["Contents"]]
    assert keys == [f"{job}/out/x.csv.out"]


def test_a_failing_model_fails_the_job_with_the_reason_and_a_data_log(sm, s3, logs, model, unique):
    job = unique("failing")
    s3.put_object(Bucket="transform", Key=f"{job}/in/a.csv", Body=b"1\n")
    sm.create_transform_job(**job_request(job, model(ECHO_STATUS="400"), f"s3://transform/{job}/in/",
                                          f"s3://transform/{job}/out", ModelClientConfig={"InvocationsMaxRetries": 0}))
    with pytest.raises(Exception, match="Failed"):
        wait(sm, job)
    described = sm.describe_transform_job(TransformJobName=job)
    assert described["TransformJobStatus"] == "Failed"
    assert "a.csv" in described["FailureReason"] and "HTTP 400" in described["FailureReason"]
    assert "Contents" not in s3.list_objects_v2(Bucket="transform", Prefix=f"{job}/out/")
    data_logs = [stream["logStreamName"] for stream in logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=f"{job}/")["logStreams"]
        if stream["logStreamName"].endswith("/data-log")]
    assert len(data_logs) == 1
    assert containers_of(job) == []


def test_stop_ends_the_job_stopped_with_no_container_and_no_output(sm, s3, model, unique):
    job = unique("stopped")
    s3.put_object(Bucket="transform", Key=f"{job}/in/a.csv", Body=b"1\n")
    sm.create_transform_job(**job_request(job, model(ECHO_DELAY_SECONDS="60"), f"s3://transform/{job}/in/",
                                          f"s3://transform/{job}/out"))
    deadline = time.monotonic() + 60
    while not containers_of(job) and time.monotonic() < deadline:
        time.sleep(0.1)
    sm.stop_transform_job(TransformJobName=job)
    assert sm.describe_transform_job(TransformJobName=job)["TransformJobStatus"] in ("Stopping", "Stopped")
    assert wait(sm, job)["TransformJobStatus"] == "Stopped"
    assert containers_of(job) == []
    assert "Contents" not in s3.list_objects_v2(Bucket="transform", Prefix=f"{job}/out/")
    with pytest.raises(ClientError, match="only an InProgress job can be stopped"):
        sm.stop_transform_job(TransformJobName=job)


def test_a_job_stopped_right_after_its_creation_ends_stopped(sm, s3, model, unique):
    """Even when the job ends (here it would fail: its container answers 500) before the stop reaches it."""
    failing = model(ECHO_STATUS="500")
    for attempt in range(3):
        job = unique(f"at-once-{attempt}")
        s3.put_object(Bucket="transform", Key=f"{job}/in/a.csv", Body=b"1\n")
        sm.create_transform_job(**job_request(job, failing, f"s3://transform/{job}/in/", f"s3://transform/{job}/out"))
        sm.stop_transform_job(TransformJobName=job)
        described = wait(sm, job)
        assert (described["TransformJobStatus"], described.get("FailureReason")) == ("Stopped", None)
        assert containers_of(job) == []


def error_of(call, **request) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**request)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_sagemakers_errors(sm, s3, model, unique):
    missing = unique("missing")
    assert error_of(sm.describe_transform_job, TransformJobName=missing) == (
        "ValidationException", f"Could not find requested job with name {missing}")
    assert error_of(sm.stop_transform_job, TransformJobName=missing)[0] == "ResourceNotFound"
    code, message = error_of(sm.create_transform_job, **job_request(unique("job"), missing, "s3://transform/x/",
                                                                      "s3://transform/out"))
    assert code == "ValidationException" and message.startswith("Could not find model")
    code, message = error_of(sm.create_transform_job, **job_request(unique("job"), model(), "s3://transform/nothing/",
                                                                      "s3://transform/out"))
    assert code == "ValidationException" and 'No S3 objects found under S3 URL "s3://transform/nothing/"' in message
    code, message = error_of(sm.create_transform_job, **job_request(unique("job"), model(), "s3://transform/x/",
                                                                      "s3://transform/out", MaxPayloadInMB=101))
    assert code == "ValidationException" and message.startswith("MaxPayloadInMB: 101 is out of range")


def test_a_job_name_is_taken_once(sm, s3, model, unique):
    job = unique("once")
    s3.put_object(Bucket="transform", Key=f"{job}/in/a.csv", Body=b"1\n")
    request = job_request(job, model(), f"s3://transform/{job}/in/", f"s3://transform/{job}/out")
    sm.create_transform_job(**request)
    code, message = error_of(sm.create_transform_job, **request)
    assert code == "ResourceInUse" and "a job with this name already exists" in message
    wait(sm, job)
