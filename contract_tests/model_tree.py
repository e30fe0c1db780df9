"""A writable copy of a model folder, and a fingerprint of it, to catch a container writing to /opt/ml/model."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

CHUNK_BYTES = 1 << 20
Fingerprint = dict[str, str]  # relative path -> content digest, "folder", or "link to TARGET"


def writable_copy(folder: Path, into: Path) -> Path:
    """Copy `folder` to `into`, writable by any user: a container running as another user must not be
    stopped by permissions, so that any write it attempts shows up in the fingerprint."""
    shutil.copytree(folder, into, symlinks=True)
    for path in [into, *into.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o777 if path.is_dir() else path.stat().st_mode | 0o666)
    return into


def fingerprint(folder: Path) -> Fingerprint:
    found: Fingerprint = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root, name)
            relative = str(path.relative_to(folder))
            if path.is_symlink():
                found[relative] = f"link to {os.readlink(path)}"
            elif path.is_dir():
                found[relative] = "folder"
            else:
                found[relative] = _digest(path)
    return found


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(CHUNK_BYTES), b""):  # models can be gigabytes: never all in memory
            digest.update(chunk)
    return digest.hexdigest()


def changes(before: Fingerprint, after: Fingerprint) -> list[str]:
    """`added x`, `removed y`, `changed z`, sorted by path."""
    paths = sorted(before.keys() | after.keys())
    return [f"{'added' if path not in before else 'removed' if path not in after else 'changed'} {path}"
            for path in paths if before.get(path) != after.get(path)]
