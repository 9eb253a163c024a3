"""Where the bridge keeps its state: one data directory, chosen with --data-dir or a sensible default.

On a Pi the systemd unit passes /var/lib/earmuff-bridge (its StateDirectory). Elsewhere the per-user data
directory from platformdirs is used, and the simulated bridge keeps its own sub-directory there so a demo
never mixes with a real bridge's tokens and state.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "earmuff-bridge"
SYSTEM_DATA_DIR = Path("/var/lib/earmuff-bridge")


class DataDirError(Exception):
    """The data directory cannot be created or written to.

    Attributes:
        path: the directory concerned.
    """

    def __init__(self, path: Path, reason: OSError) -> None:
        detail = reason.strerror or str(reason)
        hint = " (run as the user that owns it, e.g. `sudo -u earmuff-bridge ...`, or pass --data-dir)"
        super().__init__(f"the data directory {path} is not usable: {detail}{hint}")
        self.path = path


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_data_dir(*, simulate: bool = False) -> Path:
    """/var/lib/earmuff-bridge if it exists and is writable, else the per-user data directory.

    With `simulate`, always `<per-user data dir>/simulated`.
    """
    if simulate:
        return user_data_dir() / "simulated"
    if SYSTEM_DATA_DIR.is_dir() and os.access(SYSTEM_DATA_DIR, os.W_OK | os.X_OK):
        return SYSTEM_DATA_DIR
    return user_data_dir()


def readable_data_dir(*, simulate: bool = False) -> Path:
    """The directory `pair-code` looks in by default: like default_data_dir, but reading is enough."""
    if simulate:
        return user_data_dir() / "simulated"
    if SYSTEM_DATA_DIR.is_dir():
        return SYSTEM_DATA_DIR
    return user_data_dir()


def prepare_data_dir(path: Path) -> Path:
    """Create the directory (mode 0700) if needed and check that it can be written; returns it absolute.

    Raises:
        DataDirError: it cannot be created or written to.
    """
    path = Path(path).expanduser().absolute()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir succeeds on a read-only mount or with the wrong owner: try a real write.
        with tempfile.TemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as error:
        raise DataDirError(path, error) from error
    return path


def write_private_file(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace `path` atomically with a 0600 file holding `data` (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # O_CREAT's mode only applies to a new file
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
