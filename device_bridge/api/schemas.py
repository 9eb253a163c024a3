"""The API's JSON shapes (pydantic): they validate requests and make the OpenAPI schema.

Request bodies forbid unknown fields, so a typo ("mutd") is a 422 rather than silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_DURATION_S = 7 * 24 * 3600.0


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Info(BaseModel):
    bridge_id: str = Field(description="uuid4 hex, fixed for the life of this bridge's data directory")
    name: str
    version: str
    api: int = Field(description="API generation; this document describes 1")
    fingerprint: str = Field(description="SHA-256 of the TLS certificate's DER bytes, lowercase hex")
    pairing: Literal["open", "button", "locked"] = Field(
        description="open: a code pairs; button: press the pairing button first; locked: too many wrong codes"
    )
    time_zone: str


class PairRequest(_Request):
    code: str = Field(min_length=1, max_length=32, description="the 6-digit code from `earmuff-bridge pair-code`")
    client_name: str = Field(min_length=1, max_length=80, description="shown in the token list")


class PairResponse(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown only once")
    token_id: int
    bridge_id: str


class Problem(BaseModel):
    detail: str


class Locked(BaseModel):
    detail: str
    retry_after: int = Field(description="seconds until pairing accepts codes again")


class TokenOut(BaseModel):
    id: int
    client_name: str
    created: float
    last_used: float | None


class Speaker(BaseModel):
    speaker_id: str
    name: str
    driver: Literal["relay", "button", "power", "network"]
    has_sense: bool = Field(description="a sense line reports the speaker's real state")
    muted: bool = Field(description="the commanded state")
    confirmation: Literal["confirmed", "unconfirmed", "mismatch"]
    sensed_muted: bool | None
    changed_at: float
    reason: str
    requested_by: str
    source: Literal["api", "schedule", "override", "startup", "deletion"] = Field(
        description="deletion: a voice deletion lifted the mute for its phrase, or put it back")
    schedule_id: int | None


class MuteRequest(_Request):
    muted: bool
    reason: str = Field(default="", max_length=200)
    requested_by: str | None = Field(default=None, max_length=80, description="defaults to the token's client name")
    duration_s: float | None = Field(
        default=None, gt=0, le=MAX_DURATION_S, description="with muted=true: mute for this long (a one-off schedule)"
    )


class Schedule(BaseModel):
    id: int
    speaker_id: str = Field(description='a speaker id, or "*" for every speaker')
    kind: Literal["weekly", "once"]
    days: list[int] = Field(description="weekly: 0=Monday..6=Sunday, the days a window starts")
    start: str = Field(description='weekly: "HH:MM" in the bridge\'s time zone')
    end: str = Field(description='weekly: "HH:MM"; end <= start ends the next day')
    start_at: float | None = Field(description="once: epoch seconds")
    end_at: float | None = Field(description="once: epoch seconds")
    label: str
    enabled: bool


class ScheduleCreate(_Request):
    speaker_id: str = Field(max_length=32, description='a speaker id, or "*" for every speaker')
    kind: Literal["weekly", "once"] = "weekly"
    days: list[int] = Field(default_factory=list, max_length=7)
    start: str = Field(default="", max_length=16)
    end: str = Field(default="", max_length=16)
    start_at: float | None = None
    end_at: float | None = None
    label: str = Field(default="", max_length=100)
    enabled: bool = True


class ScheduleUpdate(_Request):
    speaker_id: str | None = Field(default=None, max_length=32)
    kind: Literal["weekly", "once"] | None = None
    days: list[int] | None = Field(default=None, max_length=7)
    start: str | None = Field(default=None, max_length=16)
    end: str | None = Field(default=None, max_length=16)
    start_at: float | None = None
    end_at: float | None = None
    label: str | None = Field(default=None, max_length=100)
    enabled: bool | None = None


class Event(BaseModel):
    """One line of GET /v1/events."""

    seq: int
    time: float
    type: str = Field(description="mute_changed | alarm | schedule_changed | activation_started | "
                                  "activation_ended | new_destination_org | blocks_changed | deletion_run | "
                                  "heartbeat (later issues add more)")
    speaker_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Sample(BaseModel):
    """A `samples=1` line of GET /v1/events: one speaker's traffic over the last 0.1 s (no seq: not stored)."""

    type: Literal["sample"] = "sample"
    speaker_id: str
    time: float = Field(description="epoch seconds at the end of the interval")
    up: float = Field(description="uplink (to the internet), bytes per second")
    down: float = Field(description="downlink, bytes per second")
    muted: bool = Field(description="the commanded mute at that moment")


