"""Schedules over the API: create, list, change, delete; plain 400/422 messages for nonsense."""

from __future__ import annotations

import datetime

import pytest
from bridge_helpers import KITCHEN_PIN, pin

NIGHT = {"speaker_id": "kitchen", "kind": "weekly", "days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00",
         "end": "07:00", "label": "Night"}
SCHEDULE_KEYS = {"id", "speaker_id", "kind", "days", "start", "end", "start_at", "end_at", "label", "enabled"}


def test_schedule_crud(api):
    created = api.post("/v1/schedules", json=NIGHT)
    assert created.status_code == 201, created.text
    night = created.json()
    assert set(night) == SCHEDULE_KEYS
    assert {k: night[k] for k in NIGHT} == NIGHT
    assert night["enabled"] is True
    assert api.get("/v1/schedules").json() == [night]

    changed = api.put(f"/v1/schedules/{night['id']}", json={"label": "Sleep", "days": [0, 1, 2, 3, 4]})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**night, "label": "Sleep", "days": [0, 1, 2, 3, 4]}
    full = {**NIGHT, "start": "23:30", "end": "06:30", "enabled": False}
    assert api.put(f"/v1/schedules/{night['id']}", json=full).json() == {**night, **full}

    assert api.delete(f"/v1/schedules/{night['id']}").status_code == 204
    assert api.get("/v1/schedules").json() == []
    for method in ("put", "delete"):
        gone = getattr(api, method)(f"/v1/schedules/{night['id']}", json={"label": "x"})
        assert gone.status_code == 404 and gone.json() == {"detail": f"no schedule {night['id']}"}


def test_one_off_and_every_speaker(api, clock):
    start = clock() + 3600
    once = api.post("/v1/schedules", json={"speaker_id": "*", "kind": "once", "start_at": start,
                                           "end_at": start + 1800, "label": "Guests"})
    assert once.status_code == 201, once.text
    assert once.json()["speaker_id"] == "*"
    assert once.json()["start_at"] == pytest.approx(start)


@pytest.mark.parametrize("fields, words", [
    ({"start": "22:00", "end": "22:00"}, "end"),
    ({"days": []}, "day"),
    ({"speaker_id": "garage"}, "garage"),
    ({"start": "25:00"}, "25:00"),
    ({"days": [7]}, "days"),
])
def test_nonsense_gets_a_plain_400(api, fields, words):
    response = api.post("/v1/schedules", json={**NIGHT, **fields})
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail


def test_one_off_ending_before_it_starts(api, clock):
    now = clock()
    response = api.post("/v1/schedules", json={"speaker_id": "kitchen", "kind": "once",
                                               "start_at": now + 600, "end_at": now + 60})
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("body", [
    {**NIGHT, "days": "weekdays"},
    {**NIGHT, "kind": "monthly"},
    {**NIGHT, "colour": "red"},
    {"kind": "weekly"},
])
def test_wrong_types_get_a_plain_422(api, body):
    response = api.post("/v1/schedules", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


def test_changing_nothing_or_into_nonsense(api):
    night = api.post("/v1/schedules", json=NIGHT).json()
    assert api.put(f"/v1/schedules/{night['id']}", json={}).status_code == 400
    assert api.put(f"/v1/schedules/{night['id']}", json={"end": "22:00"}).status_code == 400
    assert api.get("/v1/schedules").json() == [night]


def test_a_window_created_over_the_api_drives_the_pin(bridge, api, pins, clock):
    relay = pin(pins, KITCHEN_PIN)
    api.put("/v1/speakers/kitchen/mute", json={"muted": False})
    assert relay.state is True
    now = datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc)
    start = (now + datetime.timedelta(minutes=2)).strftime("%H:%M")
    end = (now + datetime.timedelta(minutes=62)).strftime("%H:%M")
    api.post("/v1/schedules", json={**NIGHT, "start": start, "end": end})

    bridge.engine.tick(clock())
    assert relay.state is True
    clock.advance(180)
    bridge.engine.tick(clock())
    assert relay.state is False
    assert api.get("/v1/speakers/kitchen").json()["source"] == "schedule"
    clock.advance(3600)
    bridge.engine.tick(clock())
    assert relay.state is True
