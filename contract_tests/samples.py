"""Sample request bodies: read from `PATH[:CONTENT_TYPE]`, or taken from what a pipeline handed a container."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONTENT_TYPES_BY_EXTENSION = {".csv": "text/csv", ".json": "application/json"}


class SampleError(ValueError):
    """A --sagemaker-sample that cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class Sample:
    name: str
    body: bytes
    content_type: str | None  # None: sent without a Content-Type (a container in a chain may get none)

    def __str__(self) -> str:
        return f"sample {self.name} ({self.content_type or 'no Content-Type'}, {len(self.body)} bytes)"


def load(spec: str, option: str = "--sagemaker-sample") -> Sample:
    """`PATH` or `PATH:CONTENT_TYPE`; a path that exists as given wins, so a path may contain ':'."""
    path, content_type = Path(spec), None
    if not path.is_file() and ":" in spec:
        head, _, tail = spec.rpartition(":")
        if "/" in tail:
            path, content_type = Path(head), tail
    if not path.is_file():
        raise SampleError(f"{option} {spec}: no such file. Fix: give the path of a request body, "
                          "optionally followed by :CONTENT_TYPE.")
    content_type = content_type or CONTENT_TYPES_BY_EXTENSION.get(path.suffix.lower())
    if content_type is None:
        known = ", ".join(f"{ext} {ctype}" for ext, ctype in CONTENT_TYPES_BY_EXTENSION.items())
        raise SampleError(f"{option} {spec}: cannot tell its content type from the extension (known: "
                          f"{known}). Fix: append it, e.g. {spec}:application/x-npy.")
    return Sample(path.name, path.read_bytes(), content_type)
