"""The embedded S3, durable: every change a client makes is written to the state folder before the client is
answered, and the objects are put back into moto when the owner starts again.

moto keeps S3 in memory and has no persistence of its own, and an S3 server that stores on disk (MinIO and the
like) is a binary this project cannot install from PyPI. So the edge that mounts moto mirrors it: after moto
answers a changing request (PUT, POST, DELETE) with success, the bucket or object the request names is read back
from moto's backend and written to disk (data, then its metadata, each fsynced and renamed into place), and only
then is the answer sent. A PutObject the client saw succeed is on disk, even if the owner is killed next.

Kept: buckets (with their region) and each object's current bytes, content type and user metadata. Not kept:
versions, ACLs, tags, bucket policies and configurations, unfinished multipart uploads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CHANGING = ("PUT", "POST", "DELETE")
BUCKET_FILE = "bucket.json"
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's rule: also a safe folder name


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID  # noqa: PLC0415 - heavy, and only once S3 is used
    from moto.s3.models import s3_backends  # noqa: PLC0415

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


class DurableS3:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()  # one request at a time: a change is on disk before anyone sees it

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """`app` (moto's server), with each successful change mirrored before it is answered. Requests take turns:
        what a reader sees (an object in a listing, say) is on disk already, whoever wrote it."""
        def durable(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            answered: list[Any] = []
            with self._lock:
                body = b"".join(app(environ, lambda status, headers, *rest: answered.append((status, headers, rest))))
                status, headers, rest = answered[0]
                if environ.get("REQUEST_METHOD") in CHANGING and status[:1] == "2":
                    bucket, key = _named(environ.get("PATH_INFO", ""))
                    if bucket:
                        self._mirror(bucket, key)
            start_response(status, headers, *rest)
            return [body]
        return durable

    def _mirror(self, bucket: str, key: str | None) -> None:
        """Make the disk say what moto says of `bucket` (all of it when `key` is None) or of one object."""
        if not BUCKET_NAME.fullmatch(bucket):
            return  # moto refused it: nothing changed
        moto_bucket = _backend().buckets.get(bucket)
        folder = self.folder / bucket
        if moto_bucket is None:
            shutil.rmtree(folder, ignore_errors=True)
            return
        if not (folder / BUCKET_FILE).exists():
            folder.mkdir(parents=True, exist_ok=True)
            _write(folder / BUCKET_FILE, json.dumps({"name": bucket, "region": moto_bucket.region_name}).encode())
        keys = [key] if key is not None else sorted(set(moto_bucket.keys.keys()) | set(self._keys_on_disk(folder)))
        for name in keys:
            self._mirror_object(folder, moto_bucket, name)

    def restore(self) -> int:
        """Put every mirrored bucket and object back into moto; returns how many objects."""
        buckets = sorted(self.folder.glob(f"*/{BUCKET_FILE}")) if self.folder.is_dir() else []
        if not buckets:
            return 0
        backend, count = _backend(), 0
        for bucket_file in buckets:
            bucket = json.loads(bucket_file.read_text())
            if bucket["name"] not in backend.buckets:
                backend.create_bucket(bucket["name"], bucket["region"])
            for meta_file in sorted(bucket_file.parent.glob("*.meta")):
                meta = json.loads(meta_file.read_text())
                value = meta_file.with_suffix(".data").read_bytes()
                backend.put_object(bucket["name"], meta["key"], value).set_metadata(meta["metadata"], replace=True)
                count += 1
        return count

    def _mirror_object(self, folder: Path, moto_bucket: Any, key: str) -> None:
        stem = folder / hashlib.sha256(key.encode()).hexdigest()
        found = moto_bucket.keys.get(key)
        meta_file = stem.with_suffix(".meta")
        if found is None or getattr(found, "is_delete_marker", False):
            meta_file.unlink(missing_ok=True)
            stem.with_suffix(".data").unlink(missing_ok=True)
            return
        meta = {"key": key, "etag": found.etag, "metadata": dict(found.metadata)}
        if meta_file.exists() and json.loads(meta_file.read_text()) == meta:
            return  # unchanged (a bucket-wide mirror, or a part of a multipart upload that is not complete)
        _write(stem.with_suffix(".data"), found.value)  # the data first: a meta file always has its data
        _write(meta_file, json.dumps(meta).encode())

    @staticmethod
    def _keys_on_disk(folder: Path) -> list[str]:
        return [json.loads(meta.read_text())["key"] for meta in folder.glob("*.meta")]


def _named(path_info: str) -> tuple[str | None, str | None]:
    """The bucket and key of a path-style request (`/bucket` or `/bucket/key`; the key None for the bucket)."""
    path = path_info.encode("latin-1").decode("utf-8", "replace")  # WSGI's PATH_INFO holds the raw bytes
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket or None, key or None


def _write(path: Path, data: bytes) -> None:
    """`path` holds `data` whole, on disk, or is as it was."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
