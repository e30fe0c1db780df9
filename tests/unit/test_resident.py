"""The resident emulator's pure parts: whose it is, where it answers, what crosses to it."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from emulator.hosting import resident
from emulator.errors import EmulatorError


def test_the_scope_changes_with_the_file_the_options_and_the_session(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_EMULATOR_SESSION", "one")
    base = resident.scope(tmp_path / "a.yaml", {"startup_timeout": None})
    assert resident.scope(tmp_path / "a.yaml", {"startup_timeout": None}) == base
    assert resident.scope(tmp_path / "b.yaml", {"startup_timeout": None}) != base
    assert resident.scope(tmp_path / "a.yaml", {"startup_timeout": 60}) != base
    monkeypatch.setenv("SAGEMAKER_EMULATOR_SESSION", "two")
    assert resident.scope(tmp_path / "a.yaml", {"startup_timeout": None}) != base


def test_only_json_options_cross_to_a_resident():
    assert resident.serializable({"startup_timeout": 60, "names": ["a"], "docker_host": None})
    assert not resident.serializable({"progress": print})


def test_the_socket_is_short_and_private_whatever_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    deep = tmp_path / ("x" * 200) / "resident" / "0123456789abcdef"
    path = resident.socket_path(deep)
    assert len(str(path)) < len(str(tmp_path)) + 60
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert resident.socket_path(deep) == path and resident.socket_path(deep.parent) != path


def test_a_runtime_folder_others_may_enter_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    shared = tmp_path / f"sagemaker-emulator-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(EmulatorError, match="others may enter it"):
        resident.socket_path(tmp_path / "resident")


def test_no_resident_answers_none(tmp_path, monkeypatch):
    # A short runtime folder, as /run/user/UID is: the socket's path must fit in 107 bytes, and an xdist
    # worker's tmp_path is longer than that leaves room for.
    runtime = tempfile.TemporaryDirectory(prefix="run-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime.name)
    assert resident.ask(tmp_path / "never-started", "attach") is None
    assert resident.stop(tmp_path / "never-started") is False


def test_prune_finds_no_resident_in_an_empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_EMULATOR_CACHE", str(tmp_path))
    assert resident.stop_unheld() == ([], [])
    assert resident.folders_of(Path("pipeline.yaml")) == []
