"""Which ways to delete one recording are offered, and which is recommended: by vendor, by the recording's local day,
by whether a bridge can speak to the speaker, and by the Amazon prerequisite."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.deletions.mechanisms import GUIDE_FOR_VENDOR, mechanisms_for
from app.deletions.portal import load_guides

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 27, 21, 0, tzinfo=BERLIN).timestamp()
THIS_MORNING = dt.datetime(2026, 11, 27, 0, 30, tzinfo=BERLIN).timestamp()
LAST_NIGHT = dt.datetime(2026, 11, 26, 23, 50, tzinfo=BERLIN).timestamp()


def kinds(found) -> list[tuple[str, bool]]:
    return [(m.kind, m.recommended) for m in found]


def test_todays_recording_on_a_bridge_is_deleted_by_voice_now():
    found = mechanisms_for("Amazon", THIS_MORNING, now=NOW, zone=BERLIN, on_bridge=True, prerequisite_enabled=True)
    assert kinds(found) == [("voice_now", True), ("voice_schedule", False), ("portal", False), ("legal", False)]
    assert found[0].phrase == "Alexa, delete everything I said today"
    assert "everything said to it today" in found[0].detail
    assert found[2].guide_id == "amazon-voice-history"
    google = mechanisms_for("google", THIS_MORNING, now=NOW, zone="Europe/Berlin", on_bridge=True,
                            prerequisite_enabled=None)  # Google needs no opt-out first
    assert kinds(google)[0] == ("voice_now", True) and google[0].phrase == "Hey Google, delete today's activity"


@pytest.mark.parametrize("enabled", [False, None])
def test_without_the_prerequisite_the_portal_is_recommended_and_voice_says_why(enabled):
    found = mechanisms_for("amazon", THIS_MORNING, now=NOW, zone=BERLIN, on_bridge=True,
                           prerequisite_enabled=enabled)
    assert kinds(found) == [("portal", True), ("voice_now", False), ("voice_schedule", False), ("legal", False)]
    voice = found[1]
    assert "\u201cEnable deletion by voice\u201d" in voice.detail and "not record it as on" in voice.detail


def test_an_older_recording_is_deleted_by_hand_since_the_phrase_reaches_only_today():
    found = mechanisms_for("amazon", LAST_NIGHT, now=NOW, zone=BERLIN, on_bridge=True, prerequisite_enabled=True)
    assert kinds(found) == [("portal", True), ("voice_schedule", False), ("legal", False)]
    assert "reaches only today's recordings" in found[0].detail


def test_today_is_the_day_where_the_zone_says():
    # 00:30 in Berlin is 23:30 of the day before in UTC.
    berlin = mechanisms_for("amazon", THIS_MORNING, now=NOW, zone=BERLIN, on_bridge=True, prerequisite_enabled=True)
    utc = mechanisms_for("amazon", THIS_MORNING, now=NOW, zone=dt.UTC, on_bridge=True, prerequisite_enabled=True)
    assert berlin[0].kind == "voice_now" and utc[0].kind == "portal"


def test_without_a_bridge_there_is_no_voice_option():
    found = mechanisms_for("google", THIS_MORNING, now=NOW, zone=BERLIN, on_bridge=False, prerequisite_enabled=None)
    assert kinds(found) == [("portal", True), ("legal", False)]
    assert found[0].guide_id == "google-my-activity"


@pytest.mark.parametrize("vendor, guide", [("Apple", "apple-siri-history"), ("sonos", "sonos-account")])
def test_apple_and_sonos_are_deleted_in_their_portals(vendor, guide):
    found = mechanisms_for(vendor, THIS_MORNING, now=NOW, zone=BERLIN, on_bridge=True, prerequisite_enabled=None)
    assert kinds(found) == [("portal", True), ("legal", False)] and found[0].guide_id == guide


@pytest.mark.parametrize("vendor", [None, "", "Bose", "LinkPlay"])
def test_an_unknown_vendor_gets_the_legal_request_only(vendor):
    found = mechanisms_for(vendor, THIS_MORNING, now=NOW, zone=BERLIN, on_bridge=True, prerequisite_enabled=True)
    assert kinds(found) == [("legal", True)]
    assert "erasure request" in found[0].detail


def test_every_portal_mechanism_names_a_shipped_guide():
    shipped = {g.id for g in load_guides()}
    assert set(GUIDE_FOR_VENDOR.values()) <= shipped
