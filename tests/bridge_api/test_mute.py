"""Mute over the API: the pin has changed by the time the response arrives; mute_for; errors."""

from __future__ import annotations

import time

import pytest
from bridge_helpers import BEDROOM_PIN, KITCHEN_PIN, LIVING_PIN, pin

SPEAKER_KEYS = {
    "speaker_id", "name", "driver", "has_sense", "muted", "confirmation", "sensed_muted", "changed_at",
    "reason", "requested_by", "source", "schedule_id",
}


def test_speakers_start_muted_with_relays_released(api, pins):
    speakers = api.get("/v1/speakers").json()
    assert [(s["speaker_id"], s["name"], s["driver"], s["has_sense"]) for s in speakers] == [
        ("kitchen", "Kitchen Echo", "relay", True),
        ("bedroom", "Bedroom Nest", "button", True),
        ("living-room", "Living room HomePod", "power", False),
    ]
    assert all(set(s) == SPEAKER_KEYS for s in speakers)
    assert all(s["muted"] for s in speakers)  # a fresh bridge fails closed
    assert pin(pins, KITCHEN_PIN).state is False  # relay released = microphone line open
    assert pin(pins, LIVING_PIN).state is False
    assert api.get("/v1/speakers/kitchen").json() == speakers[0]


@pytest.mark.parametrize("speaker_id, output, unmuted_level", [
    ("kitchen", KITCHEN_PIN, True),
    ("living-room", LIVING_PIN, True),
])
def test_put_mute_switches_the_pin_before_the_response(api, pins, speaker_id, output, unmuted_level):
    relay = pin(pins, output)
    sent = time.monotonic()
    response = api.put(f"/v1/speakers/{speaker_id}/mute", json={"muted": False, "reason": "cooking"})
    received = time.monotonic()
    assert response.status_code == 200, response.text
    assert relay.state is unmuted_level
    change_time, level = relay.changes[-1]
    assert level is unmuted_level and sent <= change_time <= received
    body = response.json()
    assert body["muted"] is False
    assert body["reason"] == "cooking"
    assert body["requested_by"] == "Anna's laptop"  # the token's client name
    assert body["source"] == "api"

    response = api.put(f"/v1/speakers/{speaker_id}/mute", json={"muted": True, "requested_by": "kitchen tablet"})
    assert relay.state is not unmuted_level
    assert response.json()["muted"] is True
    assert response.json()["requested_by"] == "kitchen tablet"


def test_sense_line_confirms(api):
    kitchen = api.put("/v1/speakers/kitchen/mute", json={"muted": False}).json()
    assert (kitchen["confirmation"], kitchen["sensed_muted"]) == ("confirmed", False)
    living = api.put("/v1/speakers/living-room/mute", json={"muted": False}).json()
    assert (living["confirmation"], living["sensed_muted"]) == ("unconfirmed", None)


def test_button_driver_pulses_the_opto_coupler(api, pins):
    opto = pin(pins, BEDROOM_PIN)
    before = len(opto.changes)
    body = api.put("/v1/speakers/bedroom/mute", json={"muted": False}).json()
    assert body["muted"] is False and body["confirmation"] == "confirmed"
    assert [level for _, level in opto.changes[before:]] == [True, False]  # one press, released again
    assert opto.state is False


def test_mute_for_mutes_now_and_unmutes_after(bridge, api, pins, clock):
    relay = pin(pins, KITCHEN_PIN)
    api.put("/v1/speakers/kitchen/mute", json={"muted": False})
    assert relay.state is True
    now = clock()
    body = api.put("/v1/speakers/kitchen/mute", json={"muted": True, "duration_s": 3600, "reason": "call"}).json()
    assert body["muted"] is True
    assert relay.state is False
    [window] = [s for s in api.get("/v1/schedules").json() if s["kind"] == "once"]
    assert window["speaker_id"] == "kitchen"
    assert window["end_at"] == pytest.approx(now + 3600, abs=1)

    clock.advance(3599)
    bridge.engine.tick(clock())
    assert relay.state is False
    clock.advance(2)
    bridge.engine.tick(clock())
    assert relay.state is True  # back to how it was before the window
    assert api.get("/v1/speakers/kitchen").json()["muted"] is False


def test_mute_errors(api):
    missing = api.put("/v1/speakers/garage/mute", json={"muted": True})
    assert missing.status_code == 404 and missing.json() == {"detail": "no speaker 'garage'"}
    assert api.get("/v1/speakers/garage").json() == {"detail": "no speaker 'garage'"}

    bad = api.put("/v1/speakers/kitchen/mute", json={"muted": "perhaps"})
    assert bad.status_code == 422
    assert "muted" in bad.json()["detail"]
    assert api.put("/v1/speakers/kitchen/mute", json={"mutd": True}).status_code == 422
    assert api.put("/v1/speakers/kitchen/mute", json={"muted": True, "duration_s": -5}).status_code == 422
    unmute_for = api.put("/v1/speakers/kitchen/mute", json={"muted": False, "duration_s": 60})
    assert unmute_for.status_code == 400
    assert "duration_s" in unmute_for.json()["detail"]
