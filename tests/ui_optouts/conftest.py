"""Opt-outs page fixtures: a real AppContext in a temp data dir whose tracker runs on a clock the test moves,
windows on it, a real keyring backend (in memory), real bridges on 127.0.0.1, and opened URLs caught (shared parts in
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
from gui_fixtures import bridges  # noqa: F401 - fixture for this folder


@pytest.fixture
def window(make_window, ctx, qtbot):  # noqa: F811 - the imported fixture, by name
    window = make_window(ctx)
    window.show()
    qtbot.waitExposed(window)
    window.show_page("optouts")
    return window


@pytest.fixture
def page(window):
    return window.optouts_page


@pytest.fixture
def opened_urls():
    """Stands in for the browser: every https URL opened, as text."""
    with caught_urls("https", lambda url: url.toString()) as urls:
        yield urls
