"""Portal reminders and their completions as frozen snapshots (no SQL, no Qt); app.deletions.portal uses them."""

from __future__ import annotations

from dataclasses import dataclass

from app.deletions.voice import Recurrence


@dataclass(frozen=True)
class PortalReminder:
    """A reminder to delete recordings by hand in a vendor's app or portal, again and again.

    Attributes:
        id: the database's id (never reused, so undoing a removal brings it back under the same id).
        guide_id: the PortalGuide it follows.
        label: the user's name for it ("" to show the guide's title).
        recurrence: when it is due, in the computer's time zone.
        speaker_key: the speaker it is about ("device:..." / "bridge:.../..."; "" for the whole account).
        created_at / last_done_at: epoch seconds (last_done_at None until it is first marked done).
        next_due: when it is due next (epoch seconds; None when the rule never happens again).
    """

    id: int
    guide_id: str
    label: str
    recurrence: Recurrence
    speaker_key: str
    created_at: float
    last_done_at: float | None = None
    next_due: float | None = None

    def is_due(self, now: float) -> bool:
        return self.next_due is not None and self.next_due <= now


@dataclass(frozen=True)
class PortalCompletion:
    """The user's word that they did a reminder's deletion.

    Attributes:
        id: the database's id.
        reminder_id / guide_id: what was done (kept after the reminder is removed).
        done_at: when they did it (epoch seconds; may be earlier than when they said so).
        note: what they wrote ("deleted October").
        recorded_at: when they told Earmuff.
    """

    id: int
    reminder_id: int
    guide_id: str
    done_at: float
    note: str = ""
    recorded_at: float = 0.0
