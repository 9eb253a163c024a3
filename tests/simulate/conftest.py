"""Fixtures for the simulated home: a plain zeroconf browser on loopback (the suite checks thread leaks)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

Event = tuple[ServiceStateChange, str]


class Sightings:
    """What a ServiceBrowser reported, in order, with a way to wait for something to show up.

    Attributes:
        events: (state change, full service name) pairs, oldest first.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = threading.Condition()

    def __call__(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        with self._changed:
            self.events.append((state_change, name))
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.events), timeout)

    def wait_seen(self, state: ServiceStateChange, names: set[str], timeout: float = 10.0) -> bool:
        """Wait until every name in `names` had a `state` event."""
        return self.wait_for(lambda events: names <= {n for s, n in events if s is state}, timeout)


@pytest.fixture
def browser_zc() -> Iterator[Zeroconf]:
    """The test's own Zeroconf on loopback, as any other program on the machine would have."""
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    yield zc
    zc.close()


@pytest.fixture
def browse(browser_zc: Zeroconf) -> Iterator[Callable[[list[str]], Sightings]]:
    """Start a ServiceBrowser for some service types; returns what it sees."""
    browsers: list[ServiceBrowser] = []

    def start(types: list[str]) -> Sightings:
        sightings = Sightings()
        browsers.append(ServiceBrowser(browser_zc, sorted(set(types)), handlers=[sightings]))
        return sightings

    yield start
    for browser in browsers:
        browser.cancel()
