"""What the desktop knows about bridges, as frozen snapshots: speakers' mute states, schedules, connection status.

These come from the bridge's JSON (see the /v1 API) and go to listeners and
the UI unchanged; nothing here does I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

DEFAULT_PORT = 8443


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return float(value)


@dataclass(frozen=True)
class SpeakerState:
    """One speaker a bridge mutes, as the bridge last reported it.

    Attributes:
        speaker_id, name, driver ("relay" | "button" | "power"), has_sense: from the bridge's config.
        muted: the commanded state.
        confirmation: "confirmed" | "unconfirmed" | "mismatch" (what the sense line says about it).
        sensed_muted: the sense line's reading (None without one).
        changed_at: epoch seconds of the last commanded change.
        reason, requested_by, source ("api" | "schedule" | "override" | "startup"), schedule_id: why.
    """

    speaker_id: str
    name: str
    muted: bool
    confirmation: str = "unconfirmed"
    sensed_muted: bool | None = None
    changed_at: float = 0.0
    reason: str = ""
    requested_by: str = ""
    source: str = ""
    schedule_id: int | None = None
    driver: str = ""
    has_sense: bool = False

    @classmethod
    def from_json(cls, data: Any, *, previous: SpeakerState | None = None) -> SpeakerState:
        """Build from the bridge's speaker object (or a mute_changed event's data).

        A mute_changed event carries only the MuteState fields; name, driver and has_sense
        are then kept from `previous`. Raises ValueError when the object is not a speaker.
        """
        if not isinstance(data, dict):
            raise ValueError(f"speaker state is a {type(data).__name__}, not an object")
        speaker_id = data.get("speaker_id") or data.get("id")
        if not isinstance(speaker_id, str) or not speaker_id:
            raise ValueError("speaker state without a speaker_id")
        muted = data.get("muted")
        if not isinstance(muted, bool):
            raise ValueError(f"speaker {speaker_id}: 'muted' is not true/false")
        sensed = data.get("sensed_muted")
        schedule_id = data.get("schedule_id")
        name = data.get("name") or (previous.name if previous else None) or speaker_id
        return cls(
            speaker_id=speaker_id,
            name=str(name),
            muted=muted,
            confirmation=str(data.get("confirmation") or "unconfirmed"),
            sensed_muted=sensed if isinstance(sensed, bool) else None,
            changed_at=_number(data.get("changed_at")),
            reason=str(data.get("reason") or ""),
            requested_by=str(data.get("requested_by") or ""),
            source=str(data.get("source") or ""),
            schedule_id=schedule_id if isinstance(schedule_id, int) and not isinstance(schedule_id, bool) else None,
            driver=str(data.get("driver") or (previous.driver if previous else "")),
            has_sense=bool(data["has_sense"]) if "has_sense" in data else (
                previous.has_sense if previous else sensed is not None),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "speaker_id": self.speaker_id,
            "name": self.name,
            "muted": self.muted,
            "confirmation": self.confirmation,
            "sensed_muted": self.sensed_muted,
            "changed_at": self.changed_at,
            "reason": self.reason,
            "requested_by": self.requested_by,
            "source": self.source,
            "schedule_id": self.schedule_id,
            "driver": self.driver,
            "has_sense": self.has_sense,
        }


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Schedule:
    """A mute window the bridge enforces.

    Attributes:
        id: the bridge's id for it.
        speaker_id: one speaker, or "*" for all of the bridge's speakers.
        kind: "weekly" (days + start/end "HH:MM" in the bridge's time zone) or "once" (start_at/end_at epoch s).
        days: weekly: 0 = Monday .. 6 = Sunday, the days on which the window starts.
        label, enabled: the user's name for it, and whether it is in force.
    """

    id: int
    speaker_id: str
    kind: str
    days: tuple[int, ...] = ()
    start: str = ""
    end: str = ""
    start_at: float | None = None
    end_at: float | None = None
    label: str = ""
    enabled: bool = True

    @classmethod
    def from_json(cls, data: Any) -> Schedule:
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise ValueError("schedule without an id")
        days = data.get("days") or ()
        return cls(
            id=data["id"],
            speaker_id=str(data.get("speaker_id") or "*"),
            kind=str(data.get("kind") or "weekly"),
            days=tuple(sorted(int(d) for d in days if isinstance(d, int) and 0 <= d <= 6)),
            start=str(data.get("start") or ""),
            end=str(data.get("end") or ""),
            start_at=_number(data["start_at"]) if data.get("start_at") is not None else None,
            end_at=_number(data["end_at"]) if data.get("end_at") is not None else None,
            label=str(data.get("label") or ""),
            enabled=bool(data.get("enabled", True)),
        )

    def fields(self) -> dict[str, Any]:
        """The fields the API takes to create or replace it (everything but the id)."""
        return {
            "speaker_id": self.speaker_id,
            "kind": self.kind,
            "days": list(self.days),
            "start": self.start,
            "end": self.end,
            "start_at": self.start_at,
            "end_at": self.end_at,
            "label": self.label,
            "enabled": self.enabled,
        }

    def describe(self) -> str:
        """'Every day 22:00–07:00', 'Mon–Fri 09:00–17:00', 'Sat, Sun 08:00–10:00'; once: the times are the UI's."""
        if self.kind != "weekly":
            return "Once"
        days = set(self.days)
        if days == set(range(7)):
            when = "Every day"
        elif days == set(range(5)):
            when = "Weekdays"
        elif days == {5, 6}:
            when = "Weekends"
        else:
            when = ", ".join(WEEKDAYS[d] for d in sorted(days)) or "No days"
        overnight = " (next day)" if self.end and self.start and self.end <= self.start else ""
        return f"{when} {self.start}\u2013{self.end}{overnight}"


@dataclass(frozen=True)
class BridgeInfo:
    """GET /v1/info: who a bridge says it is (unauthenticated)."""

    bridge_id: str
    name: str
    version: str
    api: int
    fingerprint: str
    pairing: str
    time_zone: str

    @classmethod
    def from_json(cls, data: Any) -> BridgeInfo:
        if not isinstance(data, dict) or not isinstance(data.get("bridge_id"), str):
            raise ValueError("not an Earmuff bridge's info")
        return cls(
            bridge_id=data["bridge_id"],
            name=str(data.get("name") or "Earmuff bridge"),
            version=str(data.get("version") or ""),
            api=int(data.get("api") or 0),
            fingerprint=str(data.get("fingerprint") or "").lower(),
            pairing=str(data.get("pairing") or "open"),
            time_zone=str(data.get("time_zone") or "UTC"),
        )


@dataclass(frozen=True)
class PairedBridge:
    """A bridge this computer paired with, as kept in the app's database (the token is in the keyring).

    Attributes:
        bridge_id: the bridge's own id (also the keyring user name for its token).
        name, host, port: what to call it and where to reach it.
        fingerprint: sha256 hex of its certificate, pinned at pairing.
        token_id: the bridge's id for our token (to revoke it when forgetting), if known.
        paired_at, last_seen: epoch seconds (last_seen None until first contact).
        last_state: the speakers as last seen, for the offline view.
    """

    bridge_id: str
    name: str
    host: str
    port: int
    fingerprint: str
    token_id: int | None = None
    paired_at: float = 0.0
    last_seen: float | None = None
    last_state: tuple[SpeakerState, ...] = ()

    @property
    def base_url(self) -> str:
        return base_url(self.host, self.port)


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"https://{shown}:{port}"


class Connection(str, Enum):
    """How the link to a paired bridge stands."""

    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"                           # unreachable; retrying with backoff
    CERTIFICATE_CHANGED = "certificate-changed"   # refused; needs re-pairing
    NOT_AUTHORIZED = "not-authorized"             # token refused; needs re-pairing
    NO_TOKEN = "no-token"                         # keyring unusable or token missing

    @property
    def label(self) -> str:
        return {
            Connection.CONNECTING: "Connecting…",
            Connection.ONLINE: "Online",
            Connection.OFFLINE: "Offline",
            Connection.CERTIFICATE_CHANGED: "Certificate changed",
            Connection.NOT_AUTHORIZED: "Needs pairing again",
            Connection.NO_TOKEN: "Token unavailable",
        }[self]

    @property
    def needs_pairing(self) -> bool:
        return self in (Connection.CERTIFICATE_CHANGED, Connection.NOT_AUTHORIZED, Connection.NO_TOKEN)


@dataclass(frozen=True)
class BridgeStatus:
    """A paired bridge as the UI shows it.

    Attributes:
        bridge_id, name, host, port, fingerprint: from pairing.
        connection: see Connection.
        last_contact: epoch seconds of the last message from it (None: never).
        speakers: its speakers, live when online, the last known ones otherwise.
        problem: why it is not online, in plain words ("" when online).
        retry_at: when the next connection attempt is due (offline only).
        time_zone: the bridge's time zone (schedules are in it), once known.
    """

    bridge_id: str
    name: str
    host: str
    port: int
    fingerprint: str
    connection: Connection = Connection.CONNECTING
    last_contact: float | None = None
    speakers: tuple[SpeakerState, ...] = ()
    problem: str = ""
    retry_at: float | None = None
    time_zone: str = ""

    @property
    def online(self) -> bool:
        return self.connection is Connection.ONLINE

    def speaker(self, speaker_id: str) -> SpeakerState | None:
        return next((s for s in self.speakers if s.speaker_id == speaker_id), None)


@dataclass(frozen=True)
class BridgeAlarm:
    """A bridge's "alarm" event (for example a sense-line mismatch)."""

    bridge_id: str
    speaker_id: str | None
    message: str
    level: str = "warning"
    time: float = 0.0


@dataclass(frozen=True)
class CommandFailure:
    """A command that did not go through.

    Attributes:
        bridge_id, speaker_id: what it was for (speaker_id None for bridge-wide commands).
        action: what was asked, in words ("mute", "unmute", "mute for 1 hour", "save schedule"...).
        message: why it failed, for the user.
        error: the exception.
    """

    bridge_id: str
    speaker_id: str | None
    action: str
    message: str
    error: BaseException | None = field(default=None, compare=False)


class BridgeListener(Protocol):
    """Told about bridges. Called on the manager's threads, never under its lock."""

    def bridge_updated(self, status: BridgeStatus) -> None: ...

    def bridge_removed(self, bridge_id: str) -> None: ...

    def speaker_state(self, bridge_id: str, state: SpeakerState) -> None: ...

    def schedules_changed(self, bridge_id: str) -> None: ...

    def alarm(self, alarm: BridgeAlarm) -> None: ...

    def command_failed(self, failure: CommandFailure) -> None: ...

    # Optional: a listener may leave these out.
    def sample(self, bridge_id: str, record: dict) -> None:
        """A 10 Hz traffic sample or microphone reading (only when the manager asks for samples)."""

    def activation(self, bridge_id: str, kind: str, data: dict) -> None:
        """"activation_started" (data: speaker_id, start, confidence, flags) or "activation_ended" (the record)."""

    def activations_synced(self, bridge_id: str, records: list[dict]) -> None:
        """The bridge's activation records fetched on (re)connecting."""

    def new_destination_org(self, news: Any) -> None:
        """A speaker sent data to an organisation (or unknown domain) for the first time (a NewOrganisation)."""

    def blocks_changed(self, bridge_id: str, speaker_id: str) -> None:
        """A speaker's destination blocks were added or removed (by any client)."""

    def deletion_run(self, bridge_id: str, data: dict) -> None:
        """A voice deletion run started or ended (data: the bridge's run JSON; app.deletions.voice.VoiceRun)."""

    def deletion_runs_synced(self, bridge_id: str, records: list[dict]) -> None:
        """The bridge's voice deletion runs fetched on (re)connecting (run JSON, oldest first)."""
