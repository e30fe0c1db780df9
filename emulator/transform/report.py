"""What a transform run did, per input file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emulator.transform.errors import TransformJobError
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
