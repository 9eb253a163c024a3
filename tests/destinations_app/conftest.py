"""Fixtures for the app side of destinations: real simulated bridges (TLS on 127.0.0.1), an in-memory keyring, and
BridgeManagers (closed after each test) whose recorder also hears destination news."""

from __future__ import annotations

import gc
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

# WORKAROUND: test folders are not packages; the real-bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import Recorder, bridges, memory_keyring  # noqa: E402, F401 - fixtures for this folder

from app.bridge_client import BridgeManager  # noqa: E402
from app.bridge_client.pairing import probe  # noqa: E402
from app.bridge_client.stream import Backoff  # noqa: E402
from app.secrets import KeyringSecretStore  # noqa: E402


class NewsRecorder(Recorder):
    """A Recorder that also keeps new-organisation news and block changes."""

    def __init__(self) -> None:
        super().__init__()
        self.news: list = []
        self.block_changes: list[tuple[str, str]] = []

    def new_destination_org(self, news) -> None:
        self._add(self.news, news)

    def blocks_changed(self, bridge_id: str, speaker_id: str) -> None:
        self._add(self.block_changes, (bridge_id, speaker_id))


@pytest.fixture
def bridge(bridges):  # noqa: F811 - the imported fixture, by name
    return bridges.start(destination_options={"learning_s": 0.0})  # news at once, not after an hour


@pytest.fixture
def connected(memory_keyring, bridge):  # noqa: F811 - the imported fixture, by name
    """(manager, recorder, bridge id) for a manager paired with `bridge` and online."""
    manager = BridgeManager(KeyringSecretStore(), backoff=lambda: Backoff(0.05, 0.4, jitter=0.0),
                            client_name="Anna's laptop")
    recorder = NewsRecorder()
    manager.add_listener(recorder)
    manager.start()
    record = manager.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    recorder.wait_for(lambda: (s := manager.status(record.bridge_id)) and s.online and len(s.speakers) == 3)
    yield manager, recorder, record.bridge_id
    manager.close()
    # WORKAROUND: as in tests/bridge_client/conftest.py, a client TLS socket is sometimes left to the collector.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
