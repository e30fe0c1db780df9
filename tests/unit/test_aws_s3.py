"""S3 IO, the artifact cache and the transform job's S3 side, on moto's in-process mock of S3."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest
from hypothesis import given, strategies as st
from moto import mock_aws

from emulator.aws import clients, object_cache, s3
from emulator.aws.s3 import S3Error, S3Url
from emulator.aws.s3_transform import JobStopped, check_relative, input_objects, parse_manifest, run_s3_transform
from emulator.transform import AssembleWith, SplitType, TransformFailed, TransformJob

from tests.unit.test_transform_engine import FakeTarget


@pytest.fixture(scope="module")
def mocked_s3():
    with pytest.MonkeyPatch.context() as patch:
        for name in (clients.CHOICE_VARIABLE, *clients.ENDPOINT_VARIABLES):
            patch.delenv(name, raising=False)
        # No embedded S3 here, even when an emulator of a wider-scoped fixture runs in this process:
        # boto3's own settings, which moto intercepts.
        patch.setattr(clients, "_embedded_urls", [])
        patch.setattr(clients, "_clients", {})  # clients built under another test's environment (a redirected block)
        with mock_aws():
            yield boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def bucket(mocked_s3):
    """The bucket `data`, empty at each test's start."""
    mocked_s3.create_bucket(Bucket="data")
    yield mocked_s3
    for item in mocked_s3.list_objects_v2(Bucket="data").get("Contents", ()):
        mocked_s3.delete_object(Bucket="data", Key=item["Key"])


def job(uri: str, output: str = "s3://data/out", **settings) -> TransformJob:
    base = dict(content_type="text/csv", accept="text/csv", split_type=SplitType.LINE, assemble_with=AssembleWith.LINE)
    return TransformJob(**{**base, "input_uri": uri, "output_path": output, **settings})


# ---- URLs and errors --------------------------------------------------------------------------

@given(st.one_of(st.text(), st.none(), st.integers(), st.text().map(lambda t: "s3://" + t)))
def test_parsing_any_url_gives_a_url_or_one_clear_error(text):
    try:
        url = S3Url.parse(text, "ModelDataUrl")
    except S3Error as exc:
        assert str(exc).startswith("ModelDataUrl: ") and "Fix:" in str(exc)
    else:
        assert str(url) in (text, text + "/")  # "s3://bucket" is the bucket's root


def test_a_missing_object_names_the_object_the_s3_and_the_fix(bucket):
    with pytest.raises(S3Error, match=r"cannot read s3://data/nothing on AWS S3 .*NoSuchKey.*Fix: upload the object"):
        s3.download(S3Url("data", "nothing"), object_cache.Path("/dev/null"))


def test_embedded_choice_without_an_embedded_s3_says_how_to_fix_it(monkeypatch):
    monkeypatch.setattr(clients, "_embedded_urls", [])  # whatever other tests of this process still run
    monkeypatch.setenv(clients.CHOICE_VARIABLE, "embedded")
    with pytest.raises(clients.EmulatorError, match="no embedded S3 runs in this process"):
        clients.s3()


def test_an_endpoint_url_setting_wins_over_the_embedded_s3(monkeypatch):
    monkeypatch.delenv(clients.CHOICE_VARIABLE, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    clients.use_embedded("http://127.0.0.1:8")
    try:
        assert clients.s3().where == "the S3 at http://127.0.0.1:9 (AWS_ENDPOINT_URL_S3)"
        monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
        assert clients.s3().where == "the emulator's embedded S3"
    finally:
        clients.release_embedded("http://127.0.0.1:8")


# ---- artifacts: fetched once, verified, by content ----------------------------------------------

def test_an_artifact_is_fetched_once_and_again_only_when_it_changes(bucket, tmp_path, monkeypatch):
    bucket.put_object(Bucket="data", Key="model.tar.gz", Body=b"version 1")
    downloads = []
    real_download = s3.download
    monkeypatch.setattr(s3, "download", lambda url, target: downloads.append(url) or real_download(url, target))

    first = object_cache.fetch("s3://data/model.tar.gz", tmp_path)
    again = object_cache.fetch("s3://data/model.tar.gz", tmp_path)
    assert first == again and first.read_bytes() == b"version 1" and len(downloads) == 1
    assert first.name == hashlib.sha256(b"version 1").hexdigest()

    bucket.put_object(Bucket="data", Key="model.tar.gz", Body=b"version 2")
    assert object_cache.fetch("s3://data/model.tar.gz", tmp_path).read_bytes() == b"version 2"
    assert len(downloads) == 2


def test_when_s3_forgot_the_object_the_cached_copy_serves(bucket, tmp_path):
    bucket.put_object(Bucket="data", Key="model.tar.gz", Body=b"weights")
    fetched = object_cache.fetch("s3://data/model.tar.gz", tmp_path)
    bucket.delete_object(Bucket="data", Key="model.tar.gz")
    assert object_cache.fetch("s3://data/model.tar.gz", tmp_path) == fetched
    with pytest.raises(S3Error, match="NotFound"):
        object_cache.fetch("s3://data/never-fetched.tar.gz", tmp_path)


def test_a_damaged_download_is_refused(bucket, tmp_path, monkeypatch):
    bucket.put_object(Bucket="data", Key="model.tar.gz", Body=b"weights")
    client = clients.s3().client
    real_get = client.get_object

    def damaged(**kwargs):
        answer = real_get(**kwargs)
        answer["ETag"] = '"' + "0" * 32 + '"'
        return answer

    monkeypatch.setattr(client, "get_object", damaged)
    with pytest.raises(S3Error, match="arrived damaged"):
        object_cache.fetch("s3://data/model.tar.gz", tmp_path)
    assert not list((tmp_path / "blobs").iterdir())


# ---- transform inputs and outputs -------------------------------------------------------------

def test_a_prefix_keeps_names_from_its_last_folder_on(bucket):
    for key in ("in/a.csv", "in/day2/b.csv", "in/", "input-old.csv", "other/c.csv"):
        bucket.put_object(Bucket="data", Key=key, Body=b"1")
    assert [(str(url), name) for url, name in input_objects(job("s3://data/in/"))] == [
        ("s3://data/in/a.csv", "a.csv"), ("s3://data/in/day2/b.csv", "day2/b.csv")]
    assert [name for _, name in input_objects(job("s3://data/in"))] == ["in/a.csv", "in/day2/b.csv", "input-old.csv"]


def test_an_empty_prefix_is_one_clear_error(bucket):
    with pytest.raises(S3Error, match=r"no objects under s3://data/missing/.*Fix: upload the input files"):
        input_objects(job("s3://data/missing/"))


def test_a_manifest_lists_the_objects(bucket):
    manifest = [{"prefix": "s3://data/in/"}, "a.csv", "day2/b.csv", "a.csv"]
    bucket.put_object(Bucket="data", Key="list.manifest", Body=json.dumps(manifest).encode())
    found = input_objects(job("s3://data/list.manifest", input_data_type="ManifestFile"))
    assert [(str(url), name) for url, name in found] == [("s3://data/in/a.csv", "a.csv"),
                                                         ("s3://data/in/day2/b.csv", "day2/b.csv")]


@given(st.one_of(st.binary(max_size=200), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["prefix", "x"]), inner, max_size=2),
    max_leaves=8).map(lambda value: json.dumps(value).encode())))
