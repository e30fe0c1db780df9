"""S3 objects (model artifacts) fetched once, verified, and kept by content.

An index maps each URL, on the S3 it was read from, to the ETag and size it had and the SHA-256 of
its bytes; the bytes are kept once, under blobs/<sha256>. A later fetch asks S3 only for the ETag:
an unchanged object reuses its blob. When S3 cannot answer (the embedded S3 after a restart forgot
its objects, no network), the last version fetched is used, so endpoints come back from the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from emulator.aws import clients, s3

_log = logging.getLogger(__name__)


def fetch(url: str, cache: Path, *, field: str = "ModelDataUrl") -> Path:
    """The local copy of an s3:// object, downloaded only when S3 holds a version not cached yet."""
    location = s3.S3Url.parse(url, field)
    index = cache / "index" / (hashlib.sha256(f"{clients.s3().where}|{location}".encode()).hexdigest() + ".json")
    cached = _read_index(index)
    try:
        info = s3.head(location)
    except s3.S3Error as exc:
        if cached is None or not _blob(cache, cached["sha256"]).is_file():
            raise
        _log.warning("%s Using the copy fetched before (ETag %s).", exc, cached["etag"])
        return _blob(cache, cached["sha256"])
    if cached and cached["etag"] == info.etag and cached["size"] == info.size and _blob(cache, cached["sha256"]).is_file():
        return _blob(cache, cached["sha256"])
    blobs = cache / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=blobs, prefix=".fetch-")
    os.close(fd)
    try:
        got = s3.download(location, Path(temp))
        os.replace(temp, _blob(cache, got.sha256))  # same bytes, same name: a concurrent fetch is harmless
    finally:
        Path(temp).unlink(missing_ok=True)
    _write_index(index, {"url": str(location), "etag": info.etag, "size": got.size, "sha256": got.sha256})
    return _blob(cache, got.sha256)


def _blob(cache: Path, sha256: str) -> Path:
    return cache / "blobs" / sha256


def _read_index(path: Path) -> dict | None:
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and {"etag", "size", "sha256"} <= entry.keys() else None


def _write_index(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".index-")
    with os.fdopen(fd, "w") as out:
        json.dump(entry, out)
    os.replace(temp, path)
