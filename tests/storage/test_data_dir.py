"""The data directory: created on demand, absolute, and a clear error when it cannot be used."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from app.paths import DataDirError, resolve_data_dir


def test_an_override_is_created_with_its_parents(tmp_path):
    target = tmp_path / "a" / "b" / "earmuff-data"
    assert resolve_data_dir(target) == target
    assert target.is_dir()
    assert list(target.iterdir()) == []  # the write probe leaves nothing behind


def test_a_relative_override_comes_back_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    resolved = resolve_data_dir("data")
    assert resolved.is_absolute()
    assert resolved == tmp_path / "data"


def test_an_existing_directory_is_fine(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    assert resolve_data_dir(str(tmp_path)) == tmp_path
    assert (tmp_path / "keep.txt").read_text() == "x"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_DATA_HOME is how Linux chooses it")
@pytest.mark.parametrize("override", [None, ""])
def test_without_an_override_the_platform_folder_is_used(tmp_path, monkeypatch, override):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir(override) == tmp_path / "xdg" / "earmuff"
    assert (tmp_path / "xdg" / "earmuff").is_dir()


def test_a_file_in_the_way_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    with pytest.raises(DataDirError) as caught:
        resolve_data_dir(blocker / "earmuff")
    message = str(caught.value)
    assert str(blocker / "earmuff") in message
    assert caught.value.reason.strerror and caught.value.reason.strerror in message
    assert caught.value.path == blocker / "earmuff"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(DataDirError, match="locked"):
            resolve_data_dir(locked)
    finally:
        locked.chmod(0o700)


def test_the_error_is_an_exception_with_the_path(tmp_path):
    error = DataDirError(Path("/x/y"), PermissionError(13, "Permission denied"))
    assert "/x/y" in str(error) and "Permission denied" in str(error)
