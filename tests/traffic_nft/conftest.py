"""Fixtures for the traffic-source tests: the three-namespace lab (root only) and the bridge's table in it."""

from __future__ import annotations

import pytest
from netns_lab import Lab, make_table, netns_unavailable


@pytest.fixture(scope="module")
def lab():
    """speaker / bridge / internet namespaces, made once per test module and always deleted afterwards."""
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(reason)
    made = Lab()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def table(lab):
    """The bridge's table for the speaker, known by its MAC only; installed, and removed afterwards."""
    made = make_table(lab)
    made.install()
    yield made
    made.remove()
    made.close()