class MicReading(BaseModel):
    """A `samples=1` line of GET /v1/events: the bridge's room microphone over the last 0.1 s (no seq)."""

    type: Literal["mic"] = "mic"
    mic_id: str
    speaker_ids: list[str] = Field(description="the speakers the microphone is near")
    time: float = Field(description="epoch seconds at the end of the interval")
    level: float = Field(description="sound level, dBFS (RMS; -100 for silence)")
    speech: bool = Field(description="someone was speaking")


Flag = Literal["while_muted", "during_schedule", "no_speech_nearby", "deletion_command"]


class Activation(BaseModel):
    """A burst of uplink that carried audio to the cloud."""

    id: int
    speaker_id: str
    start: float = Field(description="epoch seconds of the burst's first second")
    end: float = Field(description="epoch seconds")
    bytes_up: int
    peak_rate: float = Field(description="bytes per second over the busiest second")
    confidence: float = Field(ge=0, le=1)
    flags: list[Flag] = Field(description="while_muted: commanded muted when it began (the mute failed); "
                                          "during_schedule: a mute window was in force; no_speech_nearby: a room "
                                          "microphone heard no speech; deletion_command (informational, not a "
                                          "problem): it carried a voice deletion command the bridge played")


class TrafficHistory(BaseModel):
    """A speaker's traffic in 1-second steps: up[i] and down[i] are bytes per second in [t0 + i, t0 + i + 1)."""

    speaker_id: str
    t0: float = Field(description="epoch seconds of the first step (a whole second)")
    step: float = 1.0
    up: list[float | None] = Field(description="bytes per second; null where nothing was measured")
    down: list[float | None]
    level: list[float | None] = Field(description="the loudest 0.1 s of each second at the room microphone near "
                                                  "the speaker, dBFS; null where no microphone heard it")
    speech: list[bool | None] = Field(description="someone spoke near the speaker in that second; null where no "
                                                  "microphone heard it")


class Destination(BaseModel):
    """Where a speaker sent data: a name (or, for flows the bridge saw no name for, an address)."""

    name: str = Field(description="the DNS name or TLS server name; an IP address when none was seen")
    organisation: str | None = Field(description="from the bridge's sourced suffix table; null when unknown")
    hosting: bool = Field(description="the organisation is a cloud provider hosting others' services")
    bytes_up: int = Field(description="to the destination (IP packet lengths), in the range asked for")
    bytes_down: int
    first_seen: float = Field(description="epoch seconds")
    last_seen: float
    addresses: list[str] = Field(description="its addresses seen, most recent first")
    blocked_by: list[int] = Field(description="ids of this speaker's blocks that cover the name")


class ActivationDestination(BaseModel):
    """Where one activation's bytes went."""

    name: str
    organisation: str | None
    bytes_up: int
    bytes_down: int


class ActivationDestinations(BaseModel):
    activation_id: int
    complete: bool = Field(description="false until the bridge has read every second of the activation")
    destinations: list[ActivationDestination] = Field(description="busiest first")


class OrganisationSeries(BaseModel):
    organisation: str | None
    label: str = Field(description="the organisation, or the domain of names without one")
    up: list[int] = Field(description="bytes per step")
    down: list[int]


class DestinationHistory(BaseModel):
    """Bytes per organisation over time: series[k].up[i] is in [t0 + i * step, t0 + (i + 1) * step)."""

    speaker_id: str
    t0: float
    step: float = Field(description="60 (recent ranges up to 6 h) or 3600 seconds")
    series: list[OrganisationSeries] = Field(description="busiest first")


BlockKind = Literal["name", "organisation", "preset"]


class Block(BaseModel):
    """A destination block of one speaker: its traffic to the covered names is dropped on the bridge."""

    id: int
    speaker_id: str
    kind: BlockKind = Field(description="name: the name and every name under it; organisation; preset")
    value: str = Field(description="the name, the organisation, or the preset's id")
    title: str = Field(description="in words, for a list")
    created: float
    dropped_packets: int = Field(description="packets dropped since it was made")
    dropped_bytes: int
    addresses: list[str] = Field(description="addresses it drops now (filled from DNS answers and TLS server names)")
    also_affects: list[str] = Field(description="other names seen at those addresses, which the block stops too")


class BlockCreate(_Request):
    kind: BlockKind
    value: str = Field(min_length=1, max_length=253)


