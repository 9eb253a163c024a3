"""Shared by the Activity, Overview and alert tests: a bridge as the adapter reports it, and activation records."""

from __future__ import annotations

import time

from app.activations import ActivationRecord
from app.bridge_client import BridgeStatus, Connection, SpeakerState

BRIDGE = "b1"
KITCHEN = (BRIDGE, "kitchen")
BEDROOM = (BRIDGE, "bedroom")


def bridge_status(connection: Connection = Connection.ONLINE, *, kitchen: SpeakerState | None = None,
                  last_contact: float | None = None, problem: str = "") -> BridgeStatus:
    """The demo bridge as the adapter reports it: a kitchen speaker (sense line) and a bedroom one."""
    return BridgeStatus(
        bridge_id=BRIDGE, name="Demo bridge", host="127.0.0.1", port=8443, fingerprint="ab" * 32,
        connection=connection, last_contact=last_contact if last_contact is not None else time.time(),
        problem=problem,
        speakers=(kitchen or SpeakerState("kitchen", "Kitchen speaker", True, "confirmed", True, has_sense=True),
                  SpeakerState("bedroom", "Bedroom speaker", False, "unconfirmed")))


def activation(number: int, key: tuple[str, str], start: float, *, flags=(), bytes_up: int = 221_000,
               seconds: float = 6.0, name: str | None = None) -> ActivationRecord:
    bridge_id, speaker_id = key
    return ActivationRecord(bridge_id=bridge_id, activation_id=number, speaker_id=speaker_id,
                            speaker_name=name or f"{speaker_id.title()} speaker", start=start, end=start + seconds,
                            bytes_up=bytes_up, peak_rate=bytes_up / 3, confidence=0.97, flags=frozenset(flags))
