"""Privacy settings Earmuff enforces itself, through a paired bridge, rather than asking the vendor.

Three per linked bridge speaker:

* "Block its internet uplink": the bridge's network mute (an nftables drop rule). Only a speaker the
  bridge mutes with the "network" driver has it; a relay or button mute does not cut the uplink.
* "Quiet hours": a weekly mute schedule on the bridge (every day, 22:00-07:00 by default), which the
  bridge keeps enforcing while this computer is off. Earmuff finds its own schedule by its label.
* "Blocked destinations": what the bridge drops of the speaker's traffic by name, organisation or telemetry
  preset (made and undone in the speaker's Destinations dialog), with what each block dropped so far.

This module only says what can be done and why not; the page sends the commands through the bridge
manager (`set_mute`, `save_schedule`, `delete_schedule`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.optouts.speakers import SpeakerRef

BLOCK_UPLINK = "earmuff.block-uplink"
QUIET_HOURS = "earmuff.quiet-hours"
DESTINATION_BLOCKS = "earmuff.destination-blocks"
QUIET_HOURS_LABEL = "Quiet hours (Opt-outs)"
DEFAULT_QUIET_HOURS = ("22:00", "07:00")
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)

TITLES = {
    BLOCK_UPLINK: "Block the speaker's internet uplink",
    QUIET_HOURS: "Quiet hours: mute every night",
    DESTINATION_BLOCKS: "Blocked destinations",
}


@dataclass(frozen=True)
class LocalControl:
    """One locally enforced setting for one speaker (or a placeholder saying what is missing).

    Attributes:
        control_id: BLOCK_UPLINK or QUIET_HOURS.
        speaker: the bridge speaker it acts on (None for a placeholder).
        enabled: whether the toggle can be used now.
        reason: why not (empty when enabled).
        active: the current state on the bridge (None: unknown).
        schedule: the quiet-hours schedule found on the bridge (an app.bridge_client Schedule), if any.
        blocks: the destination blocks the bridge keeps for the speaker (app.bridge_client Block).
    """

    control_id: str
    title: str
    summary: str
    speaker: SpeakerRef | None
    enabled: bool
    reason: str = ""
    active: bool | None = None
    schedule: Any = None
    blocks: tuple = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.control_id, self.speaker.key if self.speaker else "")


def quiet_hours_fields(speaker_id: str, start: str = DEFAULT_QUIET_HOURS[0],
                       end: str = DEFAULT_QUIET_HOURS[1]) -> dict[str, Any]:
    """The fields of the bridge schedule that enforces quiet hours for one speaker."""
    return {"speaker_id": speaker_id, "kind": "weekly", "days": list(EVERY_DAY), "start": start, "end": end,
            "start_at": None, "end_at": None, "label": QUIET_HOURS_LABEL, "enabled": True}


def find_quiet_hours(schedules: Iterable, speaker_id: str):
    """Earmuff's quiet-hours schedule for the speaker among a bridge's schedules, or None."""
    for schedule in schedules:
        if schedule.label == QUIET_HOURS_LABEL and schedule.speaker_id == speaker_id and schedule.kind == "weekly":
            return schedule
    return None


def _uplink_summary(speaker: SpeakerRef | None) -> str:
    name = speaker.name if speaker else "the speaker"
    return (f"The bridge drops everything {name} sends to the internet; it stays on your home network. "
            "Nothing you say reaches the vendor, and the assistant cannot answer until you unblock it.")


def _quiet_summary(speaker: SpeakerRef | None, schedule) -> str:
    start, end = (schedule.start, schedule.end) if schedule is not None else DEFAULT_QUIET_HOURS
    how = "blocks its internet uplink" if speaker is not None and speaker.driver == "network" else "mutes it"
    bridge = speaker.bridge_name if speaker is not None and speaker.bridge_name else "The bridge"
    name = speaker.name if speaker else "the speaker"
    return (f"{bridge} {how} every day from {start} to {end} (the bridge's time), for {name}, "
            "also while this computer is off.")


def _blocks_summary(speaker: SpeakerRef, blocks: list) -> str:
    if not blocks:
        return (f"Nothing is blocked for {speaker.name}. In its Destinations you can block a name, a whole "
                "organisation or known telemetry endpoints; the assistant keeps working.")
    parts = [f"{b.title} ({b.dropped_packets:,} packet{'s' if b.dropped_packets != 1 else ''} dropped)"
             for b in blocks]
    return f"{speaker.bridge_name or 'The bridge'} drops {speaker.name}'s traffic to: " + "; ".join(parts) + "."


def local_controls(speakers: Iterable[SpeakerRef], statuses: Mapping[str, Any],
                   schedules: Mapping[str, list | None],
                   blocks: Mapping[tuple[str, str], list | str] | None = None) -> list[LocalControl]:
    """The controls for an account's linked speakers.

    `statuses`: bridge id -> BridgeStatus of every paired bridge. `schedules`: bridge id -> its
    schedules as last fetched (None or absent: not fetched yet). `blocks`: (bridge id, speaker id) -> its
    destination blocks as last fetched, or why they cannot be (absent: not fetched yet).
    """
    blocks = blocks or {}
    bridge_speakers = [s for s in speakers if s.via_bridge]
    if not bridge_speakers:
        if not statuses:
            reason = ("Needs an Earmuff bridge: pair one on the Bridges page, then link the speaker it mutes "
                      "to this account.")
        else:
            reason = ("Link this account's speaker as your bridge lists it (Link speakers…), so the bridge "
                      "can do this for it.")
        return [LocalControl(BLOCK_UPLINK, TITLES[BLOCK_UPLINK], _uplink_summary(None), None, False, reason),
                LocalControl(QUIET_HOURS, TITLES[QUIET_HOURS], _quiet_summary(None, None), None, False, reason)]
    controls: list[LocalControl] = []
    for speaker in bridge_speakers:
        status = statuses.get(speaker.bridge_id)
        state = status.speaker(speaker.speaker_id) if status is not None else None
        if state is not None:
            speaker = SpeakerRef(key=speaker.key, name=state.name or speaker.name, online=status.online,
                                 bridge_id=speaker.bridge_id, speaker_id=speaker.speaker_id,
                                 bridge_name=status.name, driver=state.driver)
        offline = ""
        if status is None:
            offline = f"The bridge that mutes {speaker.name} is no longer paired with this computer."
        elif state is None:
            offline = f"{status.name} no longer lists {speaker.name}."
        elif not status.online:
            offline = (f"{status.name} cannot be reached right now ({status.connection.label.lower()}); "
                       "Earmuff can change this when it is back.")

        uplink_reason = offline
        if not uplink_reason and speaker.driver != "network":
            uplink_reason = (f"{status.name} mutes {speaker.name} with its {speaker.driver or 'hardware'} mute, "
                             "which does not cut the internet uplink. To block the uplink, give the speaker the "
                             "\"network\" driver in the bridge's configuration.")
        controls.append(LocalControl(
            BLOCK_UPLINK, TITLES[BLOCK_UPLINK], _uplink_summary(speaker), speaker, enabled=not uplink_reason,
            reason=uplink_reason, active=state.muted if state is not None and speaker.driver == "network" else None))

        fetched = schedules.get(speaker.bridge_id)
        schedule = find_quiet_hours(fetched, speaker.speaker_id) if fetched is not None else None
        quiet_reason = offline
        if not quiet_reason and fetched is None:
            quiet_reason = f"Reading {status.name}'s schedules…"
        controls.append(LocalControl(
            QUIET_HOURS, TITLES[QUIET_HOURS], _quiet_summary(speaker, schedule), speaker,
            enabled=not quiet_reason, reason=quiet_reason,
            active=(schedule is not None and schedule.enabled) if fetched is not None else None, schedule=schedule))

        found = blocks.get((speaker.bridge_id, speaker.speaker_id))
        blocks_reason = offline or (found if isinstance(found, str) else "")
        if not blocks_reason and found is None:
            blocks_reason = f"Reading what {status.name} blocks for {speaker.name}…"
        listed = found if isinstance(found, list) else []
        controls.append(LocalControl(
            DESTINATION_BLOCKS, TITLES[DESTINATION_BLOCKS],
            _blocks_summary(speaker, listed) if isinstance(found, list) else
            "The bridge can drop this speaker's traffic to chosen names, organisations or telemetry endpoints.",
            speaker, enabled=not blocks_reason, reason=blocks_reason,
            active=bool(listed) if isinstance(found, list) else None, blocks=tuple(listed)))
    return controls
