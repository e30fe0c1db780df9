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
