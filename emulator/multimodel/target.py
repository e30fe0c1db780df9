"""A TargetModel (untrusted: the caller's header) as a path below the endpoint's prefix, and the opaque name
the container knows the model by."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

NAME_LENGTH = 24


class BadTargetModel(ValueError):
    """The TargetModel is not a relative path below the prefix; str(): why."""


def model_path(target: str) -> str:
    """`target` as a normalised relative path below the prefix (`a/./b.tar.gz` -> `a/b.tar.gz`)."""
    if not target or not target.strip():
        raise BadTargetModel("it is empty")
    if "\\" in target or "\x00" in target:
        raise BadTargetModel("it holds a backslash or a NUL character")
    path = PurePosixPath(target)
    if path.is_absolute():
        raise BadTargetModel("it is an absolute path; TargetModel is relative to the endpoint's ModelDataUrl")
    if ".." in path.parts:
        raise BadTargetModel("it climbs out of the endpoint's ModelDataUrl with '..'")
    if target.endswith("/") or not path.parts:
        raise BadTargetModel("it names a folder, not a model archive")
    return str(path)


def model_name(prefix: str, path: str) -> str:
    """The name the container loads the model under: derived from where the artifact is, never the caller's
    text (SageMaker's model_name is opaque too); letters and digits only, so it is safe in a URL and a folder."""
    return hashlib.sha256(f"{prefix}\n{path}".encode("utf-8", "surrogatepass")).hexdigest()[:NAME_LENGTH]
