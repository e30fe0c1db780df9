"""Errors of the batch-transform engine: each names what went wrong, where, and how to fix it."""

from __future__ import annotations

from pathlib import Path

from emulator.errors import EmulatorError

# Container answers can be whole HTML pages: keep messages readable.
_ANSWER_LIMIT = 1000


class TransformError(EmulatorError):
    """Base of every batch-transform error."""


class JobConfigError(TransformError, ValueError):
    """A CreateTransformJob request (or TransformJob) is invalid; names the field and the fix."""

    def __init__(self, field: str, problem: str, fix: str):
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(f"{field}: {problem} Fix: {fix}")


class ExecutionParametersError(TransformError):
    """The container's GET /execution-parameters answer cannot be used."""


class InvocationError(TransformError):
    """An invocation still failed after every retry ModelClientConfig allows."""

    def __init__(self, reason: str, *, answer: str | None, attempts: int):
        self.reason, self.answer, self.attempts = reason, answer, attempts
        super().__init__(reason)


class DataProcessingError(TransformError):
    """A record or a response does not fit the DataProcessing settings (location added by the caller)."""


class RecordError(TransformError):
    """A record cannot be read or sent (bad framing, too large); the engine adds the file."""

    def __init__(self, index: int | None, problem: str):
        self.index, self.problem = index, problem
        super().__init__(problem)


class TransformJobError(TransformError):
    """One input file failed: which file, which records (1-based, inclusive), and the container's answer."""

    def __init__(self, input_file: Path, first_record: int | None, last_record: int | None,
                 reason: str, *, answer: str | None = None):
        self.input_file, self.first_record, self.last_record = input_file, first_record, last_record
        self.reason, self.answer = reason, answer
        super().__init__(self._describe())

    @property
    def record_range(self) -> str | None:
        if self.first_record is None:
            return None
        if self.first_record == self.last_record:
            return f"record {self.first_record}"
        return f"records {self.first_record}..{self.last_record}"

    def _describe(self) -> str:
        where = f"{self.input_file}, {self.record_range}" if self.record_range else str(self.input_file)
        text = f"{where}: {self.reason}"
        if self.answer:
            text += f"; the container said: {clip(self.answer)}"
        return text


def clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _ANSWER_LIMIT else text[:_ANSWER_LIMIT] + f"... ({len(text)} characters)"
