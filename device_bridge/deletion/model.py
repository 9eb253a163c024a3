"""What voice deletions are made of: schedules, runs, a vendor prerequisite, and the checks on what clients send.

A *deletion schedule* belongs to one speaker: what to say (a vendor's phrase, spoken by espeak-ng or
recorded by the user) and when (an RRULE and a DTSTART wall time in the bridge's zone). Each occurrence
becomes a *deletion run*; a run also starts when a client asks for one now. The JSON shapes here are
the API's (GET /v1/deletions/schedules and /v1/deletions/runs).

Every check raises ValueError in plain words; the API answers it with 422.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from device_bridge.deletion.phrases import MAX_PHRASE, VENDORS, PhraseAudioError, recording, recording_path
from device_bridge.deletion.recurrence import Recurrence

AUDIO_KINDS = ("tts", "recording")
STATES = ("running", "done")
PHASES = ("checking", "lifting", "playing", "watching", "restoring", "done")
OUTCOMES = ("sent_and_uploaded", "no_upload_seen", "skipped")
MAX_LABEL = 100
SCHEDULE_FIELDS = ("phrase", "audio", "recording", "rrule", "dtstart", "prerequisite", "enabled", "label")


@dataclass(frozen=True)
class Prerequisite:
    """A vendor setting the command needs, as the app last saw it recorded ("Enable deletion by voice").

    Attributes:
        name: its title.
        enabled: the app has it recorded as on.
        recorded_at: when the app recorded that (epoch seconds), or None.
    """

    name: str
    enabled: bool
    recorded_at: float | None = None

    @classmethod
    def from_json(cls, value: Any) -> Prerequisite | None:
        if value is None:
            return None
        if isinstance(value, Prerequisite):
            return value
        if not isinstance(value, dict):
            raise ValueError("the prerequisite is {\"name\", \"enabled\", \"recorded_at\"} or null")
        name, enabled, recorded_at = value.get("name"), value.get("enabled"), value.get("recorded_at")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_LABEL:
            raise ValueError("the prerequisite needs its name (the setting's title, at most 100 characters)")
        if not isinstance(enabled, bool):
            raise ValueError("the prerequisite's \"enabled\" is true or false")
        if recorded_at is not None and (isinstance(recorded_at, bool) or not isinstance(recorded_at, (int, float))
                                        or not math.isfinite(recorded_at)):
            raise ValueError("the prerequisite's \"recorded_at\" is epoch seconds or null")
        return cls(name.strip(), enabled, None if recorded_at is None else float(recorded_at))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "enabled": self.enabled, "recorded_at": self.recorded_at}


@dataclass(frozen=True)
class DeletionSchedule:
    """When the bridge says which phrase to which speaker.

    Attributes:
        id: assigned by the store.
        speaker_id, vendor ("amazon" or "google"), phrase: who hears what.
        audio: "tts" (espeak-ng speaks the phrase) or "recording" (`recording`, a WAV file name in
            `<data dir>/phrases`).
        rrule, dtstart: when (see recurrence.py).
        prerequisite: a vendor setting that must be recorded as on, or None.
        enabled: a disabled schedule is kept but never runs.
        label: the user's name for it.
        created_at: epoch seconds.
        handled_until: occurrences up to this instant have been run or recorded as missed.
    """

    id: int
    speaker_id: str
    vendor: str
    phrase: str
    audio: str
    recording: str | None
    rrule: str
    dtstart: str
    prerequisite: Prerequisite | None
    enabled: bool
    label: str
    created_at: float
    handled_until: float

    @property
    def recurrence(self) -> Recurrence:
        return Recurrence(self.rrule, self.dtstart)

    def to_json(self, *, next_runs: list[float], last_run: DeletionRun | None) -> dict[str, Any]:
        return {
            "id": self.id, "speaker_id": self.speaker_id, "vendor": self.vendor, "phrase": self.phrase,
            "audio": self.audio, "recording": self.recording, "rrule": self.rrule, "dtstart": self.dtstart,
            "prerequisite": self.prerequisite.to_json() if self.prerequisite else None, "enabled": self.enabled,
            "label": self.label, "created_at": self.created_at, "next_runs": list(next_runs),
            "last_run": last_run.to_json() if last_run else None,
        }


@dataclass(frozen=True)
class DeletionRun:
    """One time the bridge said (or meant to say) a deletion command, and how it went.

    Attributes:
        id: assigned by the store; runs are listed by it.
        schedule_id: the schedule it came from, or None for a run asked for now.
        speaker_id, vendor, phrase, audio, recording, prerequisite: what it was to say (a copy, so a later
            edit of the schedule does not change a run in progress).
        occurrence: the instant it was due.
        started_at, finished_at: epoch seconds, or None (not begun / not finished).
        state: "running" (queued or in progress) or "done".
        phase: "checking", "lifting", "playing", "watching", "restoring" or "done".
        outcome: None while running; "sent_and_uploaded", "no_upload_seen" or "skipped".
        why: the outcome (or the phase) in plain words.
        attempts: how often the phrase was played (0-2).
        activation_id, upload_bytes: the upload that proved it (once that upload ended), or None.
        mute_lifted: the run unmuted the speaker for the phrase.
        mute_restored: True once it muted it again, False if it left someone else's later choice (or could
            not), None when it never lifted it.
        pre_muted, pre_source: the speaker's commanded mute and its source before the run (the journal a
            restarted bridge restores from); not shown in the API.
    """

    id: int
    schedule_id: int | None
    speaker_id: str
    vendor: str
    phrase: str
    audio: str
    recording: str | None
    prerequisite: Prerequisite | None
    occurrence: float
    started_at: float | None = None
    finished_at: float | None = None
    state: str = "running"
    phase: str = "checking"
    outcome: str | None = None
    why: str = ""
    attempts: int = 0
    activation_id: int | None = None
    upload_bytes: int | None = None
    mute_lifted: bool = False
    mute_restored: bool | None = None
    pre_muted: bool | None = None
    pre_source: str | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "schedule_id": self.schedule_id, "speaker_id": self.speaker_id, "vendor": self.vendor,
            "phrase": self.phrase, "occurrence": self.occurrence, "started_at": self.started_at,
            "finished_at": self.finished_at, "state": self.state, "phase": self.phase, "outcome": self.outcome,
            "why": self.why, "attempts": self.attempts, "activation_id": self.activation_id,
            "upload_bytes": self.upload_bytes, "mute_lifted": self.mute_lifted, "mute_restored": self.mute_restored,
        }

    def finished(self, outcome: str, why: str, when: float, **changes: Any) -> DeletionRun:
        """This run ended with `outcome`."""
        return replace(self, state="done", phase="done", outcome=outcome, why=why, finished_at=when, **changes)


# --- checks ------------------------------------------------------------------------------------------

def check_command(fields: dict[str, Any], *, speakers: Collection[str], data_dir: Path,
                  check_file: bool = True) -> dict[str, Any]:
    """The checked "what to say to whom" of a schedule or a run: speaker_id, vendor, phrase, audio, recording,
    prerequisite. ValueError for the first thing that is wrong."""
    speaker_id = fields.get("speaker_id")
    if not isinstance(speaker_id, str) or speaker_id not in speakers:
        raise ValueError(f"there is no speaker {speaker_id!r} on this bridge")
    vendor = fields.get("vendor")
    if vendor not in VENDORS:
        raise ValueError(f"voice deletion works for amazon and google speakers, not {vendor!r}")
    clean = {"speaker_id": speaker_id, "vendor": vendor}
    clean.update(check_what(fields, data_dir=data_dir, check_file=check_file))
    return clean


def check_what(fields: dict[str, Any], *, data_dir: Path, check_file: bool = True) -> dict[str, Any]:
    """phrase, audio, recording and prerequisite, checked (all four are needed); without `check_file`, a
    recording's name is checked but not its file (a run says if the file went missing)."""
    phrase = fields.get("phrase")
    if not isinstance(phrase, str) or not phrase.strip():
        raise ValueError("say which phrase to speak (it is empty)")
    phrase = " ".join(phrase.split())
    if len(phrase) > MAX_PHRASE:
        raise ValueError(f"the phrase is {len(phrase)} characters long; a spoken command has at most {MAX_PHRASE}")
    audio = fields.get("audio", "tts")
    if audio not in AUDIO_KINDS:
        raise ValueError(f'audio is "tts" (the bridge speaks the phrase) or "recording", not {audio!r}')
    name = fields.get("recording")
    if audio == "recording":
        if not isinstance(name, str) or not name:
            raise ValueError("a recorded command needs its WAV file's name (in the bridge's phrases folder)")
        recording_path(data_dir, name)
        if check_file:
            try:
                recording(data_dir, name)
            except PhraseAudioError as error:
                raise ValueError(f"the recording cannot be used: {error}") from None
    else:
        name = None
    return {"phrase": phrase, "audio": audio, "recording": name,
            "prerequisite": Prerequisite.from_json(fields.get("prerequisite"))}


