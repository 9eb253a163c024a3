"""Deletions page fixtures: a real AppContext in a temp data dir on a clock the test moves, windows on it,
an in-memory keyring, and mailto: URLs caught instead of opening a mail client (shared parts in
tests/clocked_fixtures.py)."""

from __future__ import annotations

import pytest
from clocked_fixtures import (  # noqa: F401
    caught_urls,
    clock,
    ctx,
    make_ctx,
    make_window,
    memory_keyring,
)


@pytest.fixture
def opened_mail():
    """Stands in for the mail client: every mailto: URL opened (QUrl)."""
    with caught_urls("mailto") as urls:
        yield urls
