"""Which bridge speakers can be told to delete by voice, and which assistant each one runs.

A bridge knows its speakers only by the names its owner gave them, not by maker. The assistant comes from
the vendor account the speaker is linked to on the Opt-outs page, else from its name ("Kitchen Echo"),
else the user says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.optouts.speakers import bridge_key

#: The assistants a bridge can speak to, by vendor id.
ASSISTANTS = {"amazon": "Alexa (Amazon)", "google": "Google Assistant"}
VENDOR_NAMES = {"amazon": "Amazon", "google": "Google", "apple": "Apple", "sonos": "Sonos",
                "microsoft": "Microsoft", "meta": "Meta"}

#: Words in a speaker's name that give its maker away, first match wins.
NAME_HINTS = (("alexa", "amazon"), ("echo", "amazon"), ("google", "google"), ("nest", "google"),
              ("homepod", "apple"), ("siri", "apple"), ("sonos", "sonos"))

FROM_ACCOUNT = "account"
FROM_NAME = "name"


def vendor_from_name(name: str) -> str | None:
    folded = name.casefold()
    return next((vendor for hint, vendor in NAME_HINTS if hint in folded), None)


def guess_vendor(optouts, key: str, name: str) -> tuple[str | None, str]:
    """(vendor id or None, FROM_ACCOUNT | FROM_NAME | "") for the speaker with this key and name."""
    if optouts is not None:
        for account in optouts.speaker_accounts(key):
            return account.vendor, FROM_ACCOUNT
    vendor = vendor_from_name(name)
    return vendor, FROM_NAME if vendor else ""


def zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class BridgeSpeaker:
    """A speaker a bridge mutes, as the voice-deletion dialogs offer it.

    Attributes:
        bridge_id, speaker_id, name: the bridge's speaker.
        bridge_name, online, time_zone: its bridge (time_zone "" until the bridge said).
        vendor: "amazon", "google", another vendor id, or None; vendor_from: FROM_ACCOUNT, FROM_NAME or "".
    """

    bridge_id: str
    speaker_id: str
    name: str
    bridge_name: str
    online: bool
    time_zone: str = ""
    vendor: str | None = None
    vendor_from: str = ""

    @property
    def key(self) -> str:
        return bridge_key(self.bridge_id, self.speaker_id)

    @property
    def zone(self) -> ZoneInfo | None:
        return zone_named(self.time_zone)

    @property
    def speaks_to_assistant(self) -> bool:
        return self.vendor in ASSISTANTS


def bridge_speakers(statuses: Iterable, optouts=None) -> list[BridgeSpeaker]:
    """Every speaker of every paired bridge (BridgeStatus), with its guessed vendor; sorted by name."""
    found = []
    for status in statuses:
        for speaker in status.speakers:
            key = bridge_key(status.bridge_id, speaker.speaker_id)
            vendor, source = guess_vendor(optouts, key, speaker.name)
            found.append(BridgeSpeaker(status.bridge_id, speaker.speaker_id, speaker.name, status.name,
                                       status.online, status.time_zone, vendor, source))
    return sorted(found, key=lambda s: (s.name.casefold(), s.bridge_name.casefold(), s.key))


def speaker_label(speaker: BridgeSpeaker, several_bridges: bool) -> str:
    text = f"{speaker.name} ({speaker.bridge_name})" if several_bridges else speaker.name
    return text if speaker.online else f"{text} \u2013 bridge offline"
