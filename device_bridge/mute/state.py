"""What a speaker's mute is, why, and whether the bridge could confirm it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"
MISMATCH = "mismatch"

SOURCES = ("api", "schedule", "override", "startup", "deletion")


@dataclass(frozen=True)
class MuteState:
    """A speaker's commanded mute and what its sense line says about it.

    Attributes:
        speaker_id: the speaker.
        muted: the commanded state (what the bridge drives the pins to).
        confirmation: "confirmed" (the sense line agrees), "unconfirmed" (no sense line, or not read
            yet) or "mismatch" (the sense line disagrees after the settle time).
        sensed_muted: what the sense line says (None: no sense line).
        changed_at: epoch seconds of the last commanded change.
        reason: why, in the words of whoever asked.
        requested_by: who asked (a paired client's name, "schedule", "button on the bridge", "bridge",
            "scheduled deletion").
        source: "api", "schedule", "override", "startup" or "deletion" (a voice deletion lifted the mute for
            its phrase, or put it back afterwards; see device_bridge/deletion/runner.py).
        schedule_id: the schedule window in force for this speaker, if any (also during a manual change).
    """

    speaker_id: str
    muted: bool
    confirmation: str
    sensed_muted: bool | None
    changed_at: float
    reason: str
    requested_by: str
    source: str
    schedule_id: int | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class WindowMemory:
    """What the engine remembers about a speaker's schedule windows, so restarts pick up where they were.

    Attributes:
        active: the window occurrences in force when last evaluated, as (schedule id, occurrence start).
        pre_muted: the commanded state from before the first of those windows began (restored when the
            last one ends, if a schedule's mute is still in force); None outside windows.
    """

    active: tuple[tuple[int, float], ...] = field(default=())
    pre_muted: bool | None = None
