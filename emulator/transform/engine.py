"""Running a transform job: read, batch, invoke up to MaxConcurrentTransforms at once, write in order.

Memory stays bounded: records are read lazily, at most twice MaxConcurrentTransforms batches are
in flight or waiting to be written, and results stream to disk. Files follow one another in one
stream, so small files also keep every worker busy.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from emulator.invocation.container_http import StreamedFile
from emulator.transform.batching import Batch, make_batches
from emulator.transform.dataprocessing import RecordProcessor
from emulator.transform.errors import (DataProcessingError, InvocationError, RecordError, TransformError,
                                       TransformJobError)
from emulator.transform.invoke import invoke_with_retries
from emulator.transform.job import SplitType, TransformJob
from emulator.transform.line_blocks import pack_lines
from emulator.transform.output import OUT_SUFFIX, Assembler, OutputFile
from emulator.transform.params import EffectiveParams, resolve_params
from emulator.transform.records import Record, read_records
from emulator.transform.report import FileReport, TransformFailed, TransformReport
from emulator.transform.target import TransformTarget


def run_transform(job: TransformJob, target: TransformTarget, inputs: Sequence[Path] | Path,
                  output_dir: Path, *, retry_delay: float = 0.5) -> TransformReport:
    """Transform every input file into `output_dir/<relative name>.out`.

    A folder stands for all files below it (like an S3 prefix); its subfolders are kept in the output.
    Every file is attempted; if any failed, raises TransformFailed (carrying the report) after the
    others are written, as SageMaker marks the job Failed but keeps the complete outputs.
    """
    started = time.monotonic()
    files = collect_inputs(inputs, exclude=Path(output_dir))
    params = resolve_params(job, target.execution_parameters())
    report = TransformReport(params)
    report.files = _Runner(job, target, params, retry_delay).run(files, Path(output_dir))
    report.seconds = time.monotonic() - started
    if report.errors:
        raise TransformFailed(job.name, report.errors, report)
    return report


def collect_inputs(inputs: Sequence[Path] | Path, *, exclude: Path | None = None) -> list[tuple[Path, Path]]:
    """(input file, output path relative to the output folder), in a stable order.

    Files under `exclude` (the output folder, when it lies inside an input folder) are skipped,
    so that a second run does not transform the first run's .out files.
    """
    skip = exclude.resolve() if exclude is not None else None
    pairs: list[tuple[Path, Path]] = []
    for item in [inputs] if isinstance(inputs, (str, Path)) else inputs:
        path = Path(item)
        if path.is_dir():
            pairs += [(file, file.relative_to(path)) for file in sorted(path.rglob("*"))
                      if file.is_file() and not (skip and file.resolve().is_relative_to(skip))]
        elif path.is_file():
            pairs.append((path, Path(path.name)))
        else:
            raise TransformError(f"input {path} does not exist (or is not a regular file or folder).")
    if not pairs:
        raise TransformError(f"no input files found in {inputs}; the job has nothing to transform.")
    outputs: dict[Path, Path] = {}
    for source, relative in pairs:
        if (other := outputs.setdefault(relative, source)) != source:
            raise TransformError(f"inputs {other} and {source} would both write {relative}{OUT_SUFFIX}; "
                                 "rename one of them or pass their common folder instead.")
    return [(source, relative.with_name(relative.name + OUT_SUFFIX)) for source, relative in pairs]


def _io_error(source: Path, exc: OSError) -> TransformJobError:
    return TransformJobError(source, None, None, f"cannot read or write: {exc}")


@dataclass(frozen=True, slots=True)
class _Sent:
    """What writing a batch's answer needs to know of the batch."""
    records: int
    bytes: int


@dataclass
class _Done:
    chunks: list[bytes]
    attempts: int


class _FileRun:
    """One input file's progress; its output becomes visible only in finish()."""

    def __init__(self, source: Path, final: Path):
        self.report = FileReport(source)
        self.final = final
        self.output: OutputFile | None = None
        # Set by the worker whose batch failed: this file's batches not yet started are not sent.
        self.stopped_by: TransformJobError | None = None
        self._started = time.monotonic()

    @property
    def failed(self) -> bool:
        return self.report.error is not None

    def fail(self, error: TransformJobError) -> None:
        if self.report.error is None:  # the first error found explains the failure
            self.report.error = error

    def write(self, sent: _Sent, done: _Done) -> None:
        assert self.output is not None
        self.output.write(done.chunks)
        report = self.report
        report.records += sent.records
        report.requests += 1
        report.retries += done.attempts - 1
        report.bytes_sent += sent.bytes
        report.bytes_written += sum(map(len, done.chunks))

    def finish(self) -> None:
        if self.output is not None and not self.failed:
            try:
                self.output.commit()
                self.report.output = self.final
            except OSError as exc:
                self.fail(_io_error(self.report.input, exc))
        self.abandon()
        self.report.seconds = time.monotonic() - self._started

    def abandon(self) -> None:
        """Removes the temporary file unless committed (then a no-op)."""
        if self.output is not None:
            self.output.discard()


# A waiting slot: (file, batch, its future); batch None marks the end of the file.
# The future's result is None when the batch was skipped after an earlier failure.
_Slot = tuple[_FileRun, _Sent | None, "Future[_Done | None] | None"]


