"""The voice deletion API on a real bridge (uvicorn + TLS on 127.0.0.1, MockFactory pins, simulated speakers, a
real espeak-ng phrase), as the app uses it: capabilities, schedules, runs and their events."""

from __future__ import annotations

import threading
import wave

import pytest
from bridge_helpers import wait_until
from deletion_helpers import ALEXA, write_wav

from device_bridge.deletion.phrases import CACHE_DIR

RUN_KEYS = {"id", "schedule_id", "speaker_id", "vendor", "phrase", "occurrence", "started_at", "finished_at", "state",
            "phase", "outcome", "why", "attempts", "activation_id", "upload_bytes", "mute_lifted", "mute_restored"}
SCHEDULE = {"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA, "rrule": "FREQ=DAILY;BYHOUR=23;BYMINUTE=55",
            "dtstart": "2026-11-27T23:55"}


@pytest.fixture
def served(make_served):
    return make_served()


def _patch(api, path: str, **kwargs):
    return api.request("PATCH", path, **kwargs)


def _finished(api, run_id: int) -> dict:
    def done():
        runs = [r for r in api.get("/v1/deletions/runs").json() if r["id"] == run_id]
        return runs[0] if runs and runs[0]["state"] == "done" else None

    return wait_until(done)


def test_capabilities(served, data_dir):
    write_wav(data_dir / "phrases" / "mine.wav", 2.0)
    (data_dir / "phrases" / "notes.txt").write_text("not audio")
    response = served.client.get("/v1/deletions/capabilities")
    assert response.status_code == 200
    body = response.json()
    assert body["phrases"] == {
        "amazon": ["Alexa, delete everything I said today", "Alexa, delete what I just said"],
        "google": ["Hey Google, delete today's activity", "Hey Google, delete this week's activity",
                   "Hey Google, delete my last conversation"],
    }
    assert (body["tts"], body["player"]) == (True, True)
    assert body["tts_detail"].startswith("espeak-ng") and "voice en-us" in body["tts_detail"]
    assert "simulated" in body["player_detail"]
    assert body["recordings"] == ["mine.wav"]


