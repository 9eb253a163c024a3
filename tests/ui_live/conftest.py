"""Live page fixtures: a real AppContext in a temp data dir, windows on it, and real bridges on 127.0.0.1
(shared, from tests/gui_fixtures.py)."""

from __future__ import annotations

import pytest
from gui_fixtures import bridges, ctx, make_window, memory_keyring  # noqa: F401 - fixtures for this folder


@pytest.fixture
def window(make_window, qtbot):
    window = make_window()
    window.resize(1280, 900)
    window.show()
    qtbot.waitExposed(window)
    return window