class PresetSource(BaseModel):
    model_config = ConfigDict(extra="allow")

    shows: str


class Preset(BaseModel):
    """A one-click block of a vendor's telemetry names, with where they come from."""

    id: str
    title: str
    organisation: str
    names: list[str]
    why: str
    caveat: str
    sources: list[PresetSource]


# --- voice deletions -------------------------------------------------------------------------------------

def _vendor() -> Any:
    return Field(max_length=40, description='"amazon" or "google"')


def _phrase() -> Any:
    return Field(max_length=1000, description="the command spoken to the speaker (at most 200 characters)")


def _recording() -> Any:
    return Field(default=None, max_length=255,
                 description='with audio "recording": a WAV file name in the bridge\'s phrases folder')


class DeletionPhrases(BaseModel):
    amazon: list[str]
    google: list[str]


class DeletionCapabilities(BaseModel):
    """What the bridge can do for voice deletions."""

    tts: bool = Field(description="espeak-ng is there to speak phrases")
    tts_detail: str
    player: bool = Field(description="there is an audio output to play them on")
    player_detail: str
    phrases: DeletionPhrases = Field(description="the vendors' documented deletion commands")
    recordings: list[str] = Field(description="WAV files in the bridge's phrases folder (a user's own recording)")


class Prerequisite(BaseModel):
    """A vendor setting the command needs, as the app has it recorded."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description='its title, like "Enable deletion by voice"')
    enabled: bool = Field(description="the app has it recorded as on (else the run is skipped)")
    recorded_at: float | None = Field(default=None, allow_inf_nan=False, description="epoch seconds")


class DeletionRun(BaseModel):
    """One voice deletion run: what was said to whom, and how it went."""

    id: int
    schedule_id: int | None = Field(description="null for a run asked for now")
    speaker_id: str
    vendor: str
    phrase: str
    occurrence: float = Field(description="epoch seconds it was due")
    started_at: float | None
    finished_at: float | None
    state: Literal["running", "done"]
    phase: Literal["checking", "lifting", "playing", "watching", "restoring", "done"]
    outcome: Literal["sent_and_uploaded", "no_upload_seen", "skipped"] | None
    why: str = Field(description="the outcome in plain words")
    attempts: int = Field(description="how often the phrase was played")
    activation_id: int | None = Field(description="the upload that proved it")
    upload_bytes: int | None
    mute_lifted: bool = Field(description="the run unmuted the speaker for the phrase")
    mute_restored: bool | None = Field(description="it muted it again (false: someone else's later choice was "
                                                   "left); null when it never lifted it")


class DeletionSchedule(BaseModel):
    """When the bridge says which deletion command to which speaker."""

    id: int
    speaker_id: str
    vendor: str
    phrase: str
    audio: Literal["tts", "recording"]
    recording: str | None
    rrule: str
    dtstart: str
    prerequisite: Prerequisite | None
    enabled: bool
    label: str
    created_at: float
    next_runs: list[float] = Field(description="the next occurrences (epoch seconds, up to 3; none when disabled)")
    last_run: DeletionRun | None


class DeletionScheduleCreate(_Request):
    speaker_id: str = Field(max_length=32)
    vendor: str = _vendor()
    phrase: str = _phrase()
    audio: Literal["tts", "recording"] = "tts"
    recording: str | None = _recording()
    rrule: str = Field(max_length=1000, description='an RFC 5545 RRULE without "RRULE:", like '
                                                    '"FREQ=DAILY;BYHOUR=23;BYMINUTE=55"')
    dtstart: str = Field(max_length=40, description="a wall time in the bridge's time zone, "
                                                  '"YYYY-MM-DDTHH:MM[:SS]"')
    prerequisite: Prerequisite | None = None
    enabled: bool = True
    label: str = Field(default="", max_length=100)


class DeletionScheduleUpdate(_Request):
    phrase: str | None = Field(default=None, max_length=1000)
    audio: Literal["tts", "recording"] | None = None
    recording: str | None = _recording()
    rrule: str | None = Field(default=None, max_length=1000)
    dtstart: str | None = Field(default=None, max_length=40)
    prerequisite: Prerequisite | None = None
    enabled: bool | None = None
    label: str | None = Field(default=None, max_length=100)


class DeletionRunRequest(_Request):
    speaker_id: str = Field(max_length=32)
    vendor: str = _vendor()
    phrase: str = _phrase()
    audio: Literal["tts", "recording"] = "tts"
    recording: str | None = _recording()
    prerequisite: Prerequisite | None = None
