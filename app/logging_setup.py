"""Logging for the desktop app: a rotating file in the data directory, and warnings on stderr.

Logs hold times, counts and names; never audio or payloads (see DESIGN.md).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5

_installed: list[logging.Handler] = []
_previous_root_level: int | None = None


def log_file_path(data_dir: Path) -> Path:
    return Path(data_dir) / "logs" / "earmuff.log"


def setup_logging(data_dir: Path, verbose: bool = False) -> Path:
    """Send logs to `data_dir/logs/earmuff.log` (1 MB x 5, UTF-8) and to stderr.

    stderr shows warnings, or everything with `verbose`. Calling it again
    replaces the handlers it added before rather than adding more.
    Returns the log file's path. Raises OSError if the log file cannot be opened.
    """
    global _previous_root_level
    teardown_logging()
    path = log_file_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(LOG_FORMAT)

    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    file_handler.setFormatter(formatter)
    file_handler.setLevel(logging.DEBUG)

    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setFormatter(formatter)
    stderr_handler.setLevel(logging.DEBUG if verbose else logging.WARNING)

    root = logging.getLogger()
    _previous_root_level = root.level
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in (file_handler, stderr_handler):
        root.addHandler(handler)
        _installed.append(handler)
    return path


def teardown_logging() -> None:
    """Remove and close the handlers `setup_logging` added, and restore the root level. Safe to call twice."""
    global _previous_root_level
    root = logging.getLogger()
    while _installed:
        handler = _installed.pop()
        root.removeHandler(handler)
        handler.close()
    if _previous_root_level is not None:
        root.setLevel(_previous_root_level)
        _previous_root_level = None
