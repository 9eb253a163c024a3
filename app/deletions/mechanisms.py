"""Which ways exist to delete one recording, and which one to take.

A recording (an activation in the Activity log) belongs to a speaker of some vendor. Amazon and Google speakers
behind a bridge obey a spoken "delete everything I said today", which reaches only the recordings of the current
day; everything else is deleted by hand in the vendor's app or portal; a legal erasure request is always
possible. `mechanisms_for` lists them, the recommended one first and the legal request last.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from app.deletions.voice import (
    DEFAULT_PHRASE,
    PREREQUISITE_SETTING,
    PREREQUISITE_TITLE,
    VOICE_VENDORS,
    normalise_vendor,
)
from app.erasure.deadlines import local_date

#: The manual guide (resources/deletions/portal_guides.json) for each vendor that has one.
GUIDE_FOR_VENDOR: dict[str, str] = {
    "amazon": "amazon-voice-history",
    "google": "google-my-activity",
    "apple": "apple-siri-history",
    "sonos": "sonos-account",
}
VENDOR_NAME = {"amazon": "Amazon", "google": "Google", "apple": "Apple", "sonos": "Sonos"}
KINDS = ("voice_now", "voice_schedule", "portal", "legal")

_PORTAL: dict[str, tuple[str, str]] = {
    "amazon": ("Delete it in the Alexa app",
               "In Review Voice History, delete this recording, its day, or everything from this speaker."),
    "google": ("Delete it in My Activity",
               "In Google's My Activity, filtered to \u201cVoice and audio\u201d, delete this recording."),
    "apple": ("Delete Siri & Dictation History",
              "Delete the history on each Apple device that uses Siri (Apple has no voice command for it)."),
    "sonos": ("Ask Sonos to delete your data",
              "Delete the Sonos account in its app or write to privacy@sonos.com; Sonos deletes within 4 weeks."),
}


@dataclass(frozen=True)
class Mechanism:
    """One way to delete a recording.

    Attributes:
        kind: "voice_now" (the bridge says the phrase now), "voice_schedule" (every day from now on), "portal"
            (by hand, following a guide) or "legal" (an erasure request under the law).
        title / detail: what it is, in plain words (detail also says what stands in its way).
        recommended: the one to pre-select (exactly one per list).
        guide_id: portal: the PortalGuide to show.
        phrase: voice kinds: the phrase the bridge would say.
    """

    kind: str
    title: str
    detail: str
    recommended: bool
    guide_id: str | None = None
    phrase: str | None = None


def _legal() -> Mechanism:
    return Mechanism("legal", "Ask for erasure under the law",
                     "Write an erasure request (GDPR, UK GDPR or CCPA) that cites this recording; Earmuff keeps "
                     "track of the company's deadline.", recommended=False)


def mechanisms_for(vendor: str | None, recording_start: float, *, now: float, zone: dt.tzinfo | str | None,
                   on_bridge: bool, prerequisite_enabled: bool | None) -> list[Mechanism]:
    """The ways to delete a recording that began at `recording_start` (epoch s), the recommended one first and the
    legal request last.

    `zone`: where "today" is reckoned (None: this computer's). `on_bridge`: the speaker is behind a bridge that
    can say the phrase. `prerequisite_enabled`: for a vendor that needs an opt-out first (Amazon's "Enable deletion
    by voice"), whether it is recorded as on; anything but True counts as not on. Unknown vendors get the legal
    request only.
    """
    vendor_id = normalise_vendor(vendor) or ""
    if vendor_id not in GUIDE_FOR_VENDOR:
        return [replace(_legal(), recommended=True)]
    name = VENDOR_NAME[vendor_id]
    portal_title, portal_detail = _PORTAL[vendor_id]
    options: list[Mechanism] = []
    recommended = "portal"
    if vendor_id in VOICE_VENDORS and on_bridge:
        phrase = DEFAULT_PHRASE[vendor_id]
        missing = vendor_id in PREREQUISITE_SETTING and prerequisite_enabled is not True
        needs = (f" {name} obeys it only with \u201c{PREREQUISITE_TITLE}\u201d on, and Earmuff's opt-outs do not "
                 "record it as on: turn it on in the Alexa app and record it first.") if missing else ""
        if local_date(recording_start, zone) == local_date(now, zone):
            options.append(Mechanism(
                "voice_now", "Have the bridge say it now",
                f"The bridge lifts the mute, says \u201c{phrase}\u201d to the speaker, watches for the upload that "
                f"shows it heard, and mutes it again. This deletes everything said to it today, this recording "
                f"too.{needs}", recommended=False, phrase=phrase))
            recommended = "portal" if missing else "voice_now"
        else:
            portal_detail = f"\u201c{phrase}\u201d reaches only today's recordings, so delete this one by hand. " \
                            + portal_detail
        options.append(Mechanism(
            "voice_schedule", "Say it every night from now on",
            f"The bridge says \u201c{phrase}\u201d at a time you choose, so the day's recordings never pile up; it "
            f"does not reach earlier days.{needs}", recommended=False, phrase=phrase))
    options.append(Mechanism("portal", portal_title, portal_detail, recommended=False,
                             guide_id=GUIDE_FOR_VENDOR[vendor_id]))
    options = [replace(m, recommended=m.kind == recommended) for m in options]
    options.sort(key=lambda m: not m.recommended)
    return [*options, _legal()]