def test_any_manifest_gives_safe_names_or_one_clear_error(body):
    try:
        found = parse_manifest(S3Url("data", "fuzz.manifest"), body)
    except S3Error as exc:
        assert "Fix:" in str(exc)
    else:
        for _, name in found:
            assert all(part not in ("", ".", "..") for part in name.split("/"))


@pytest.mark.parametrize("name", ["../etc/passwd", "a//b", "./a", "a/..", ""])
def test_names_that_would_leave_the_staging_folder_are_refused(name):
    with pytest.raises(S3Error, match="Fix: rename the object"):
        check_relative(S3Url("data", "in/" + name), name)


def test_s3_to_engine_to_s3(bucket, tmp_path):
    bucket.put_object(Bucket="data", Key="in/a.csv", Body=b"x,1\ny,2\n")
    bucket.put_object(Bucket="data", Key="in/day2/b.csv", Body=b"z,3\n")
    report = run_s3_transform(job("s3://data/in/", "s3://data/out/"), FakeTarget(lambda body: body.upper()), tmp_path)
    assert report.records == 3
    read = lambda key: bucket.get_object(Bucket="data", Key=key)["Body"].read()  # noqa: E731
    assert read("out/a.csv.out") == b"X,1\nY,2\n" and read("out/day2/b.csv.out") == b"Z,3\n"


def test_a_failed_file_gets_no_output_and_the_others_do(bucket, tmp_path):
    from emulator.invocation.outcomes import ContainerError

    def answer(body: bytes) -> bytes:
        if b"bad" in body:
            raise ContainerError("e", "primary", 400, "cannot parse")
        return body

    bucket.put_object(Bucket="data", Key="in/good.csv", Body=b"1\n")
    bucket.put_object(Bucket="data", Key="in/bad.csv", Body=b"bad\n")
    with pytest.raises(TransformFailed, match="bad.csv"):
        run_s3_transform(job("s3://data/in/", "s3://data/out"), FakeTarget(answer), tmp_path)
    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket="data", Prefix="out/")["Contents"]]
    assert keys == ["out/good.csv.out"]


def test_a_stopped_job_uploads_nothing(bucket, tmp_path):
    bucket.put_object(Bucket="data", Key="in/a.csv", Body=b"1\n")
    with pytest.raises(JobStopped):
        run_s3_transform(job("s3://data/in/"), FakeTarget(), tmp_path, stopped=lambda: True)
    assert "Contents" not in bucket.list_objects_v2(Bucket="data", Prefix="out/")


def test_the_s3_client_follows_the_endpoint_setting_of_the_moment(mocked_s3, monkeypatch):
    """A client built before `Emulator.redirected()` (or a test) changed AWS_ENDPOINT_URL_S3 is not reused after."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    first = clients.s3()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2")
    second = clients.s3()
    assert first.client.meta.endpoint_url == "http://127.0.0.1:1"
    assert second.client.meta.endpoint_url == "http://127.0.0.1:2" and "AWS_ENDPOINT_URL_S3" in second.where
    assert clients.s3().client is second.client  # the same settings: the same client
