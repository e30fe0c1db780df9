"""Model artifacts: unpack a model.tar.gz safely into a cached folder to mount at /opt/ml/model.

Archives are checked member by member before anything is written: no absolute
paths, no `..`, no link leaving the folder, no device files, and a size limit
against tar bombs. Unpacked folders are cached by the archive's path, size and
modification time, so a restart does not unpack again. s3:// artifacts are fetched once and kept by
content (emulator.aws.object_cache).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tarfile
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from emulator.errors import ArtifactError, EmulatorError
from emulator.settings import Settings

# Where a container finds its model data: a single model's folder, or a multi-model container's models, one
# folder each (emulator.multimodel).
MODEL_MOUNT, MODELS_MOUNT = "/opt/ml/model", "/opt/ml/models"
DEFAULT_MAX_UNPACKED_BYTES = 20 * 1024**3
MAX_MEMBERS = 200_000
# tarfile's "data" filter came with Python 3.11.4 and 3.10.12 (Debian 12 has 3.11.2): without it,
# our own member checks below are the only guard.
DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
FILTER_ERRORS = getattr(tarfile, "FilterError", ())


def cache_dir() -> Path:
    return Settings.from_environment().cache_folder


def model_folder(model_data: str | None, *, max_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> Path | None:
    """The local folder to mount at /opt/ml/model for a container's ModelDataUrl."""
    if model_data is None:
        return None
    if model_data.startswith("s3://"):
        model_data = str(_download_s3(model_data))
    path = Path(model_data)
    if path.is_dir():
        return path
    return unpack(path, max_bytes=max_bytes)


GZIP_MAGIC = b"\x1f\x8b"


def sagemaker_refusal(model_data: str | None) -> str | None:
    """Why SageMaker would refuse a local ModelDataUrl the emulator accepts (a folder, a tar that is not
    gzipped), or None. SageMaker needs a gzip-compressed tarball (CreateModel's ModelDataUrl; S3 objects
    are not checked here)."""
    if model_data is None or model_data.startswith("s3://"):
        return None
    path = Path(model_data)
    if path.is_dir():
        what = "is a folder"
    else:
        try:
            with path.open("rb") as stream:
                if stream.read(2) == GZIP_MAGIC:
                    return None
        except OSError:
            return None  # the start reports the unreadable file
        what = "is not gzip-compressed"
    return (f"ModelDataUrl {model_data} {what}: the emulator mounts it, but SageMaker needs a model.tar.gz "
            f"(fix: tar -czf model.tar.gz -C {path if path.is_dir() else 'FOLDER'} .).")


def warn_sagemaker_refusals(model_data: Iterable[str | None]) -> None:
    """Tell the user, on stderr, of each ModelDataUrl that works here but not on SageMaker."""
    for url in model_data:
        if refusal := sagemaker_refusal(url):
            print(f"warning: {refusal}", file=sys.stderr, flush=True)


def unpack(archive: Path, *, max_bytes: int = DEFAULT_MAX_UNPACKED_BYTES, cache: Path | None = None) -> Path:
    stat = archive.stat()
    key = hashlib.sha256(f"{archive.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]
    target = (cache or cache_dir()) / "models" / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    try:
        extract(archive, staging, max_bytes)
        os.chmod(staging, 0o755)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # another process won the race: use theirs
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def extract(archive: Path, dest: Path, max_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> None:
    """Unpack `archive` into the folder `dest`, every member checked first (also the init container of an exported pod)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _checked_members(tar, archive, max_bytes)
            # The "data" filter re-checks what we checked, as a second guard, and on disk: it also
            # sees a path that leaves the folder through a link unpacked before it.
            tar.extractall(dest, members=members, **DATA_FILTER)
    except ArtifactError:
        raise
    except FILTER_ERRORS as exc:
        raise _unsafe(archive, str(exc)) from None
    except (tarfile.TarError, EOFError, OSError, ValueError, KeyError) as exc:  # KeyError: a link to a missing member
        raise ArtifactError(f"{archive} is not a readable tar archive ({exc}). "
                            "Fix: pack the model with `tar -czf model.tar.gz -C model_dir .`.") from None


def _checked_members(tar: tarfile.TarFile, archive: Path, max_bytes: int) -> list[tarfile.TarInfo]:
    members: list[tarfile.TarInfo] = []
    seen = _Seen()
    total = 0
    for member in tar:
        if len(members) >= MAX_MEMBERS:
            raise ArtifactError(f"{archive} holds more than {MAX_MEMBERS} files. Fix: pack fewer, larger files.")
        _check_member(member, archive, seen)
        total += member.size
        if total > max_bytes:
            raise ArtifactError(f"{archive} unpacks to more than {max_bytes} bytes (a tar bomb?). "
                                "Fix: check the archive, or raise the limit (max_unpacked_bytes).")
        seen.add(member)
        members.append(member)
    return members


@dataclass
class _Seen:
    """What the members so far put on disk, by normalized name."""
    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)  # also those made implicitly, as parents

    def add(self, member: tarfile.TarInfo) -> None:
        name = posixpath.normpath(member.name)
        if member.isfile():
            self.files.add(name)
        if member.isdir():
            self.folders.add(name)
        self.folders.update(str(parent) for parent in PurePosixPath(name).parents)


def _check_member(member: tarfile.TarInfo, archive: Path, seen: _Seen) -> None:
    name, link = member.name, member.linkname
    depth = _depth(name)
    if depth is None or (depth == 0 and not member.isdir()):
        raise _unsafe(archive, f"member {name!r} would be written outside the model folder")
    if not member.isdir() and (name.endswith(("/", "/.", "/..")) or posixpath.normpath(name) in seen.folders):
        # tarfile cannot put a file or link there; for a link it then copies the link's target instead,
        # which can be the link itself: endless recursion.
        raise _unsafe(archive, f"member {name!r} would take the place of a folder")
    if member.issym() or member.islnk():
        base = PurePosixPath(name).parent if member.issym() else PurePosixPath(".")
        if _depth(str(base / link)) is None:
            raise _unsafe(archive, f"member {name!r} is a link to {link!r}, outside the model folder")
    if member.islnk() and posixpath.normpath(link) not in seen.files:
        # tar writes hard links to earlier files only; tarfile recurses without end on others (to itself, to a link).
        raise _unsafe(archive, f"member {name!r} is a hard link to {link!r}, which is not an earlier file of the archive")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise _unsafe(archive, f"member {name!r} is a device, FIFO or other special file")


def _unsafe(archive: Path, detail: str) -> ArtifactError:
    return ArtifactError(f"{archive}: {detail}; nothing was unpacked. "
                         "Fix: pack the model with relative paths only, e.g. `tar -czf model.tar.gz -C model_dir .`.")


def _depth(relative: str) -> int | None:
    """How many folders below the model folder a path ends; None when it is absolute or climbs above it."""
    path = PurePosixPath(relative)  # drops "." parts
    if path.is_absolute():
        return None
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else 1
        if depth < 0:
            return None
    return depth


def _download_s3(url: str) -> Path:
    """An s3:// artifact, fetched once into the cache (boto3: the optional `s3` extra)."""
    from emulator.aws import object_cache  # noqa: PLC0415 - only for s3:// artifacts

    try:
        return object_cache.fetch(url, cache_dir() / "s3")
    except EmulatorError as exc:
        raise ArtifactError(str(exc)) from None