class _Runner:
    def __init__(self, job: TransformJob, target: TransformTarget, params: EffectiveParams, retry_delay: float):
        self.job, self.target, self.params, self.retry_delay = job, target, params, retry_delay
        self.processor = RecordProcessor(job)
        self.assemble = Assembler(job.assemble_with, self.processor)
        # Room to keep every worker busy while the oldest batch is awaited, and no more.
        self.window = 2 * params.max_concurrent_transforms

    def run(self, files: list[tuple[Path, Path]], output_dir: Path) -> list[FileReport]:
        runs: list[_FileRun] = []
        pool = ThreadPoolExecutor(self.params.max_concurrent_transforms, thread_name_prefix="transform")
        pending: deque[_Slot] = deque()
        finished = False
        try:
            for run, batch in self._work(files, output_dir, runs):
                future = pool.submit(self._process, run, batch) if batch is not None else None
                # Only counts wait in the window: a body is released once its request is sent.
                pending.append((run, _Sent(batch.count, len(batch.body)) if batch is not None else None, future))
                del batch
                while len(pending) > self.window:
                    self._settle(*pending.popleft())
            while pending:
                self._settle(*pending.popleft())
            finished = True
        finally:
            # On an interrupt, do not wait for invocations in flight; either way leave no temp file.
            pool.shutdown(wait=finished, cancel_futures=True)
            for run in runs:
                run.abandon()
        return [run.report for run in runs]

    def _work(self, files: list[tuple[Path, Path]], output_dir: Path,
              runs: list[_FileRun]) -> Iterator[tuple[_FileRun, Batch | None]]:
        for source, relative in files:
            run = _FileRun(source, output_dir / relative)
            runs.append(run)
            try:
                run.output = OutputFile(run.final)
                for batch in self._batches(source):
                    yield run, batch
                    if run.failed:
                        break
            except RecordError as exc:
                run.fail(TransformJobError(source, exc.index, exc.index, exc.problem))
            except TransformJobError as exc:
                run.fail(exc)
            except OSError as exc:
                run.fail(_io_error(source, exc))
            yield run, None

    def _batches(self, source: Path) -> Iterator[Batch]:
        if self._streamed:
            yield Batch(1, 1, StreamedFile(source))
            return
        with source.open("rb") as stream:
            if self._whole_lines_only:
                yield from pack_lines(stream, self.params.max_payload_bytes)
                return
            records = read_records(stream, self.job.split_type, max_payload=self.params.max_payload_bytes)
            if self.processor.filters_input:
                records = (self._filter(source, record) for record in records)
            yield from make_batches(records, split_type=self.job.split_type, multi_record=self.params.multi_record,
                                    max_bytes=self.params.max_payload_bytes, keep_sources=self.processor.joins)

    @property
    def _streamed(self) -> bool:
        """A whole object with no limit (MaxPayloadInMB 0) is sent as it is read, chunked, as SageMaker does."""
        return (self.job.split_type is SplitType.NONE and self.params.max_payload_bytes is None
                and not self.processor.filters_input and not self.processor.joins)

    @property
    def _whole_lines_only(self) -> bool:
        """Line records packed as they are (no filter, no join, a limit): batches can be cut from blocks."""
        return (self.job.split_type is SplitType.LINE and self.params.multi_record and self.params.max_payload_bytes is not None
                and not self.processor.filters_input and not self.processor.joins)

    def _filter(self, source: Path, record: Record) -> Record:
        try:
            filtered = self.processor.filter_input(record.raw)
        except DataProcessingError as exc:
            raise TransformJobError(source, record.index, record.index, str(exc)) from None
        return Record(record.index, filtered, source=record.raw if self.processor.joins else None)

    def _process(self, run: _FileRun, batch: Batch) -> _Done | None:
        """Runs in a worker thread: invoke with retries, then assemble the chunks to write."""
        if run.stopped_by is not None:
            return None
        try:
            return self._invoke(run.report.input, batch)
        except TransformJobError as exc:
            run.stopped_by = exc
            raise

    def _invoke(self, source: Path, batch: Batch) -> _Done:
        try:
            answer = invoke_with_retries(self.target, batch.body, content_type=self.job.content_type,
                                         accept=self.job.accept, config=self.job.model_client_config,
                                         retry_delay=self.retry_delay)
        except InvocationError as exc:
            raise TransformJobError(source, batch.first, batch.last, exc.reason, answer=exc.answer) from None
        return _Done(self.assemble(source, batch, answer.content_type, answer.body), answer.attempts)

    @staticmethod
    def _settle(run: _FileRun, sent: _Sent | None, future: Future[_Done | None] | None) -> None:
        if sent is None or future is None:
            run.finish()
        elif run.failed:
            future.cancel()  # a failed file's later batches are not written
        else:
            try:
                done = future.result()
            except TransformJobError as exc:
                run.fail(exc)
                return
            if done is None:
                # Skipped because a batch that started at the same time failed: that is the reason.
                assert run.stopped_by is not None
                run.fail(run.stopped_by)
            else:
                run.write(sent, done)
