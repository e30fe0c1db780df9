"""Writing one input's results: streamed to a hidden temporary file, which becomes
`<input name>.out` only when the whole input succeeded (as SageMaker uploads only complete objects)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from emulator.transform.batching import Batch
from emulator.transform.dataprocessing import RecordProcessor, split_outputs
from emulator.transform.errors import DataProcessingError, TransformJobError
from emulator.transform.job import AssembleWith

OUT_SUFFIX = ".out"


class OutputFile:
    def __init__(self, final: Path):
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
        self._temp = Path(temp)
        self._stream = os.fdopen(fd, "wb")

    def write(self, chunks: list[bytes]) -> None:
        self._stream.writelines(chunks)

    def commit(self) -> None:
        self._stream.close()
        try:
            os.replace(self._temp, self.final)
        finally:
            self._temp.unlink(missing_ok=True)  # only still there if the rename failed

    def discard(self) -> None:
        """Also removes a `.out` left by an earlier run, which would otherwise pass for this run's."""
        if not self._stream.closed:
            self._stream.close()
            self._temp.unlink(missing_ok=True)
            self.final.unlink(missing_ok=True)


class Assembler:
    """Turns one batch's response into the chunks to write (AssembleWith, join, OutputFilter);
    chunks rather than one bytes object, so that a response is never copied."""

    def __init__(self, assemble_with: AssembleWith, processor: RecordProcessor):
        self._line = assemble_with is AssembleWith.LINE
        self._processor = processor

    def __call__(self, input_file: Path, batch: Batch, content_type: str | None, body: bytes) -> list[bytes]:
        if not self._processor.per_record:
            # A MultiRecord response's lines are already its records' outputs: end it with one newline.
            return [body, b"\n"] if self._line and not body.endswith(b"\n") else [body]
        try:
            outputs = split_outputs(body, batch.count)
        except DataProcessingError as exc:
            raise TransformJobError(input_file, batch.first, batch.last, str(exc)) from None
        sources = batch.sources or (None,) * batch.count
        parts = [self._finish(input_file, batch.first + offset, source, output, content_type)
                 for offset, (source, output) in enumerate(zip(sources, outputs, strict=True))]
        return [part + b"\n" for part in parts] if self._line else parts

    def _finish(self, input_file: Path, index: int, source: bytes | None, output: bytes,
                content_type: str | None) -> bytes:
        try:
            return self._processor.finish(source, output, content_type)
        except DataProcessingError as exc:
            raise TransformJobError(input_file, index, index, str(exc)) from None