def check_schedule(fields: dict[str, Any], *, speakers: Collection[str], data_dir: Path, zone: ZoneInfo,
                   now: float, current: DeletionSchedule | None = None) -> dict[str, Any]:
    """A complete checked set of schedule fields: a new schedule's (current None) or `current` changed by
    `fields` (speaker and vendor stay). ValueError for the first thing that is wrong."""
    # The rule is checked afresh (still to come, not too often) when it is new, changed or enabled again, and a
    # recording's file when it is new or changed: a schedule whose rule has ended, or whose file went missing,
    # can still be renamed or disabled.
    timing = (current is None or "rrule" in fields or "dtstart" in fields
              or (fields.get("enabled") is True and not current.enabled))
    sound = current is None or "audio" in fields or "recording" in fields
    if current is not None:
        unknown = set(fields) - set(SCHEDULE_FIELDS)
        if unknown:
            raise ValueError(f"a schedule's {', '.join(sorted(unknown))} cannot be changed (make a new schedule)")
        base = {"speaker_id": current.speaker_id, "vendor": current.vendor, "phrase": current.phrase,
                "audio": current.audio, "recording": current.recording, "rrule": current.rrule,
                "dtstart": current.dtstart, "prerequisite": current.prerequisite, "enabled": current.enabled,
                "label": current.label}
        fields = {**base, **fields}
        speakers = set(speakers) | {current.speaker_id}  # a schedule outlives its speaker's removal from the config
    clean = check_command(fields, speakers=speakers, data_dir=data_dir, check_file=sound)
    if timing:
        recurrence = Recurrence.parse(fields.get("rrule"), fields.get("dtstart"), zone=zone, now=now)
    else:
        assert current is not None
        recurrence = current.recurrence
    enabled = fields.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("enabled is true or false")
    label = fields.get("label", "") or ""
    if not isinstance(label, str) or len(label.strip()) > MAX_LABEL:
        raise ValueError(f"the label is text of at most {MAX_LABEL} characters")
    clean.update(rrule=recurrence.rrule, dtstart=recurrence.dtstart, enabled=enabled, label=label.strip())
    return clean
