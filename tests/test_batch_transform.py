"""Batch transform and the parity check on real containers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator import Emulator
from emulator.hosting.batch import job_from_options, load_model, transform
from emulator.transform import with_batch_environment
from emulator.hosting.parity import check_parity
from emulator.transform import TransformFailed
from emulator.transform.records import encode_recordio, encode_tfrecord
from tests.conftest import ECHO_IMAGE, EXAMPLES, PIPELINE

pytestmark = pytest.mark.docker
ARTIFACTS = EXAMPLES / "artifacts"
FEATURES = ARTIFACTS / "data/penguins-features.csv"


def image(name: str, **environment: str):
    model_data = {"ModelDataUrl": str(ARTIFACTS / "preprocessor/model.tar.gz")} if "preprocessor" in name else {}
    return load_model({"PrimaryContainer": {"Image": name, "Environment": environment, **model_data}}, None)


def run(model, tmp_path: Path, inputs: Path, **options):
    job = job_from_options(model.name, inputs, tmp_path / "out", **options)
    return transform(model, job, inputs, tmp_path / "out")


def test_pipeline_transform_predicts_what_real_time_predicts(example_images, tmp_path):
    model = load_model(PIPELINE, "penguins")
    report = run(model, tmp_path, FEATURES, content_type="text/csv", accept="text/csv", split_type="Line",
                 batch_strategy="MultiRecord", assemble_with="Line")
    batch = (tmp_path / "out/penguins-features.csv.out").read_text().split()
    rows = FEATURES.read_text().splitlines()
    with Emulator([model]) as emulator:
        realtime = [emulator.endpoint.invoke(row, content_type="text/csv", accept="text/csv").body.decode().strip()
                    for row in rows]
    assert batch == realtime and len(batch) == 344
    assert report.records == 344


def test_single_record_sends_one_request_per_record_in_order(example_images, tmp_path):
    inputs = tmp_path / "in.csv"
    inputs.write_text("".join(f"{i}\n" for i in range(20)))
    report = run(image(ECHO_IMAGE), tmp_path, inputs, content_type="text/csv", split_type="Line",
                 batch_strategy="SingleRecord", assemble_with="Line")
    assert report.requests == 20
    assert (tmp_path / "out/in.csv.out").read_text() == inputs.read_text()


def test_multi_record_packs_whole_records_up_to_the_payload_limit(example_images, tmp_path):
    inputs = tmp_path / "big.csv"
    record = b"x" * 99_999 + b"\n"  # 100,000 bytes with its newline: 10 fit in 1 MB (1,048,576 bytes)
    inputs.write_bytes(record * 25)
    report = run(image(ECHO_IMAGE), tmp_path, inputs, content_type="text/csv", split_type="Line",
                 batch_strategy="MultiRecord", max_payload_mb=1, assemble_with="Line")
    assert report.requests == 3
    assert (tmp_path / "out/big.csv.out").read_bytes() == inputs.read_bytes()


@pytest.mark.serial  # a ratio of two timings
def test_max_concurrent_transforms_runs_requests_at_once(example_images, tmp_path):
    inputs = tmp_path / "slow.csv"
    inputs.write_text("".join(f"{i}\n" for i in range(8)))
    slow = image(ECHO_IMAGE, ECHO_DELAY_SECONDS="0.3")
    seconds = {}
    for concurrency in (1, 4):
        report = run(slow, tmp_path / str(concurrency), inputs, content_type="text/csv", split_type="Line",
                     batch_strategy="SingleRecord", max_concurrent_transforms=concurrency, assemble_with="Line")
        seconds[concurrency] = report.seconds
        assert (tmp_path / str(concurrency) / "out/slow.csv.out").read_text() == inputs.read_text()
    assert seconds[1] / seconds[4] > 2.5  # 4 at once: ideally 4x faster


def test_execution_parameters_apply_below_the_job_settings(example_images, tmp_path):
    inputs = tmp_path / "in.csv"
    inputs.write_text("a\nb\nc\n")
    answering = image(ECHO_IMAGE, ECHO_EXECUTION_PARAMETERS=json.dumps(
        {"MaxConcurrentTransforms": 3, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 2}))
    report = run(answering, tmp_path, inputs, content_type="text/csv", split_type="Line", max_payload_mb=1)
    assert report.params.max_concurrent_transforms == 3 and report.params.max_payload_in_mb == 1
    assert report.params.sources["MaxPayloadInMB"] == "job"
    assert report.requests == 3  # SINGLE_RECORD from the container


def test_a_failing_file_is_named_with_its_records_and_leaves_no_output(example_images, tmp_path):
    inputs = tmp_path / "rows.csv"
    inputs.write_text("1\n2\n3\n")
    with pytest.raises(TransformFailed) as caught:
        run(image(ECHO_IMAGE, ECHO_STATUS="400"), tmp_path, inputs, content_type="text/csv", split_type="Line",
            batch_strategy="MultiRecord", assemble_with="Line", max_retries=0)
    message = str(caught.value)
    assert "rows.csv" in message and "records 1..3" in message and "ECHO_STATUS=400" in message
    assert not list((tmp_path / "out").glob("*"))


def test_join_and_filters_make_the_models_training_rows(example_images, tmp_path):
    inputs = tmp_path / "raw.csv"
    inputs.write_text("Adelie,Torgersen,39.1,18.7,181,3750,male\nGentoo,Biscoe,50.0,15.2,218,5700,male\n")
    run(image("sagemaker-emulator/example-preprocessor:1"), tmp_path, inputs, content_type="text/csv",
        accept="text/csv", split_type="Line", batch_strategy="MultiRecord", assemble_with="Line",
        input_filter="$[1:]", join_source="Input", output_filter="$[0,7:]")
    rows = [line.split(",") for line in (tmp_path / "out/raw.csv.out").read_text().splitlines()]
    assert [row[0] for row in rows] == ["Adelie", "Gentoo"]
    assert all(len(row) == 10 for row in rows)  # the label and the 9 features


def test_parity_holds_for_the_example_preprocessor(example_images):
    report = check_parity(image("sagemaker-emulator/example-preprocessor:1"), FEATURES)
    assert report.ok, report.explain()
    assert report.records == 344


def test_parity_fails_for_a_preprocessor_that_scales_by_the_batch(example_images):
    report = check_parity(image("sagemaker-emulator/broken-batch-dependent-preprocessor:1"), FEATURES)
    assert not report.ok
    explanation = report.explain()
    assert "parity FAILS" in explanation and "record" in explanation and "Fix:" in explanation
    assert report.mismatches[0].record == 1


@pytest.mark.parametrize("split_type, encode", [("RecordIO", encode_recordio), ("TFRecord", encode_tfrecord)])
def test_framed_records_keep_their_framing_through_the_container(example_images, tmp_path, split_type, encode):
    inputs = tmp_path / "framed.bin"
    inputs.write_bytes(b"".join(encode(f"record {i}".encode() * (i + 1)) for i in range(5)))
    report = run(image(ECHO_IMAGE), tmp_path, inputs, content_type="application/x-recordio", split_type=split_type,
                 batch_strategy="MultiRecord", assemble_with="None")
    assert report.records == 5 and report.requests == 1
    assert (tmp_path / "out/framed.bin.out").read_bytes() == inputs.read_bytes()


def test_split_type_none_sends_the_whole_file_once(example_images, tmp_path):
    inputs = tmp_path / "whole.csv"
    inputs.write_text("1\n2\n3\n")
    report = run(image(ECHO_IMAGE), tmp_path, inputs, content_type="text/csv")
    assert report.requests == 1
    assert (tmp_path / "out/whole.csv.out").read_text() == "1\n2\n3\n"


def test_the_containers_get_the_batch_environment(example_images, docker_engine, tmp_path):
    job = job_from_options("endpoint", tmp_path, tmp_path / "out", split_type="Line", batch_strategy="MultiRecord",
                           max_payload_mb=2, max_concurrent_transforms=3)
    with Emulator([with_batch_environment(image(ECHO_IMAGE), job)]) as emulator:
        container = docker_engine.containers.get(emulator.endpoint.endpoint.containers[0].id)
        environment = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    assert {key: environment.get(key) for key in ("SAGEMAKER_BATCH", "SAGEMAKER_MAX_PAYLOAD_IN_MB",
                                                  "SAGEMAKER_BATCH_STRATEGY", "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS")} == {
        "SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "2", "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "3"}


def test_model_client_config_times_out_and_retries(example_images, tmp_path):
    inputs = tmp_path / "slow.csv"
    inputs.write_text("1\n")
    with pytest.raises(TransformFailed) as caught:
        run(image(ECHO_IMAGE, ECHO_DELAY_SECONDS="5"), tmp_path, inputs, content_type="text/csv", split_type="Line",
            timeout=1, max_retries=1)
    assert "no answer within InvocationsTimeoutInSeconds=1 (2 attempts)" in str(caught.value)


def test_json_lines_join_the_output_to_the_input(example_images, tmp_path):
    inputs = tmp_path / "rows.jsonl"
    inputs.write_text('{"id": 1, "x": [1, 2]}\n{"id": 2, "x": [3, 4]}\n')
    run(image(ECHO_IMAGE), tmp_path, inputs, content_type="application/json", accept="application/json",
        split_type="Line", batch_strategy="MultiRecord", assemble_with="Line", input_filter="$.x",
        join_source="Input", output_filter="$['id','SageMakerOutput']")
    rows = [json.loads(line) for line in (tmp_path / "out/rows.jsonl.out").read_text().splitlines()]
    assert rows == [{"id": 1, "SageMakerOutput": [1, 2]}, {"id": 2, "SageMakerOutput": [3, 4]}]


def test_batches_over_the_real_time_6_mb_reach_the_container(example_images, tmp_path):
    """MaxPayloadInMB up to 100: a 10 MB batch is sent as it is, not refused at the real-time limit."""
    inputs = tmp_path / "large.csv"
    inputs.write_bytes((b"y" * 999_999 + b"\n") * 9)  # 9 MB of records, one batch under MaxPayloadInMB 10
    report = run(image(ECHO_IMAGE), tmp_path, inputs, content_type="text/csv", split_type="Line",
                 batch_strategy="MultiRecord", max_payload_mb=10, assemble_with="Line")
    assert report.requests == 1
    assert (tmp_path / "out/large.csv.out").read_bytes() == inputs.read_bytes()


def test_max_payload_zero_streams_a_whole_object_larger_than_any_limit(example_images, tmp_path):
    inputs = tmp_path / "whole.bin"
    inputs.write_bytes(bytes(range(256)) * (40 << 12))  # 10 MiB
    report = run(image(ECHO_IMAGE), tmp_path, inputs, content_type="application/octet-stream", max_payload_mb=0)
    assert report.requests == 1
    assert (tmp_path / "out/whole.bin.out").read_bytes() == inputs.read_bytes()
