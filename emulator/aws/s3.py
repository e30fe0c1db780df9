"""Reading and writing S3 objects through boto3 (whichever S3 emulator.aws.clients picks), with errors
that name the object, the S3 reached, and the fix."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.aws import clients
from emulator.errors import EmulatorError

_CHUNK = 1 << 20
_SINGLE_PART_ETAG = re.compile(r"[0-9a-f]{32}")
_BUCKET = re.compile(r"[a-zA-Z0-9.\-_]{3,255}")  # S3 names, and the longer legacy ones botocore lets through
# Keys come from users and from listings of their buckets: valid UTF-8, at most 1024 bytes (S3's rule).
_MAX_KEY_BYTES = 1024


class S3Error(EmulatorError):
    """An S3 object cannot be read or written; says which, where, and how to fix it."""


@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str

    @classmethod
    def parse(cls, url: Any, field: str) -> S3Url:
        """`s3://bucket/key`; `field` names the request member in the error."""
        if not isinstance(url, str) or not url.startswith("s3://"):
            raise S3Error(f"{field}: {url!r} is not an S3 URL. Fix: write it as s3://bucket/key.")
        bucket, _, key = url[len("s3://"):].partition("/")
        if not _BUCKET.fullmatch(bucket):
            raise S3Error(f"{field}: {url!r} does not name a valid bucket. Fix: write it as s3://bucket/key with a "
                          "bucket name of 3-63 lowercase letters, digits, dots and hyphens.")
        if len(key.encode("utf-8", "surrogatepass")) > _MAX_KEY_BYTES:
            raise S3Error(f"{field}: the key of {url[:80]!r}... is longer than S3's {_MAX_KEY_BYTES} bytes. "
                          "Fix: use a shorter key.")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def child(self, relative: str) -> S3Url:
        """The object `relative` below this URL taken as a folder."""
        base = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return S3Url(self.bucket, base + relative)


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str  # without quotes


@dataclass(frozen=True)
class Downloaded:
    size: int
    sha256: str


def head(url: S3Url) -> ObjectInfo:
    access = clients.s3()
    try:
        answer = access.client.head_object(Bucket=url.bucket, Key=url.key)
    except Exception as exc:  # botocore raises ClientError, connection and credential errors: all mean the same here
        raise _failed("read", url, access, exc) from None
    return ObjectInfo(answer["ContentLength"], answer.get("ETag", "").strip('"'))


def download(url: S3Url, target: Path) -> Downloaded:
    """Stream an object to `target`, checking its length and (for a single-part upload) its MD5 ETag."""
    access = clients.s3()
    md5, sha256, size = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
    try:
        answer = access.client.get_object(Bucket=url.bucket, Key=url.key)
        with open(target, "wb") as out:
            for chunk in answer["Body"].iter_chunks(_CHUNK):
                out.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                size += len(chunk)
    except Exception as exc:
        raise _failed("read", url, access, exc) from None
    etag = answer.get("ETag", "").strip('"')
    if size != answer["ContentLength"] or (_SINGLE_PART_ETAG.fullmatch(etag) and etag != md5.hexdigest()):
        raise S3Error(f"{url} arrived damaged from {access.where}: {size} bytes with MD5 {md5.hexdigest()}, "
                      f"but S3 announced {answer['ContentLength']} bytes with ETag {etag}. Fix: download again; "
                      "if it persists, upload the object again.")
    return Downloaded(size, sha256.hexdigest())


def read(url: S3Url, limit: int) -> bytes:
    """A small object (a manifest) whole; refuses one over `limit` bytes."""
    access = clients.s3()
    try:
        answer = access.client.get_object(Bucket=url.bucket, Key=url.key)
        if answer["ContentLength"] > limit:
            answer["Body"].close()
            raise S3Error(f"{url} is larger than {limit} bytes. Fix: split it.")
        return answer["Body"].read()
    except S3Error:
        raise
    except Exception as exc:
        raise _failed("read", url, access, exc) from None


def list_keys(prefix: S3Url) -> Iterator[tuple[str, int]]:
    """(key, size) of every object whose key starts with the prefix, in key order."""
    access = clients.s3()
    try:
        for page in access.client.get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket, Prefix=prefix.key):
            for item in page.get("Contents", ()):
                yield item["Key"], item["Size"]
    except Exception as exc:
        raise _failed("list", prefix, access, exc) from None


def exists(url: S3Url) -> bool:
    """False only when S3 says there is no such object; any other failure raises."""
    access = clients.s3()
    try:
        access.client.head_object(Bucket=url.bucket, Key=url.key)
    except Exception as exc:
        if _describe(exc)[0] in ("NotFound", "NoSuchKey"):
            return False
        raise _failed("read", url, access, exc) from None
    return True


def write(url: S3Url, body: bytes, content_type: str | None = None) -> None:
    """One object from bytes in memory (an answer); `upload` streams a file."""
    access = clients.s3()
    try:
        access.client.put_object(Bucket=url.bucket, Key=url.key, Body=body,
                                 **({"ContentType": content_type} if content_type else {}))
    except Exception as exc:
        raise _failed("write", url, access, exc) from None


def upload(path: Path, url: S3Url) -> None:
    access = clients.s3()
    try:
        access.client.upload_file(os.fspath(path), url.bucket, url.key)
    except Exception as exc:
        raise _failed("write", url, access, exc) from None


def _failed(verb: str, url: S3Url, access: clients.S3Access, exc: Exception) -> S3Error:
    code, detail = _describe(exc)
    fix = _FIXES.get(code, "check the URL, the credentials and the S3 endpoint setting")
    return S3Error(f"cannot {verb} {url} on {access.where}: {code} ({detail}). Fix: {fix}; the emulator uses "
                   f"{clients.CHOICE_VARIABLE}=embedded|aws and AWS_ENDPOINT_URL_S3 to choose its S3.")


def _describe(exc: Exception) -> tuple[str, str]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or str(status)
        if code == "404":  # HEAD answers carry no body, so no code
            return "NotFound", "no such bucket or key"
        return code, error.get("Message") or f"HTTP {status}"
    return type(exc).__name__, str(exc)


_FIXES = {
    "NoSuchBucket": "create the bucket and upload the object to the S3 the emulator reads",
    "NoSuchKey": "upload the object, or correct the key",
    "NotFound": "upload the object, or correct the bucket and key",
    "AccessDenied": "use credentials allowed to access the object",
    "403": "use credentials allowed to access the object",
    "InvalidAccessKeyId": "configure valid AWS credentials",
    "EndpointConnectionError": "start that S3, or correct its endpoint URL",
    "NoCredentialsError": "configure AWS credentials, or use the emulator's embedded S3",
}
