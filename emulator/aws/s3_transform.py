"""A transform job's S3 side: the input objects (an S3 prefix, or a manifest listing them) are copied
to a local folder, the engine transforms that folder, and each complete `<name>.out` is uploaded
under S3OutputPath, keeping the objects' names relative to the input prefix, as SageMaker does
(`s3://b/in/day1/a.csv` under prefix `s3://b/in/` -> `<S3OutputPath>/day1/a.csv.out`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from emulator.aws import s3
from emulator.aws.s3 import S3Error, S3Url
from emulator.transform import TransformFailed, TransformJob, TransformReport, TransformTarget, run_transform
from emulator.transform.job import S3DataType

MANIFEST_LIMIT = 64 * 1024 * 1024
INPUT_FIELD = "TransformInput.DataSource.S3DataSource.S3Uri"
OUTPUT_FIELD = "TransformOutput.S3OutputPath"


class JobStopped(Exception):
    """StopTransformJob: raised from the job's own work (staging, the target) to end it at once."""


def input_objects(job: TransformJob) -> list[tuple[S3Url, str]]:
    """(object, name relative to the input prefix) for every input object of the job, in key order."""
    location = S3Url.parse(job.input_uri, INPUT_FIELD)
    if job.input_data_type is S3DataType.MANIFEST_FILE:
        found = _manifest(location)
    else:
        # SageMaker matches keys by string prefix; names are kept from the prefix's last folder on.
        folder = location.key[:location.key.rfind("/") + 1]
        found = [(S3Url(location.bucket, key), key[len(folder):])
                 for key, _ in s3.list_keys(location) if not key.endswith("/")]
        for url, relative in found:
            check_relative(url, relative)
    if not found:
        raise S3Error(f"{INPUT_FIELD}: no objects under {location}; the job has nothing to transform. "
                      "Fix: upload the input files there, or correct the prefix.")
    return found


def _manifest(location: S3Url) -> list[tuple[S3Url, str]]:
    return parse_manifest(location, s3.read(location, MANIFEST_LIMIT))


def parse_manifest(location: S3Url, body: bytes) -> list[tuple[S3Url, str]]:
    """SageMaker's manifest: `[{"prefix": "s3://bucket/folder/"}, "relative/key", ...]`."""
    def refuse(problem: str) -> S3Error:
        return S3Error(f"{INPUT_FIELD}: the manifest {location} {problem}. Fix: write it as a JSON array "
                       '[{"prefix": "s3://bucket/folder/"}, "file1.csv", "sub/file2.csv"].')

    try:
        entries = json.loads(body)
    except ValueError as exc:
        raise refuse(f"is not JSON ({exc})") from None
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise refuse('does not start with a {"prefix": ...} object')
    prefix = S3Url.parse(entries[0].get("prefix"), f"{INPUT_FIELD} (the manifest's prefix)")
    if not all(isinstance(entry, str) and entry for entry in entries[1:]):
        raise refuse("lists something other than non-empty key strings after the prefix")
    found = [(S3Url(prefix.bucket, prefix.key + relative), relative) for relative in dict.fromkeys(entries[1:])]
    for url, relative in found:
        check_relative(url, relative)
    return found


def check_relative(url: S3Url, relative: str) -> None:
    """Refuse a name that cannot be a file below the staging folder (empty, `.` or `..` parts)."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\0" in relative:
        raise S3Error(f"{INPUT_FIELD}: the input object {url} cannot be transformed here: its name below the prefix, "
                      f"{relative!r}, has an empty, '.' or '..' part. Fix: rename the object.")


def run_s3_transform(job: TransformJob, target: TransformTarget, workdir: Path, *,
                     stopped: Callable[[], bool] = lambda: False) -> TransformReport:
    """Stage, transform, upload. A failed job (TransformFailed) still uploads its complete outputs, as
    SageMaker keeps them; a stopped one (JobStopped) uploads nothing."""
    output = S3Url.parse(job.output_path, OUTPUT_FIELD)
    inputs, outputs = workdir / "in", workdir / "out"
    for url, relative in input_objects(job):
        if stopped():
            raise JobStopped()
        local = inputs / PurePosixPath(relative)
        try:
            local.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise S3Error(f"{INPUT_FIELD}: the input object {url} cannot be staged as {relative!r} ({exc}). "
                          "Fix: rename the object.") from None
        s3.download(url, local)
    try:
        report = run_transform(job, target, inputs, outputs)
    except TransformFailed as failed:
        _upload(failed.report, outputs, output, stopped)
        raise
    _upload(report, outputs, output, stopped)
    return report


def _upload(report: TransformReport, outputs: Path, output: S3Url, stopped: Callable[[], bool]) -> None:
    for file in report.files:
        if file.output is not None:
            if stopped():
                raise JobStopped()
            s3.upload(file.output, output.child(file.output.relative_to(outputs).as_posix()))
