"""The embedded S3 and STS on a real HTTP server, called with boto3 as a deploy script calls them."""

from __future__ import annotations


import boto3.s3.transfer
import pytest

from emulator import artifacts
from emulator.errors import ArtifactError
from tests.conftest import tar_of


def model_tarball(files: dict[str, bytes]) -> bytes:
    return tar_of(files, "gz")


def test_sts_answers_the_callers_account(aws_client):
    assert aws_client("sts").get_caller_identity()["Account"] == "123456789012"


def test_a_multipart_upload_reads_back_whole(aws_client, tmp_path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="big")
    data = bytes(range(256)) * (40 * 1024)  # 10 MB: two parts of 8 MB at most
    (tmp_path / "big.bin").write_bytes(data)
    s3.upload_file(str(tmp_path / "big.bin"), "big", "big.bin",
                   Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 * 1024 * 1024))
    assert "-" in s3.head_object(Bucket="big", Key="big.bin")["ETag"]  # really multipart
    assert s3.get_object(Bucket="big", Key="big.bin")["Body"].read() == data


def test_a_model_data_url_on_the_embedded_s3_unpacks_for_the_container(aws_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_EMULATOR_CACHE", str(tmp_path / "cache"))
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key="m/model.tar.gz", Body=model_tarball({"weights.txt": b"42"}))
    folder = artifacts.model_folder("s3://models/m/model.tar.gz")
    assert (folder / "weights.txt").read_bytes() == b"42"
    assert artifacts.model_folder("s3://models/m/model.tar.gz") == folder


def test_a_hostile_archive_on_s3_is_refused_like_a_local_one(aws_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_EMULATOR_CACHE", str(tmp_path / "cache"))
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="hostile")
    s3.put_object(Bucket="hostile", Key="model.tar.gz", Body=model_tarball({"../escape": b"x"}))
    with pytest.raises(ArtifactError, match="outside the model folder"):
        artifacts.model_folder("s3://hostile/model.tar.gz")


def test_a_missing_artifact_names_the_url_and_the_fix(embedded_aws, tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_EMULATOR_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ArtifactError, match=r"s3://no-such-bucket/model.tar.gz on the emulator's embedded S3.*Fix:"):
        artifacts.model_folder("s3://no-such-bucket/model.tar.gz")


def cloudwatch_query(url: str, form: str):
    """A CloudWatch call as older clients make it: Action=...&Version=... in a signed form."""
    import requests

    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/monitoring/aws4_request, "
                               "SignedHeaders=host, Signature=0", "Content-Type": "application/x-www-form-urlencoded"}
    return requests.post(url, headers=signed, data=form, timeout=10)


def test_a_bucket_website_reads_back_as_it_was_put(aws_client):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_bucket_website(Bucket="site", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    assert s3.get_bucket_website(Bucket="site")["IndexDocument"] == {"Suffix": "index.html"}


def test_cloudwatch_answers_older_clients_in_the_query_protocol(embedded_aws):
    put = cloudwatch_query(embedded_aws, "Action=PutMetricData&Version=2010-08-01&Namespace=Query"
                                         "&MetricData.member.1.MetricName=m&MetricData.member.1.Value=3")
    assert put.status_code == 200 and "<PutMetricDataResponse" in put.text
    listed = cloudwatch_query(embedded_aws, "Action=ListMetrics&Version=2010-08-01&Namespace=Query")
    assert "<MetricName>m</MetricName>" in listed.text
    unknown = cloudwatch_query(embedded_aws, "Action=Nope&Version=2010-08-01")
    assert unknown.status_code == 400 and "<Code>InvalidAction</Code>" in unknown.text and "Fix:" in unknown.text


def test_a_control_character_cloudwatch_does_not_support_is_refused_so_every_answer_stays_xml(embedded_aws, aws_client):
    """A fuzzed metric name of control characters, once stored, made an older client's ListMetrics answer XML no
    parser reads: CloudWatch refuses such names, in either protocol."""
    import botocore.exceptions

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        aws_client("cloudwatch").put_metric_data(Namespace="Ctl", MetricData=[{"MetricName": "a\x01b", "Value": 1.0}])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    put = cloudwatch_query(embedded_aws, "Action=PutMetricData&Version=2010-08-01&Namespace=Ctl"
                                         "&MetricData.member.1.MetricName=a%01b&MetricData.member.1.Value=3")
    assert put.status_code == 400 and "<Code>InvalidParameterValue</Code>" in put.text
    listed = cloudwatch_query(embedded_aws, "Action=ListMetrics&Version=2010-08-01&Namespace=Ctl")
    assert listed.status_code == 200 and "\x01" not in listed.text


def test_an_alarm_on_a_metric_the_caller_put_is_evaluated(aws_client):
    import time

    from emulator.aws.cloudwatch import evaluate_all

    cloudwatch = aws_client("cloudwatch", region="eu-west-1")
    cloudwatch.put_metric_alarm(AlarmName="queue-deep", Namespace="Mine", MetricName="depth", Statistic="Maximum",
                                Period=10, EvaluationPeriods=1, Threshold=100,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    evaluate_all(time.time())
    assert cloudwatch.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    cloudwatch.put_metric_data(Namespace="Mine", MetricData=[{"MetricName": "depth", "Value": 150.0}])
    evaluate_all(time.time() + 1)
    alarm = cloudwatch.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM" and "greater than or equal to the threshold (100)" in alarm["StateReason"]
