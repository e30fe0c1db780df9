"""What a transform run did, per input file, and the failure that carries it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emulator.transform.errors import TransformError, TransformJobError
from emulator.transform.params import EffectiveParams


@dataclass
class FileReport:
    input: Path
    output: Path | None = None          # the .out, None when the file failed
    records: int = 0
    requests: int = 0                  # mini-batches sent (retries not counted)
    retries: int = 0
    bytes_sent: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    error: TransformJobError | None = None


@dataclass
class TransformReport:
    params: EffectiveParams
    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(file.records for file in self.files)

    @property
    def requests(self) -> int:
        return sum(file.requests for file in self.files)

    @property
    def errors(self) -> list[TransformJobError]:
        return [file.error for file in self.files if file.error is not None]


class TransformFailed(TransformError):
    """The job failed on at least one input file; files that succeeded still have their .out."""

    def __init__(self, job_name: str, errors: list[TransformJobError], report: TransformReport):
        self.job_name, self.errors, self.report = job_name, errors, report
        lines = [f"Transform job {job_name} failed on {len(errors)} of {len(report.files)} input files "
                 "(no .out was written for them):"]
        lines += [f"  - {error}" for error in errors]
        super().__init__("\n".join(lines))