def test_schedules_are_created_listed_changed_and_removed(served):
    api = served.client
    created = api.post("/v1/deletions/schedules", json={**SCHEDULE, "label": "Nightly"})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["dtstart"] == "2026-11-27T23:55:00" and schedule["audio"] == "tts"
    assert len(schedule["next_runs"]) == 3 and schedule["last_run"] is None
    assert api.get("/v1/deletions/schedules").json() == [schedule]

    changed = _patch(api, f"/v1/deletions/schedules/{schedule['id']}",
                        json={"rrule": "RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=23;BYMINUTE=55",
                              "prerequisite": {"name": "Enable deletion by voice", "enabled": True,
                                               "recorded_at": 1.5}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["rrule"] == "FREQ=WEEKLY;BYDAY=SU;BYHOUR=23;BYMINUTE=55"
    assert changed.json()["prerequisite"] == {"name": "Enable deletion by voice", "enabled": True, "recorded_at": 1.5}
    assert changed.json()["label"] == "Nightly"
    cleared = _patch(api, f"/v1/deletions/schedules/{schedule['id']}", json={"prerequisite": None, "enabled": False})
    assert (cleared.json()["prerequisite"], cleared.json()["next_runs"]) == (None, [])

    assert api.delete(f"/v1/deletions/schedules/{schedule['id']}").status_code == 204
    assert api.get("/v1/deletions/schedules").json() == []
    missing = api.delete(f"/v1/deletions/schedules/{schedule['id']}")
    assert missing.status_code == 404 and missing.json() == {"detail": f"no voice deletion schedule {schedule['id']}"}
    assert _patch(api, "/v1/deletions/schedules/999", json={"label": "x"}).status_code == 404


@pytest.mark.parametrize("change, words", [
    ({"rrule": "FREQ=SOMETIMES"}, "the rule 'FREQ=SOMETIMES' cannot be read"),
    ({"dtstart": "27.11.2026 23:55"}, "the start must be a wall time"),
    ({"rrule": "FREQ=DAILY;COUNT=1", "dtstart": "2020-01-01T00:00"}, "this rule never happens again"),
    ({"rrule": "FREQ=MINUTELY;INTERVAL=15"}, "runs more than once an hour"),
    ({"phrase": ""}, "say which phrase to speak"),
    ({"phrase": "a" * 201}, "at most 200"),
    ({"vendor": "apple"}, "not 'apple'"),
    ({"speaker_id": "garage"}, "there is no speaker 'garage'"),
    ({"audio": "recording", "recording": "nope.wav"}, "nope.wav does not exist"),
])
def test_a_refused_schedule_is_a_422_in_plain_words(served, change, words):
    response = served.client.post("/v1/deletions/schedules", json={**SCHEDULE, **change})
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_unknown_fields_and_a_changed_speaker_are_refused(served):
    api = served.client
    assert api.post("/v1/deletions/schedules", json={**SCHEDULE, "volume": 11}).status_code == 422
    schedule = api.post("/v1/deletions/schedules", json=SCHEDULE).json()
    refused = _patch(api, f"/v1/deletions/schedules/{schedule['id']}", json={"speaker_id": "bedroom"})
    assert refused.status_code == 422 and "speaker_id" in refused.json()["detail"]


def test_a_run_over_the_api_unmutes_only_while_it_runs(served, pin_factory, data_dir):
    api = served.client
    stream = served.stream()
    assert served.pins()["kitchen"] is False

    response = api.post("/v1/deletions/run", json={"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA})

    assert response.status_code == 202, response.text
    queued = response.json()
    assert set(queued) == RUN_KEYS and queued["state"] == "running" and queued["schedule_id"] is None
    run = _finished(api, queued["id"])
    assert run["outcome"] == "sent_and_uploaded" and run["mute_restored"] is True
    # Pins: released before and after, held from the lifting through the watch.
    assert served.steps.seen[0][1]["kitchen"] is True
    assert {"lifting", "playing", "watching"} <= served.steps.phases_with("kitchen", True)
    assert served.pins()["kitchen"] is False
    assert served.pins()["bedroom"] is False  # the other speaker was never touched
    speaker = api.get("/v1/speakers/kitchen").json()
    assert (speaker["muted"], speaker["source"], speaker["confirmation"]) == (True, "deletion", "confirmed")
    # The phrase: a real espeak-ng WAV, neither silent nor implausibly long.
    [played] = served.player.played
    assert played.path.parent == data_dir / CACHE_DIR
    with wave.open(str(played.path)) as reader:
        seconds = reader.getnframes() / reader.getframerate()
    assert 1.5 < seconds < 5.0 and played.duration_s == pytest.approx(seconds)
    # The proof, as the Activity page will see it.
    [activation] = [a for a in api.get("/v1/activations").json() if a["id"] == run["activation_id"]]
    assert activation["flags"] == ["deletion_command"]
    assert run["activation_id"] not in [a["id"] for a in api.get("/v1/activations", params={"flagged": True}).json()]
    # Events: the run starting and ending.
    started = stream.wait_for(lambda e: e.get("type") == "deletion_run")
    ended = stream.wait_for(lambda e: e.get("type") == "deletion_run")
    assert (started["data"]["state"], ended["data"]) == ("running", run)


def test_no_upload_over_the_api_retries_and_raises_the_alarm(make_served):
    served = make_served(ignored=("kitchen",))
    stream = served.stream()
    queued = served.client.post("/v1/deletions/run",
                                json={"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA}).json()
    run = _finished(served.client, queued["id"])
    assert (run["outcome"], run["attempts"], run["mute_restored"]) == ("no_upload_seen", 2, True)
    alarm = stream.wait_for(lambda e: e.get("type") == "alarm")
    assert alarm["speaker_id"] == "kitchen" and alarm["data"]["level"] == "warning"
    assert "Kitchen Echo" in alarm["data"]["message"]
    assert served.pins()["kitchen"] is False


def test_a_second_run_for_the_same_speaker_is_a_409(served):
    api = served.client
    hold, holding = threading.Event(), threading.Event()

    def wait_here():
        holding.set()
        hold.wait(10)

    served.steps.at("watching", wait_here)
    command = {"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA}
    first = api.post("/v1/deletions/run", json=command).json()
    try:
        assert holding.wait(10)
        second = api.post("/v1/deletions/run", json=command)
        assert second.status_code == 409 and second.json() == {
            "detail": "kitchen already has a voice deletion in progress"}
        in_progress = api.get("/v1/deletions/runs", params={"after_id": first["id"] - 1}).json()[0]
        assert (in_progress["phase"], in_progress["mute_lifted"]) == ("watching", True)
        assert api.get("/v1/speakers/kitchen").json()["source"] == "deletion"
    finally:
        hold.set()
    assert _finished(api, first["id"])["outcome"] == "sent_and_uploaded"


def test_runs_are_listed_after_an_id(served):
    api = served.client
    ids = []
    for speaker in ("kitchen", "bedroom"):
        ids.append(api.post("/v1/deletions/run", json={"speaker_id": speaker, "vendor": "google",
                                                       "phrase": "Hey Google, delete today's activity"}).json()["id"])
        _finished(api, ids[-1])
    assert [r["id"] for r in api.get("/v1/deletions/runs").json()] == ids
    assert [r["id"] for r in api.get("/v1/deletions/runs", params={"after_id": ids[0]}).json()] == ids[1:]
    assert [r["id"] for r in api.get("/v1/deletions/runs", params={"limit": 1}).json()] == ids[:1]
    assert api.get("/v1/deletions/runs", params={"limit": 0}).status_code == 422


def test_a_refused_run_is_a_422(served):
    response = served.client.post("/v1/deletions/run", json={"speaker_id": "garage", "vendor": "amazon",
                                                              "phrase": ALEXA})
    assert response.status_code == 422 and response.json()["detail"] == "there is no speaker 'garage' on this bridge"
