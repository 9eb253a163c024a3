"""Shared by the deletion tests (a module of its own: test folders are not packages, and conftest is not imported
by name): a clock the test moves and a bridge listener that also keeps voice deletion runs."""

from __future__ import annotations

import sys
from pathlib import Path

# WORKAROUND: test folders are not packages; the real-bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import Recorder  # noqa: E402

# 2026-11-27 12:00 UTC, a Friday.
START = 1_795_780_800.0


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RunRecorder(Recorder):
    """A Recorder that also keeps voice deletion runs, live and synced."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[tuple[str, dict]] = []
        self.runs_synced: list[tuple[str, list[dict]]] = []

    def deletion_run(self, bridge_id: str, data: dict) -> None:
        self._add(self.runs, (bridge_id, data))

    def deletion_runs_synced(self, bridge_id: str, records: list[dict]) -> None:
        self._add(self.runs_synced, (bridge_id, records))
