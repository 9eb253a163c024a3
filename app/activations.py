"""Activations as the app keeps them: every time a speaker sent a voice-sized upload, from any bridge.

The bridge detects and flags them (device_bridge.traffic.monitor); the app caches them in its own
database (app.storage.activations_repo) so the Activity page works with a bridge offline and keeps
what a bridge has pruned. Flags are explained here once, in plain words, for every page and alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: What each flag means, for people: the title is the short form (table cells, notification titles).
FLAG_TITLE: dict[str, str] = {
    "while_muted": "Uploaded while muted",
    "during_schedule": "Uploaded in quiet time",
    "no_speech_nearby": "Nobody was speaking",
    "deletion_command": "Earmuff's deletion command",
}
FLAG_TEXT: dict[str, str] = {
    "while_muted": "Uploaded while muted: the mute did not hold. The speaker sent audio-sized data to the "
                   "internet while Earmuff had its microphone switched off.",
    "during_schedule": "Uploaded during quiet time: a schedule said this speaker should be muted then, and it "
                       "sent a recording anyway.",
    "no_speech_nearby": "Nobody was speaking: the room microphone heard no speech when the upload began, so "
                        "this was probably a false wake-up (a misactivation).",
    "deletion_command": "Earmuff's deletion command: the bridge had just said Earmuff's scheduled deletion phrase "
                        "to this speaker, and this upload is the speaker sending it on. It shows the command was "
                        "heard; nothing is wrong.",
}
#: Flags in order of how much they matter (the first one present is an activation's headline).
FLAG_ORDER = ("while_muted", "during_schedule", "no_speech_nearby", "deletion_command")
#: Flags that explain an upload without saying anything went wrong: they do not make it "flagged" and never alert.
INFO_FLAGS = frozenset({"deletion_command"})
#: The flag that means the protection itself failed: critical everywhere.
CRITICAL_FLAG = "while_muted"


def problem_flags(flags: frozenset[str] | set[str]) -> frozenset[str]:
    """The flags that say something is wrong (all but INFO_FLAGS)."""
    return frozenset(flags) - INFO_FLAGS


def order_flags(flags: frozenset[str] | set[str]) -> list[str]:
    """Flags most important first (unknown ones last, by name)."""
    return [f for f in FLAG_ORDER if f in flags] + sorted(set(flags) - set(FLAG_ORDER))


class FlaggedUpload:
    """What a finished activation and one still in progress share: whose it is, and its flags."""

    bridge_id: str
    speaker_id: str
    flags: frozenset[str]

    @property
    def key(self) -> tuple[str, str]:
        """(bridge_id, speaker_id): the speaker it belongs to."""
        return self.bridge_id, self.speaker_id

    @property
    def flagged(self) -> bool:
        """Something is wrong with it (informational flags such as "deletion_command" do not count)."""
        return bool(problem_flags(self.flags))

    @property
    def critical(self) -> bool:
        return CRITICAL_FLAG in self.flags

    def ordered_flags(self) -> list[str]:
        """Its flags, most important first (unknown ones last, by name)."""
        return order_flags(self.flags)


@dataclass(frozen=True)
class ActivationRecord(FlaggedUpload):
    """One activation of one speaker, as cached by the app.

    Attributes:
        bridge_id / activation_id: where it came from; together they identify it.
        speaker_name: the bridge's name for the speaker when the app learned of it.
        start / end: epoch seconds.
        bytes_up: bytes sent to the internet during it; peak_rate: the highest rate in B/s.
        confidence: the detector's confidence, 0..1.
        flags: a subset of FLAG_ORDER (INFO_FLAGS among them explain it without flagging it).
    """

    bridge_id: str
    activation_id: int
    speaker_id: str
    speaker_name: str
    start: float
    end: float
    bytes_up: int
    peak_rate: float
    confidence: float
    flags: frozenset[str] = frozenset()

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end - self.start)

    @classmethod
    def from_bridge(cls, bridge_id: str, record: dict, speaker_name: str = "") -> ActivationRecord:
        """Build from the bridge's JSON record. Raises ValueError naming what is wrong."""
        def number(key: str) -> float:
            value = record.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"activation field {key!r} is not a number: {value!r}")
            return float(value)

        activation_id = record.get("id")
        if not isinstance(activation_id, int) or isinstance(activation_id, bool):
            raise ValueError(f"activation id is not an integer: {activation_id!r}")
        speaker_id = record.get("speaker_id")
        if not isinstance(speaker_id, str) or not speaker_id:
            raise ValueError(f"activation speaker_id is missing: {speaker_id!r}")
        flags = record.get("flags") or []
        if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
            raise ValueError(f"activation flags are not a list of names: {flags!r}")
        start, end = number("start"), number("end")
        if end < start:
            raise ValueError(f"activation ends ({end}) before it starts ({start})")
        return cls(
            bridge_id=bridge_id, activation_id=activation_id, speaker_id=speaker_id,
            speaker_name=speaker_name or speaker_id, start=start, end=end,
            bytes_up=int(number("bytes_up")), peak_rate=number("peak_rate"),
            confidence=min(1.0, max(0.0, number("confidence"))), flags=frozenset(flags),
        )


def describe_flags(flags: frozenset[str] | set[str]) -> str:
    """All of an activation's flags explained, most important first; "" when it has none."""
    return "\n".join(FLAG_TEXT.get(f, f"Flagged by the bridge: {f}.") for f in order_flags(flags))
