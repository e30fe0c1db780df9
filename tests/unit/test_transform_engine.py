"""run_transform end to end against a fake TransformTarget: no Docker."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.transform import (AssembleWith, BatchStrategy, DataProcessing, ExecutionParametersError,
                                JoinSource, ModelClientConfig, SplitType, TransformError,
                                TransformFailed, TransformJob, run_transform)
from emulator.invocation.container_http import StreamedFile
from emulator.invocation.outcomes import ContainerError, ContainerTimedOut, ContainerUnreachable
from emulator.transform.records import encode_recordio, encode_tfrecord

Answer = Callable[[bytes], "bytes | tuple[str, bytes]"]


class FakeTarget:
    """A TransformTarget in memory: answers with `answer(body)`, records every call, measures concurrency."""

    def __init__(self, answer: Answer = lambda body: body, *, execution_parameters: dict | None = None,
                 delay: Callable[[bytes], float] = lambda body: 0.0, keep_bodies: bool = True):
        self.answer, self.delay, self._parameters = answer, delay, execution_parameters
        self.keep_bodies = keep_bodies
        self.bodies: list[bytes] = []
        self.headers: list[tuple[str | None, str | None, float]] = []
        self.active = self.max_active = 0
        self._lock = threading.Lock()

    def execution_parameters(self) -> dict | None:
        return self._parameters

    def invoke(self, body: bytes, *, content_type: str | None, accept: str | None,
               timeout: float) -> tuple[str | None, bytes]:
        with self._lock:
            self.bodies.append(body if self.keep_bodies else b"")
            self.headers.append((content_type, accept, timeout))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay(body))
            answer = self.answer(body)
            return answer if isinstance(answer, tuple) else (accept, answer)
        finally:
            with self._lock:
                self.active -= 1


def lines_job(**settings) -> TransformJob:
    base = dict(content_type="text/csv", accept="text/csv", split_type=SplitType.LINE, assemble_with=AssembleWith.LINE)
    return TransformJob(**{**base, **settings})


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


# ---- split types, batching and assembly -------------------------------------------------------

def test_line_multi_record_packs_and_assembles_one_line_per_record(tmp_path):
    source = write(tmp_path / "in" / "data.csv", b"1,a\n2,b\r\n3,c")
    target = FakeTarget(lambda body: body.upper())
    report = run_transform(lines_job(), target, source, tmp_path / "out")
    assert target.bodies == [b"1,a\n2,b\n3,c"]
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == b"1,A\n2,B\n3,C\n"
    (file,) = report.files
    assert (file.records, file.requests, file.bytes_sent, file.error) == (3, 1, 11, None)


def test_single_record_sends_one_record_per_request(tmp_path):
    source = write(tmp_path / "data.csv", b"1\n2\n3\n")
    target = FakeTarget(lambda body: body + b"!")
    run_transform(lines_job(batch_strategy=BatchStrategy.SINGLE_RECORD), target, source, tmp_path / "out")
    assert target.bodies == [b"1", b"2", b"3"]
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == b"1!\n2!\n3!\n"


def test_assemble_with_none_concatenates_answers_as_returned(tmp_path):
    source = write(tmp_path / "data.csv", b"1\n2\n")
    job = lines_job(batch_strategy=BatchStrategy.SINGLE_RECORD, assemble_with=AssembleWith.NONE)
    run_transform(job, FakeTarget(lambda body: b"<" + body + b">"), source, tmp_path / "out")
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == b"<1><2>"


def test_assemble_with_line_adds_no_second_newline(tmp_path):
    source = write(tmp_path / "data.csv", b"1\n2\n")
    run_transform(lines_job(), FakeTarget(lambda body: body + b"\n"), source, tmp_path / "out")
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == b"1\n2\n"


def test_split_none_sends_the_whole_file_once(tmp_path):
    source = write(tmp_path / "data.json", b'{"a":\n 1}\n')
    target = FakeTarget(lambda body: b"ok")
    run_transform(TransformJob(content_type="application/json"), target, source, tmp_path / "out")
    assert target.bodies == [b'{"a":\n 1}\n']
    assert (tmp_path / "out" / "data.json.out").read_bytes() == b"ok"


def test_max_payload_zero_streams_the_whole_object_from_its_file(tmp_path):
    """MaxPayloadInMB 0: unbounded and chunked; the object is read as it is sent, never held whole."""
    source = write(tmp_path / "big.bin", b"x" * (3 << 20))
    target = FakeTarget(lambda body: b"%d" % sum(map(len, body.chunks())))
    report = run_transform(TransformJob(max_payload_in_mb=0), target, source, tmp_path / "out")
    assert isinstance(target.bodies[0], StreamedFile) and len(target.bodies[0]) == 3 << 20
    assert (tmp_path / "out" / "big.bin.out").read_bytes() == b"%d" % (3 << 20)
    assert report.files[0].bytes_sent == 3 << 20


def test_recordio_multi_record_keeps_framing_single_record_drops_padding(tmp_path):
    source = write(tmp_path / "data.rec", encode_recordio(b"abc") + encode_recordio(b"defg"))
    multi = FakeTarget(lambda body: b"x")
    run_transform(TransformJob(split_type=SplitType.RECORDIO), multi, source, tmp_path / "multi")
    assert multi.bodies == [encode_recordio(b"abc") + encode_recordio(b"defg")]
    single = FakeTarget(lambda body: b"x")
    run_transform(TransformJob(split_type=SplitType.RECORDIO, batch_strategy=BatchStrategy.SINGLE_RECORD),
                  single, source, tmp_path / "single")
    assert single.bodies == [encode_recordio(b"abc")[:-1], encode_recordio(b"defg")]


def test_tfrecord_batches_are_framed_records(tmp_path):
    source = write(tmp_path / "data.tfrecord", encode_tfrecord(b"a") * 3)
    target = FakeTarget(lambda body: b"x")
    job = TransformJob(split_type=SplitType.TFRECORD, max_payload_in_mb=1)
    run_transform(job, target, source, tmp_path / "out")
    assert target.bodies == [encode_tfrecord(b"a") * 3]


def test_every_request_carries_content_type_accept_and_the_timeout(tmp_path):
    source = write(tmp_path / "data.csv", b"1\n2\n")
    target = FakeTarget()
    job = lines_job(batch_strategy=BatchStrategy.SINGLE_RECORD, accept="application/json",
                    model_client_config=ModelClientConfig(invocations_timeout_in_seconds=42))
    run_transform(job, target, source, tmp_path / "out")
    assert target.headers == [("text/csv", "application/json", 42)] * 2


def test_the_container_execution_parameters_apply_below_job_settings(tmp_path):
    source = write(tmp_path / "data.csv", b"1\n2\n3\n")
    container = FakeTarget(execution_parameters={"BatchStrategy": "SINGLE_RECORD", "MaxConcurrentTransforms": 2})
    report = run_transform(lines_job(), container, source, tmp_path / "a")
    assert container.bodies == [b"1", b"2", b"3"]
    assert report.params.max_concurrent_transforms == 2
    overruled = FakeTarget(execution_parameters={"BatchStrategy": "SINGLE_RECORD"})
    run_transform(lines_job(batch_strategy=BatchStrategy.MULTI_RECORD), overruled, source, tmp_path / "b")
    assert overruled.bodies == [b"1\n2\n3"]


def test_a_wrong_execution_parameters_answer_stops_the_job_before_any_request(tmp_path):
    target = FakeTarget(execution_parameters={"BatchStrategy": "ALL"})
    with pytest.raises(ExecutionParametersError, match="BatchStrategy='ALL'"):
        run_transform(lines_job(), target, write(tmp_path / "d.csv", b"1\n"), tmp_path / "out")
    assert target.bodies == []


def test_packing_is_exact_at_the_megabyte_limit(tmp_path):
    mb = 1_048_576
    short, full = b"x" * (mb // 4 - 1), b"y" * (mb // 4)  # 3 short + 1 full + 3 newlines = exactly 1 MB
    exact = write(tmp_path / "exact.csv", b"\n".join([short, short, short, full, b"z"]))
    over = write(tmp_path / "over.csv", b"\n".join([short, short, full, full, b"z"]))
    target = FakeTarget(lambda body: b"n")
    run_transform(lines_job(max_payload_in_mb=1), target, [exact, over], tmp_path / "out")
    assert [len(body) for body in target.bodies] == [mb, 1, 3 * mb // 4, len(full) + 2]


# ---- folders -----------------------------------------------------------------------------------

def test_a_folder_is_every_file_below_it_with_subfolders_kept(tmp_path):
    write(tmp_path / "in" / "a.csv", b"1\n")
    write(tmp_path / "in" / "day2" / "b.csv", b"2\n")
    report = run_transform(lines_job(), FakeTarget(), tmp_path / "in", tmp_path / "out")
    assert (tmp_path / "out" / "a.csv.out").read_bytes() == b"1\n"
    assert (tmp_path / "out" / "day2" / "b.csv.out").read_bytes() == b"2\n"
    assert [f.input.name for f in report.files] == ["a.csv", "b.csv"]


def test_an_output_folder_inside_the_input_folder_is_not_read_back(tmp_path):
    write(tmp_path / "data" / "a.csv", b"1\n")
    for _ in range(2):
        report = run_transform(lines_job(), FakeTarget(), tmp_path / "data", tmp_path / "data" / "out")
    assert [f.input.name for f in report.files] == ["a.csv"]
    assert sorted(p.name for p in (tmp_path / "data" / "out").iterdir()) == ["a.csv.out"]


def test_an_unwritable_output_fails_the_file_without_a_record_range(tmp_path):
    source = write(tmp_path / "d.csv", b"1\n")
    write(tmp_path / "out" / "d.csv.out" / "blocker", b"")  # a folder where the .out should go
    with pytest.raises(TransformFailed, match=r"d\.csv: cannot read or write") as info:
        run_transform(lines_job(), FakeTarget(), source, tmp_path / "out")
    assert info.value.errors[0].record_range is None


def test_a_whole_json_document_joins_as_sagemaker_input(tmp_path):
    source = write(tmp_path / "d.json", b"[1, 2, 3]")
    job = TransformJob(content_type="application/json", accept="application/json",
                       data_processing=DataProcessing(join_source=JoinSource.INPUT))
    run_transform(job, FakeTarget(lambda body: b"6"), source, tmp_path / "out")
    assert (tmp_path / "out" / "d.json.out").read_bytes() == b'{"SageMakerInput":[1,2,3],"SageMakerOutput":6}'


def test_an_empty_file_gives_an_empty_out(tmp_path):
    target = FakeTarget()
    run_transform(lines_job(), target, write(tmp_path / "empty.csv", b""), tmp_path / "out")
    assert (tmp_path / "out" / "empty.csv.out").read_bytes() == b"" and target.bodies == []


def test_inputs_that_would_share_an_output_are_refused(tmp_path):
    first, second = write(tmp_path / "a" / "d.csv", b"1\n"), write(tmp_path / "b" / "d.csv", b"2\n")
    with pytest.raises(TransformError, match=r"would both write d\.csv\.out"):
        run_transform(lines_job(), FakeTarget(), [first, second], tmp_path / "out")


def test_missing_or_empty_inputs_are_refused(tmp_path):
    with pytest.raises(TransformError, match="does not exist"):
        run_transform(lines_job(), FakeTarget(), tmp_path / "nope.csv", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TransformError, match="no input files"):
        run_transform(lines_job(), FakeTarget(), tmp_path / "empty", tmp_path / "out")


# ---- concurrency and order ---------------------------------------------------------------------

def test_order_is_kept_when_answers_come_back_out_of_order(tmp_path):
    source = write(tmp_path / "data.csv", b"".join(b"%d\n" % i for i in range(1, 41)))
    # Later records answer sooner, so completions arrive in reverse within each window.
    target = FakeTarget(delay=lambda body: (41 - int(body)) * 0.002)
    job = lines_job(batch_strategy=BatchStrategy.SINGLE_RECORD, max_concurrent_transforms=4)
    run_transform(job, target, source, tmp_path / "out")
    assert (tmp_path / "out" / "data.csv.out").read_bytes() == source.read_bytes()
    assert target.bodies != sorted(target.bodies, key=int) or target.max_active > 1


def test_max_concurrent_transforms_requests_are_really_in_flight_at_once(tmp_path):
    source = write(tmp_path / "data.csv", b"r\n" * 24)
    target = FakeTarget(delay=lambda body: 0.05)
    job = lines_job(batch_strategy=BatchStrategy.SINGLE_RECORD, max_concurrent_transforms=4)
    run_transform(job, target, source, tmp_path / "out")
    assert target.max_active == 4


def test_small_files_share_the_workers(tmp_path):
    for i in range(6):
        write(tmp_path / "in" / f"f{i}.csv", b"r\n")
    target = FakeTarget(delay=lambda body: 0.05)
    run_transform(lines_job(max_concurrent_transforms=3), target, tmp_path / "in", tmp_path / "out")
    assert target.max_active == 3
    assert len(list((tmp_path / "out").glob("*.out"))) == 6


# ---- retries and failures ----------------------------------------------------------------------

class Flaky:
    """Fails the first `failures` calls with `error`, then echoes."""

    def __init__(self, failures: int, error: Exception):
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, body: bytes) -> bytes:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return body


@pytest.mark.parametrize("error", [ContainerError("e", "primary", 503, "busy"), ContainerTimedOut("e", "primary"),
                                   ContainerUnreachable("e", "primary", "refused")])
def test_transient_errors_are_retried(tmp_path, error):
    flaky = Flaky(2, error)
    report = run_transform(lines_job(), FakeTarget(flaky), write(tmp_path / "d.csv", b"1\n"), tmp_path / "out",
                           retry_delay=0)
    assert flaky.calls == 3 and report.files[0].retries == 2
    assert (tmp_path / "out" / "d.csv.out").read_bytes() == b"1\n"


def test_client_errors_are_not_retried(tmp_path):
    flaky = Flaky(1, ContainerError("e", "primary", 415, "unsupported content type"))
    with pytest.raises(TransformFailed, match=r"HTTP 415.*unsupported content type"):
        run_transform(lines_job(), FakeTarget(flaky), write(tmp_path / "d.csv", b"1\n"), tmp_path / "out",
                      retry_delay=0)
    assert flaky.calls == 1


def test_retries_stop_at_invocations_max_retries(tmp_path):
    flaky = Flaky(99, ContainerTimedOut("e", "primary"))
    job = lines_job(model_client_config=ModelClientConfig(invocations_timeout_in_seconds=5, invocations_max_retries=1))
    with pytest.raises(TransformFailed, match=r"no answer within InvocationsTimeoutInSeconds=5 \(2 attempts\)"):
        run_transform(job, FakeTarget(flaky), write(tmp_path / "d.csv", b"1\n"), tmp_path / "out", retry_delay=0)
    assert flaky.calls == 2


def test_a_failed_file_names_its_records_leaves_no_out_and_others_still_complete(tmp_path):
    write(tmp_path / "in" / "a_good.csv", b"1\n2\n")
    bad = write(tmp_path / "in" / "b_bad.csv", b"1\n2\n3\nboom\n5\n")
    write(tmp_path / "out" / "b_bad.csv.out", b"stale result of an earlier run")

    def answer(body: bytes) -> bytes:
        if b"boom" in body:
            raise ContainerError("e", "primary", 500, "ValueError: could not convert 'boom'")
        return body

    job = lines_job(max_payload_in_mb=0, batch_strategy=BatchStrategy.SINGLE_RECORD, max_concurrent_transforms=2,
                    model_client_config=ModelClientConfig(invocations_max_retries=0))
    with pytest.raises(TransformFailed) as info:
        run_transform(job, FakeTarget(answer), tmp_path / "in", tmp_path / "out")
    (error,) = info.value.errors
    assert (error.input_file, error.first_record, error.last_record) == (bad, 4, 4)
    assert "b_bad.csv, record 4: the container answered HTTP 500" in str(info.value)
    assert "could not convert 'boom'" in str(info.value)
    assert (tmp_path / "out" / "a_good.csv.out").read_bytes() == b"1\n2\n"
    assert not (tmp_path / "out" / "b_bad.csv.out").exists()
    assert leftovers(tmp_path / "out") == []
    files = {f.input.name: f for f in info.value.report.files}
    assert files["a_good.csv"].output is not None and files["b_bad.csv"].output is None


def test_a_multi_record_failure_names_the_record_range(tmp_path):
    records = [b"%d" % i + b"x" * 400_000 for i in range(1, 7)]  # two records fit in 1 MB, three do not
    source = write(tmp_path / "d.csv", b"\n".join(records))

    def answer(body: bytes) -> bytes:
        if body.startswith(b"3"):
            raise ContainerError("e", "primary", 400, "bad batch")
        return b"ok"

    target = FakeTarget(answer)
    with pytest.raises(TransformFailed, match=r"d.csv, records 3..4: the container answered HTTP 400"):
        run_transform(lines_job(max_payload_in_mb=1), target, source, tmp_path / "out")
    assert [body[:1] for body in target.bodies] == [b"1", b"3"]  # nothing sent after the failure
    assert list((tmp_path / "out").iterdir()) == []


def test_an_oversize_record_names_file_and_record_and_writes_nothing(tmp_path):
    big = b"x" * 1_048_577
    source = write(tmp_path / "d.csv", b"small\n" + big + b"\nsmall\n")
    target = FakeTarget()
    with pytest.raises(TransformFailed, match=r"d.csv, record 2: record 2 is 1,048,577 bytes"):
        run_transform(lines_job(max_payload_in_mb=1), target, source, tmp_path / "out")
    assert not (tmp_path / "out" / "d.csv.out").exists() and leftovers(tmp_path / "out") == []


def test_an_unexpected_target_exception_propagates_and_leaves_no_temp_file(tmp_path):
    def broken(body: bytes) -> bytes:
        raise RuntimeError("bug in the target")

    with pytest.raises(RuntimeError, match="bug in the target"):
        run_transform(lines_job(), FakeTarget(broken), write(tmp_path / "d.csv", b"1\n"), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


# ---- DataProcessing, the developer guide's examples ----------------------------------------------

def test_csv_exclude_id_join_input_keep_id_and_prediction(tmp_path):
    source = write(tmp_path / "d.csv", b"id1,5.1,3.5\nid2,4.9,3.0\nid3,6.2,2.9\n")
    def model(body: bytes) -> bytes:  # one sum per row
        return b"\n".join(b"%.1f" % sum(map(float, row.split(b","))) for row in body.split(b"\n"))

    target = FakeTarget(model)
    job = lines_job(data_processing=DataProcessing("$[1:]", "$[0,-1]", JoinSource.INPUT))
    run_transform(job, target, source, tmp_path / "out")
    assert target.bodies == [b"5.1,3.5\n4.9,3.0\n6.2,2.9"]
    assert (tmp_path / "out" / "d.csv.out").read_bytes() == b"id1,8.6\nid2,7.9\nid3,9.1\n"


def test_csv_join_input_keeps_the_whole_row(tmp_path):
    source = write(tmp_path / "d.csv", b"1,2,3\n")
    job = lines_job(data_processing=DataProcessing(join_source=JoinSource.INPUT))
    run_transform(job, FakeTarget(lambda body: b"1"), source, tmp_path / "out")
    assert (tmp_path / "out" / "d.csv.out").read_bytes() == b"1,2,3,1\n"


def test_json_lines_features_in_id_and_output_out(tmp_path):
    source = write(tmp_path / "d.jsonl", b'{"id":"a","features":[1,2]}\n{"id":"b","features":[3,4]}\n')
    target = FakeTarget(lambda body: b"\n".join(b'{"label":%d}' % len(line) for line in body.split(b"\n")))
    job = TransformJob(content_type="application/jsonlines", accept="application/jsonlines",
                       split_type=SplitType.LINE, assemble_with=AssembleWith.LINE,
                       data_processing=DataProcessing("$.features", "$['id','SageMakerOutput']", JoinSource.INPUT))
    run_transform(job, target, source, tmp_path / "out")
    assert target.bodies == [b"[1,2]\n[3,4]"]
    assert (tmp_path / "out" / "d.jsonl.out").read_bytes() == (
        b'{"id":"a","SageMakerOutput":{"label":5}}\n{"id":"b","SageMakerOutput":{"label":5}}\n')


def test_a_response_with_the_wrong_line_count_names_file_and_record_range(tmp_path):
    source = write(tmp_path / "d.csv", b"1\n2\n3\n")
    job = lines_job(data_processing=DataProcessing(join_source=JoinSource.INPUT))
    with pytest.raises(TransformFailed, match=r"d.csv, records 1..3: the response has 1 lines for 3 records"):
        run_transform(job, FakeTarget(lambda body: b"0.5"), source, tmp_path / "out")
    assert not (tmp_path / "out" / "d.csv.out").exists()


def test_an_input_filter_failure_names_the_record(tmp_path):
    source = write(tmp_path / "d.jsonl", b'{"features":[1]}\n{"other":2}\n')
    job = TransformJob(content_type="application/jsonlines", split_type=SplitType.LINE,
                       data_processing=DataProcessing(input_filter="$.features"))
    with pytest.raises(TransformFailed, match=r"d.jsonl, record 2: InputFilter '\$.features': no member"):
        run_transform(job, FakeTarget(), source, tmp_path / "out")


# ---- streaming ---------------------------------------------------------------------------------

def test_a_large_file_streams_with_bounded_memory(tmp_path):
    source = tmp_path / "big.csv"
    line = b"0.123456789,1.23456789,2.3456789,3.456789,4.56789,5.6789,6.789,7.89,8.9,label\n"
    with source.open("wb") as stream:
        chunk = line * 10_000
        while stream.tell() < 50 * 1_048_576:
            stream.write(chunk)
    size = source.stat().st_size
    target = FakeTarget(keep_bodies=False)  # echoes, so 50 MB also go out
    tracemalloc.start()
    try:
        report = run_transform(lines_job(max_payload_in_mb=1, max_concurrent_transforms=2), target, source,
                               tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "out" / "big.csv.out").stat().st_size == size
    assert report.files[0].records == size // len(line)
    assert peak < 10 * 1_048_576, f"peak {peak:,} bytes for a {size:,}-byte file"
