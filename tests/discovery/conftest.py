"""Fixtures for discovery tests."""

import pytest
from mdns_helpers import Responder


@pytest.fixture
def responder():
    r = Responder()
    yield r
    r.close()
