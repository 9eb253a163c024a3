"""Deletions page fixtures: a real AppContext in a temp data dir on a clock the test moves (its opt-out tracker and
its portal reminders both), windows on it, an in-memory keyring, real simulated bridges on 127.0.0.1, and mailto:
and https: URLs caught instead of opening a mail client or a browser (shared parts in tests/clocked_fixtures.py)."""

from __future__ import annotations

import pytest
from clocked_fixtures import (  # noqa: F401
    caught_urls,
    clock,
    make_ctx,
    make_window,
    memory_keyring,
)
from gui_fixtures import bridges  # noqa: F401 - fixture for this folder


@pytest.fixture
def ctx(bridges, make_ctx, clock):  # noqa: F811 - the imported fixtures, by name
    """An AppContext whose portal reminders run on the test's clock too.

    It needs `bridges` first so that the bridges stop after the app has closed its connections to them (a
    stream the app reopens while a bridge shuts down would hold the bridge's shutdown up)."""
    from app.deletions.portal import PortalTracker, load_guides

    context = make_ctx()
    context.portal = PortalTracker(context.database, load_guides(), clock=clock)
    return context


@pytest.fixture
def opened_mail():
    """Stands in for the mail client: every mailto: URL opened (QUrl)."""
    with caught_urls("mailto") as urls:
        yield urls


@pytest.fixture
def opened_urls():
    """Stands in for the browser: every https URL opened, as text."""
    with caught_urls("https", lambda url: url.toString()) as urls:
        yield urls
