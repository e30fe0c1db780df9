"""Hostile model archives: each is refused with one ArtifactError, and nothing is written outside the cache.

Every test unpacks into `<tmp>/cache` with `<tmp>/outside` beside it, then checks that the tree under
<tmp> holds nothing new but the archive and, on success, the unpacked model inside the cache.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import artifacts
from emulator.artifacts import unpack
from emulator.errors import ArtifactError

Member = tuple[str, str, str]  # (kind, name, link target): kind is file, dir, symlink, hardlink, chr or fifo


def make_archive(path: Path, members: list[Member], file_size: int = 4) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for kind, name, target in members:
            info = tarfile.TarInfo(name)
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = target
            info.size = file_size if kind == "file" else 0
            tar.addfile(info, io.BytesIO(b"\0" * info.size) if kind == "file" else None)
    return path


def files_under(root: Path) -> set[str]:
    return {str(Path(folder, name).relative_to(root)) for folder, dirs, names in os.walk(root) for name in dirs + names}


def leads_outside(path: Path, folder: Path) -> bool:
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False  # a dangling link or a loop leads nowhere
    return real != folder and folder not in real.parents


@pytest.fixture
def area(tmp_path: Path) -> Path:
    (tmp_path / "cache").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path


def refused(area: Path, members: list[Member], **options) -> ArtifactError:
    archive = make_archive(area / "model.tar.gz", members)
    before = files_under(area)
    with pytest.raises(ArtifactError) as caught:
        unpack(archive, cache=area / "cache", **options)
    assert files_under(area) == before | {"cache/models"}, "something was written outside, or left half-unpacked"
    assert "Fix:" in str(caught.value)
    return caught.value


def test_a_plain_archive_unpacks(area: Path):
    archive = make_archive(area / "model.tar.gz", [("dir", "sub", ""), ("file", "sub/model.bin", ""),
                                                    ("symlink", "sub/latest", "model.bin"), ("hardlink", "copy", "sub/model.bin")])
    folder = unpack(archive, cache=area / "cache")
    assert (folder / "sub/latest").read_bytes() == (folder / "copy").read_bytes() == b"\0" * 4


@pytest.mark.parametrize("members, words", [
    ([("file", "../evil", "")], "outside the model folder"),
    ([("file", "a/../../evil", "")], "outside the model folder"),
    ([("file", "/tmp/evil", "")], "outside the model folder"),
    ([("symlink", "link", "/etc/passwd")], "is a link to '/etc/passwd'"),
    ([("symlink", "a/link", "../../outside")], "outside the model folder"),
    ([("hardlink", "link", "../outside/x")], "outside the model folder"),
    ([("hardlink", "link", "/etc/passwd")], "outside the model folder"),
    ([("chr", "null", "")], "device, FIFO or other special file"),
    ([("fifo", "pipe", "")], "device, FIFO or other special file"),
])
def test_unsafe_members_are_refused(area: Path, members, words):
    assert words in str(refused(area, members))


def test_a_link_through_a_link_is_refused(area: Path):
    """Each name looks harmless, but once `up` exists on disk, `up/../outside/evil` lands beside the cache."""
    refused(area, [("dir", "sub", ""), ("symlink", "up", "sub/.."), ("file", "up/../outside/evil", "")])
    refused(area, [("dir", "sub", ""), ("symlink", "up", "sub/.."), ("symlink", "up/x", "../outside")])


def test_a_tar_bomb_is_refused_before_writing(area: Path):
    archive = make_archive(area / "model.tar.gz", [("file", "big", "")], file_size=2 * 1024 * 1024)
    assert archive.stat().st_size < 64 * 1024  # zeros compress: small archive, big contents
    with pytest.raises(ArtifactError, match="a tar bomb"):
        unpack(archive, cache=area / "cache", max_bytes=1024 * 1024)
    assert not list((area / "cache/models").iterdir())


def test_too_many_members_are_refused(area: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(artifacts, "MAX_MEMBERS", 10)
    refused(area, [("file", f"f{i}", "") for i in range(11)])


def test_a_file_that_is_not_a_tar_archive(area: Path):
    (area / "model.tar.gz").write_bytes(b"not a tar file at all")
    with pytest.raises(ArtifactError, match="not a readable tar archive"):
        unpack(area / "model.tar.gz", cache=area / "cache")


segments = st.sampled_from(["a", "b", "..", ".", "", "outside", "evil"])
paths = st.lists(segments, min_size=1, max_size=4).map("/".join) | st.lists(segments, min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts))
members = st.tuples(st.sampled_from(["file", "dir", "symlink", "hardlink"]), paths, paths)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(archive_members=st.lists(members, min_size=1, max_size=5))
def test_any_archive_is_unpacked_inside_or_refused(tmp_path_factory: pytest.TempPathFactory, archive_members):
    area = tmp_path_factory.mktemp("fuzz")
    (area / "cache").mkdir()
    archive = make_archive(area / "model.tar.gz", archive_members)
    try:
        folder = unpack(archive, cache=area / "cache")
    except ArtifactError:
        assert files_under(area) <= {"model.tar.gz", "cache", "cache/models"}
        return
    for name in files_under(folder):
        assert not leads_outside(folder / name, folder.resolve())
    assert {n for n in files_under(area) if not n.startswith("cache/")} == {"model.tar.gz", "cache"}
