"""What the bridge can enforce for an account's speakers, and in plain words why not when it cannot."""

from __future__ import annotations

from app.bridge_client.models import BridgeStatus, Connection, Schedule, SpeakerState
from app.optouts.local import BLOCK_UPLINK, QUIET_HOURS, QUIET_HOURS_LABEL, local_controls, quiet_hours_fields
from app.optouts.speakers import SpeakerRef, bridge_key, device_key


def bridge(online=True, driver="network", muted=False):
    return BridgeStatus(bridge_id="b1", name="Hall bridge", host="127.0.0.1", port=1, fingerprint="ab",
                        connection=Connection.ONLINE if online else Connection.OFFLINE,
                        speakers=(SpeakerState(speaker_id="den", name="Den HomePod", muted=muted, driver=driver),))


DEN = SpeakerRef(key=bridge_key("b1", "den"), name="Den HomePod", bridge_id="b1", speaker_id="den")
KITCHEN = SpeakerRef(key=device_key("uuid"), name="Kitchen Echo", vendor="Amazon")


def by_id(controls):
    return {c.control_id: c for c in controls}


def test_without_a_bridge_both_are_shown_with_what_is_needed():
    controls = by_id(local_controls([KITCHEN], {}, {}))
    assert set(controls) == {BLOCK_UPLINK, QUIET_HOURS}
    assert all(not c.enabled and c.speaker is None for c in controls.values())
    assert "pair one on the Bridges page" in controls[BLOCK_UPLINK].reason


def test_with_a_bridge_but_no_linked_bridge_speaker_the_user_is_told_to_link_it():
    controls = by_id(local_controls([KITCHEN], {"b1": bridge()}, {}))
    assert "Link this account's speaker as your bridge lists it" in controls[QUIET_HOURS].reason


def test_a_network_muted_speaker_can_have_its_uplink_blocked_and_shows_the_state():
    controls = by_id(local_controls([DEN], {"b1": bridge(muted=True)}, {"b1": []}))
    uplink = controls[BLOCK_UPLINK]
    assert uplink.enabled and uplink.active is True and uplink.speaker.bridge_name == "Hall bridge"
    quiet = controls[QUIET_HOURS]
    assert quiet.enabled and quiet.active is False
    assert "Hall bridge blocks its internet uplink every day from 22:00 to 07:00" in quiet.summary


def test_a_relay_muted_speaker_cannot_block_its_uplink_and_says_which_driver_would():
    controls = by_id(local_controls([DEN], {"b1": bridge(driver="relay")}, {"b1": []}))
    assert not controls[BLOCK_UPLINK].enabled
    assert "relay mute, which does not cut the internet uplink" in controls[BLOCK_UPLINK].reason
    assert '"network" driver' in controls[BLOCK_UPLINK].reason
    assert controls[QUIET_HOURS].enabled and "mutes it every day" in controls[QUIET_HOURS].summary


def test_an_offline_or_forgotten_bridge_is_named():
    offline = by_id(local_controls([DEN], {"b1": bridge(online=False)}, {}))
    assert "Hall bridge cannot be reached right now (offline)" in offline[BLOCK_UPLINK].reason
    forgotten = by_id(local_controls([DEN], {"b2": bridge()}, {}))
    assert "no longer paired" in forgotten[QUIET_HOURS].reason


def test_quiet_hours_are_found_by_their_label_and_wait_for_the_schedules():
    waiting = by_id(local_controls([DEN], {"b1": bridge()}, {}))[QUIET_HOURS]
    assert not waiting.enabled and waiting.reason == "Reading Hall bridge's schedules…"
    ours = Schedule.from_json({"id": 4, **quiet_hours_fields("den", "23:00", "06:30")})
    other = Schedule.from_json({"id": 5, **quiet_hours_fields("den"), "label": "Night"})
    quiet = by_id(local_controls([DEN], {"b1": bridge()}, {"b1": [other, ours]}))[QUIET_HOURS]
    assert quiet.active is True and quiet.schedule.id == 4 and quiet.schedule.label == QUIET_HOURS_LABEL
    assert "from 23:00 to 06:30" in quiet.summary
