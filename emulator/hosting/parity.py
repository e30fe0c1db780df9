"""The preprocessing parity check: does a container answer each record in real time exactly as its
batch transform answered the same records, the output the model was trained on?

Real time sends one request per record to an endpoint started as SageMaker hosts it; batch runs
a MultiRecord transform job on containers started as SageMaker's batch transform does
(`SAGEMAKER_BATCH=true` ...). A container that scales by the batch's own statistics, or behaves
differently under batch settings, fails here.

Answers are compared record by record: a line is a record (CSV rows, JSON Lines), and so is each item of a
JSON document in TensorFlow Serving's shape, `{"predictions": [...]}`, or of the request shape a container in
front of it answers, `{"instances": [...]}`: such a container answers a whole mini-batch with one document, and
SageMaker's batch transform writes it as one line.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.hosting.emulator import Emulator
from emulator.hosting.batch import job_from_options, transform
from emulator.definition import EndpointDefinition
from emulator.containers.group import Progress
from emulator.errors import EmulatorError

DEFAULT_TOLERANCE = 1e-9  # relative, on floats; every other cell must be equal
SHOWN_MISMATCHES = 5


@dataclass(frozen=True)
class Mismatch:
    record: int  # 1-based
    column: int | None  # 1-based; None when the records differ in shape
    realtime: str
    batch: str


@dataclass
class ParityReport:
    records: int
    tolerance: float
    mismatches: list[Mismatch] = field(default_factory=list)
    # (real time, batch transform): the records each answered, when they are not one per input record
    counted: tuple[int, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def explain(self) -> str:
        if self.ok:
            return f"parity holds: {self.records} records, real time equals batch transform (relative tolerance {self.tolerance:g})."
        if self.counted is not None:
            alone, together = self.counted
            return (f"parity FAILS: for {self.records} records, real time (a request per record) answered {alone} "
                    f"records and batch transform (MultiRecord) {together}, so the answers cannot be paired. The "
                    "container answers once per request, not once per record. Fix: answer a line per record of a MultiRecord "
                    "request (or a {\"predictions\": [...]} document with an item per record, as TensorFlow Serving "
                    "does), or run the transform with BatchStrategy SingleRecord so each request holds one record.")
        differing = len({m.record for m in self.mismatches})
        lines = [f"parity FAILS: {differing} of {self.records} records differ between real time (one request "
                 f"per record) and batch transform (MultiRecord), beyond a relative tolerance of {self.tolerance:g}. "
                 "The model was trained on the batch output, so it will see different features in production. "
                 "Fix: make the transform depend on each row alone (fit statistics at training time, not per request), "
                 "and behave the same with and without SAGEMAKER_BATCH.",
                 f"{'record':>7} {'column':>7}  {'real time':>24}  {'batch':>24}"]
        for m in self.mismatches[:SHOWN_MISMATCHES]:
            lines.append(f"{m.record:>7} {m.column or '-':>7}  {m.realtime:>24.24}  {m.batch:>24.24}")
        return "\n".join(lines)


def check_parity(model: EndpointDefinition, data: Path, *, content_type: str = "text/csv", accept: str = "text/csv",
                 tolerance: float = DEFAULT_TOLERANCE, startup_timeout: float | None = None,
                 progress: Progress | None = None) -> ParityReport:
    """`data`: a file of records, one per line (CSV rows or JSON lines)."""
    return compare(model, data.read_bytes(), source=str(data), content_type=content_type, accept=accept,
                   tolerance=tolerance, startup_timeout=startup_timeout, progress=progress)


def compare(model: EndpointDefinition, data: bytes, *, source: str, content_type: str, accept: str | None,
            tolerance: float = DEFAULT_TOLERANCE, startup_timeout: float | None = None,
            progress: Progress | None = None) -> ParityReport:
    """Records, one per line, from `source` (named in errors). `accept` None: none is sent, as to a container that
    is not the last of a Serial pipeline."""
    records = [line for line in data.splitlines() if line.strip()]
    if not records:
        raise EmulatorError(f"{source} holds no records. Fix: give a file with one record per line.")
    with Emulator([model], startup_timeout=startup_timeout, progress=progress) as emulator:
        endpoint = emulator.endpoint
        realtime = [endpoint.invoke(record, content_type=content_type, accept=accept).body for record in records]
    with tempfile.TemporaryDirectory(prefix="sagemaker-emulator-parity-") as scratch:
        inputs, outputs = Path(scratch, "in"), Path(scratch, "out")
        inputs.mkdir()
        (inputs / "records").write_bytes(b"\n".join(records) + b"\n")
        job = job_from_options(model.name, inputs, outputs, content_type=content_type, accept=accept,
                               split_type="Line", batch_strategy="MultiRecord", assemble_with="Line")
        transform(model, job, inputs, outputs, startup_timeout=startup_timeout, progress=progress)
        batch = (outputs / "records.out").read_bytes()
    return judge(len(records), realtime, batch, tolerance)


def judge(records: int, realtime: list[bytes], batch: bytes, tolerance: float = DEFAULT_TOLERANCE) -> ParityReport:
    """`realtime`: the answer to each record alone; `batch`: the transform's output for all of them."""
    report = ParityReport(records=records, tolerance=tolerance)
    alone = [record for answer in realtime for record in answer_records(answer)]
    together = answer_records(batch)
    if len(together) != records or len(alone) != records:
        report.mismatches.append(Mismatch(1, None, f"{len(alone)} records", f"{len(together)} records"))
        report.counted = (len(alone), len(together))
        return report
    for number, (one, many) in enumerate(zip(alone, together), 1):
        report.mismatches.extend(_compare(number, one, many, tolerance))
    return report


RECORD_LISTS = ("predictions", "instances")  # TF Serving's answer, and its request as a container before it answers


def answer_records(answer: bytes) -> list[str]:
    """An answer's records: a line each; the items of a document `{"predictions": [...]}` or `{"instances": [...]}`
    (on one line, or the whole answer) each; any other JSON document is one record."""
    text = answer.decode("utf-8", "replace").strip()
    try:
        return _items(json.loads(text), text)  # one document, perhaps over several lines
    except ValueError:
        pass
    records: list[str] = []
    for line in (line.strip() for line in text.splitlines()):
        if line:
            try:
                records += _items(json.loads(line), line)
            except ValueError:
                records.append(line)  # a CSV row
    return records


def _items(value: Any, text: str) -> list[str]:
    if isinstance(value, dict) and len(value) == 1:
        [(name, items)] = value.items()
        if name in RECORD_LISTS and isinstance(items, list):
            return [json.dumps(item) for item in items]
    return [text] if text else []


def _compare(record: int, realtime: str, batch: str, tolerance: float) -> list[Mismatch]:
    left, right = _cells(realtime), _cells(batch)
    if len(left) != len(right):
        return [Mismatch(record, None, f"{len(left)} values", f"{len(right)} values")]
    return [Mismatch(record, column, str(a), str(b))
            for column, (a, b) in enumerate(zip(left, right), 1) if not _same(a, b, tolerance)]


def _cells(text: str) -> list[Any]:
    """A CSV row's fields, or a JSON value's leaves in order."""
    try:
        return list(_leaves(json.loads(text)))
    except ValueError:
        return text.split(",")


def _leaves(value: Any):
    if isinstance(value, dict):
        for key in value:
            yield from _leaves(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _same(a: Any, b: Any, tolerance: float) -> bool:
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance)
