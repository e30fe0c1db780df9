"""DataProcessing: InputFilter before the model, JoinSource=Input and OutputFilter after it.

JSON records are JSON values (JSON Lines: one per line); a CSV row acts as an array of its fields
and is written back as CSV.
"""

from __future__ import annotations

import csv
import io
import json
from enum import Enum
from typing import Any

from emulator.invocation.content_types import base_type
from emulator.transform.errors import DataProcessingError
from emulator.transform.job import CSV_TYPE, JSON_TYPES, JoinSource, TransformJob
from emulator.transform.jsonpath import JsonPath, JsonPathError

OUTPUT_KEY = "SageMakerOutput"
INPUT_KEY = "SageMakerInput"


class DataFormat(Enum):
    CSV = "csv"
    JSON = "json"


def data_format(content_type: str | None) -> DataFormat | None:
    kind = base_type(content_type)
    if kind == CSV_TYPE:
        return DataFormat.CSV
    return DataFormat.JSON if kind in JSON_TYPES else None


class RecordProcessor:
    """Applies one job's DataProcessing to records; inactive (all no-ops) by default."""

    def __init__(self, job: TransformJob):
        processing = job.data_processing
        self._input_filter = processing.input_path()
        self._output_filter = processing.output_path()
        self.joins = processing.join_source is JoinSource.INPUT
        self._input_format = data_format(job.content_type)
        self._accept_format = data_format(job.accept)

    @property
    def filters_input(self) -> bool:
        return not self._input_filter.is_root

    @property
    def per_record(self) -> bool:
        """Whether responses must be split into one output per record (join or OutputFilter)."""
        return self.joins or not self._output_filter.is_root

    def filter_input(self, raw: bytes) -> bytes:
        fmt = self._require(self._input_format, "TransformInput.ContentType")
        return _encode(_select(self._input_filter, _decode(raw, fmt), "InputFilter"), fmt)

    def finish(self, source: bytes | None, output: bytes, response_type: str | None) -> bytes:
        """One record's final bytes: its output, joined to its input record `source` (given exactly
        when JoinSource=Input), then OutputFilter."""
        output_format = self._require(self._accept_format or data_format(response_type) or self._input_format,
                                      "the response's Content-Type")
        value = _decode(output, output_format, what="the model's output")
        if source is not None:
            fmt = self._require(self._input_format, "TransformInput.ContentType")
            value = _join(_decode(source, fmt), value, fmt, output_format)
            output_format = fmt
        return _encode(_select(self._output_filter, value, "OutputFilter"), output_format)

    @staticmethod
    def _require(fmt: DataFormat | None, what: str) -> DataFormat:
        if fmt is None:
            raise DataProcessingError(f"DataProcessing needs JSON or CSV data, but {what} is neither "
                                      f"({CSV_TYPE} or {', '.join(JSON_TYPES)})")
        return fmt


def split_outputs(body: bytes, count: int) -> list[bytes]:
    """A MultiRecord response holds one output line per record sent, in order."""
    if count == 1:
        return [_strip_newline(body)]
    lines = _strip_newline(body).split(b"\n")
    if len(lines) != count:
        raise DataProcessingError(f"the response has {len(lines)} lines for {count} records; with "
                                  "JoinSource or OutputFilter and MultiRecord the model must answer one line "
                                  "per record (or use BatchStrategy SingleRecord)")
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _strip_newline(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


def _join(source: Any, output: Any, input_format: DataFormat, output_format: DataFormat) -> Any:
    if input_format is DataFormat.CSV:
        return source + (output if isinstance(output, list) else [output])
    if output_format is DataFormat.CSV and len(output) == 1:
        output = output[0]  # a one-column CSV answer joins to JSON as a scalar (our choice)
    if isinstance(source, dict):
        # SageMaker reserves this key: an input member of that name is overwritten.
        return {**source, OUTPUT_KEY: output}
    return {INPUT_KEY: source, OUTPUT_KEY: output}


def _select(path: JsonPath, value: Any, name: str) -> Any:
    if path.is_root:
        return value
    try:
        return path.select(value)
    except JsonPathError as exc:
        raise DataProcessingError(f"{name} {path.text!r}: {exc}") from None


def _decode(raw: bytes, fmt: DataFormat, *, what: str = "the record") -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataProcessingError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if fmt is DataFormat.CSV:
        return next(csv.reader([text]), [])
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataProcessingError(f"{what} is not valid JSON ({exc.msg} at column {exc.colno}): "
                                  f"{text[:200]!r}") from None


def _encode(value: Any, fmt: DataFormat) -> bytes:
    if fmt is DataFormat.JSON:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if isinstance(value, dict):
        raise DataProcessingError("a JSON object cannot be written as a CSV row; select columns by index")
    row = value if isinstance(value, list) else [value]
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(row)
    return text.getvalue().encode("utf-8")
