"""Logging: a rotating UTF-8 file in the data directory plus stderr, set up once however often it is called."""

from __future__ import annotations

import logging
import logging.handlers
import sys

import pytest

from app.logging_setup import BACKUP_COUNT, MAX_BYTES, setup_logging, teardown_logging


@pytest.fixture(autouse=True)
def clean_logging():
    root_level = logging.getLogger().level
    yield
    teardown_logging()
    assert logging.getLogger().level == root_level


def ours() -> list[logging.Handler]:
    return [
        h for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler)
        or (type(h) is logging.StreamHandler and h.stream is sys.stderr)
    ]


def test_records_go_to_the_log_file_with_time_level_logger_and_thread(tmp_path):
    path = setup_logging(tmp_path)
    assert path == tmp_path / "logs" / "earmuff.log"

    logging.getLogger("earmuff.test").info("speaker found: Küche")
    logging.getLogger("earmuff.test").debug("not at INFO")
    for handler in ours():
        handler.flush()

    text = path.read_text(encoding="utf-8")
    line = text.strip().splitlines()[-1]
    assert "INFO" in line and "earmuff.test" in line and "[MainThread]" in line
    assert line.endswith("speaker found: Küche")
    assert line[:4].isdigit()  # starts with the date
    assert "not at INFO" not in text


def test_the_file_rotates_at_1_mb_keeping_5(tmp_path):
    setup_logging(tmp_path)
    (file_handler,) = [h for h in ours() if isinstance(h, logging.handlers.RotatingFileHandler)]
    assert (file_handler.maxBytes, file_handler.backupCount) == (MAX_BYTES, BACKUP_COUNT) == (1_000_000, 5)
    assert file_handler.encoding == "utf-8"


def test_stderr_shows_warnings_or_everything_when_verbose(tmp_path):
    setup_logging(tmp_path)
    (stderr_handler,) = [h for h in ours() if not isinstance(h, logging.FileHandler)]
    assert stderr_handler.level == logging.WARNING
    assert logging.getLogger().level == logging.INFO

    setup_logging(tmp_path, verbose=True)
    (stderr_handler,) = [h for h in ours() if not isinstance(h, logging.FileHandler)]
    assert stderr_handler.level == logging.DEBUG
    assert logging.getLogger().level == logging.DEBUG


def test_calling_it_twice_adds_no_handlers(tmp_path):
    before = len(logging.getLogger().handlers)
    setup_logging(tmp_path)
    setup_logging(tmp_path)
    assert len(logging.getLogger().handlers) == before + 2


def test_teardown_removes_and_closes_its_handlers(tmp_path):
    before = list(logging.getLogger().handlers)
    setup_logging(tmp_path)
    added = [h for h in logging.getLogger().handlers if h not in before]
    teardown_logging()
    teardown_logging()
    assert logging.getLogger().handlers == before
    file_handler = next(h for h in added if isinstance(h, logging.FileHandler))
    assert file_handler.stream is None  # closed
