"""Where Earmuff keeps its files: the data directory, injectable with --data-dir."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "earmuff"


class DataDirError(Exception):
    """The data directory cannot be created or written to.

    Attributes:
        path: the directory concerned.
        reason: the OS error.
    """

    def __init__(self, path: Path, reason: OSError) -> None:
        detail = reason.strerror or str(reason)
        super().__init__(f"Earmuff cannot use its data folder {path}: {detail}")
        self.path = path
        self.reason = reason


def default_data_dir() -> Path:
    """The platform's per-user data folder for Earmuff (not created)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory, created if needed, as an absolute path.

    `override` (from --data-dir) wins; an empty string counts as not given.
    Raises DataDirError if the directory cannot be created or written to.
    """
    path = Path(override).expanduser() if override not in (None, "") else default_data_dir()
    path = path.absolute()
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Creating a directory can succeed on a read-only mount or with the wrong owner; try a write.
        with tempfile.TemporaryFile(dir=path, prefix=".earmuff-write-test-"):
            pass
    except OSError as error:
        raise DataDirError(path, error) from error
    return path
