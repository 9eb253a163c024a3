"""The bridge's schedule, run and capability JSON as the app reads it; the request bodies it sends; and the
"Enable deletion by voice" prerequisite as recorded in the opt-outs (a real tracker on a real database)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.deletions.voice import (
    DEFAULT_PHRASE,
    OUTCOME_TITLE,
    PREREQUISITE_SETTING,
    VOICE_PHRASES,
    DeletionCapabilities,
    Prerequisite,
    Recurrence,
    VoiceRun,
    VoiceSchedule,
    normalise_vendor,
    prerequisite_for,
    run_fields,
    schedule_fields,
    stale_prerequisites,
)
from app.optouts.speakers import SpeakerRef, bridge_key

RUN = {"id": 7, "schedule_id": 2, "speaker_id": "kitchen", "vendor": "amazon",
       "phrase": "Alexa, delete everything I said today", "occurrence": 1795780800.0, "started_at": 1795780800.5,
       "finished_at": 1795780830.0, "state": "done", "phase": "done", "outcome": "sent_and_uploaded",
       "why": "an upload of 12 kB began 1.4 s after the phrase", "attempts": 1, "activation_id": 31,
       "upload_bytes": 12000, "mute_lifted": True, "mute_restored": True}
SCHEDULE = {"id": 2, "speaker_id": "kitchen", "vendor": "amazon", "phrase": "Alexa, delete everything I said today",
            "audio": "tts", "recording": None, "rrule": "FREQ=DAILY;BYHOUR=23;BYMINUTE=55",
            "dtstart": "2026-11-27T23:55:00",
            "prerequisite": {"name": "Enable deletion by voice", "enabled": True, "recorded_at": 1795000000.0},
            "enabled": True, "label": "Nightly", "created_at": 1795780000.0,
            "next_runs": [1795816500.0, 1795902900, 1795989300.0], "last_run": RUN}


def test_the_phrases_and_prerequisites_match_the_bridge_contract():
    assert VOICE_PHRASES["amazon"] == ("Alexa, delete everything I said today", "Alexa, delete what I just said")
    assert VOICE_PHRASES["google"] == ("Hey Google, delete today's activity", "Hey Google, delete this week's activity",
                                       "Hey Google, delete my last conversation")
    assert all(DEFAULT_PHRASE[v] in VOICE_PHRASES[v] for v in DEFAULT_PHRASE)
    assert PREREQUISITE_SETTING == {"amazon": "amazon.deletion-by-voice"}
    assert [normalise_vendor(v) for v in ("Amazon", " google ", "Amazon.com", "", None)] == \
        ["amazon", "google", "amazon", None, None]


def test_a_finished_run_is_read_with_its_outcome_and_plain_title():
    run = VoiceRun.from_bridge("b1", RUN)
    assert run.key == ("b1", 7) and run.schedule_id == 2 and run.occurrence == 1795780800.0
    assert not run.running and not run.failed and run.when == 1795780800.5
    assert run.title == OUTCOME_TITLE["sent_and_uploaded"]
    assert run.mute_lifted and run.mute_restored and run.upload_bytes == 12000
    assert VoiceRun.from_bridge("b1", run.to_json()) == run


def test_running_skipped_and_unconfirmed_runs_say_so():
    running = VoiceRun.from_bridge("b1", {**RUN, "state": "running", "phase": "watching", "outcome": None,
                                          "finished_at": None, "mute_restored": None})
    assert running.running and not running.failed and running.title == "Running: watching for the upload"
    skipped = VoiceRun.from_bridge("b1", {**RUN, "outcome": "skipped", "why": "the bridge was not running at 23:55",
                                          "started_at": None, "schedule_id": None})
    assert skipped.failed and skipped.title == "Skipped" and skipped.when == skipped.occurrence
    unseen = VoiceRun.from_bridge("b1", {**RUN, "outcome": "no_upload_seen", "attempts": 2})
    assert unseen.failed and unseen.title == "Not confirmed: no upload seen"
    newer = VoiceRun.from_bridge("b1", {**RUN, "outcome": "something_new"})
    assert not newer.failed and newer.title == "Something new"
    # Only what is required must be there.
    minimal = VoiceRun.from_bridge("b1", {"id": 1, "speaker_id": "kitchen", "occurrence": 5})
    assert minimal.running and minimal.attempts == 0 and minimal.mute_restored is None


@pytest.mark.parametrize("change, field", [
    ({"id": "7"}, "'id'"),
    ({"id": True}, "'id'"),
    ({"speaker_id": ""}, "'speaker_id'"),
    ({"occurrence": "tonight"}, "'occurrence'"),
    ({"occurrence": float("nan")}, "'occurrence'"),
    ({"mute_lifted": "yes"}, "'mute_lifted'"),
    ({"attempts": 1.5}, "'attempts'"),
    ({"why": 3}, "'why'"),
])
def test_a_broken_run_is_refused_naming_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        VoiceRun.from_bridge("b1", {**RUN, **change})
    with pytest.raises(ValueError, match="not an object"):
        VoiceRun.from_bridge("b1", [RUN])


def test_a_schedule_is_read_with_its_prerequisite_next_runs_and_last_run():
    schedule = VoiceSchedule.from_bridge("b1", SCHEDULE)
    assert schedule.key == ("b1", 2) and schedule.describe() == "Every day at 23:55"
    assert schedule.recurrence == Recurrence("FREQ=DAILY;BYHOUR=23;BYMINUTE=55", "2026-11-27T23:55:00")
    assert schedule.prerequisite == Prerequisite("Enable deletion by voice", True, 1795000000.0)
    assert schedule.next_runs == (1795816500.0, 1795902900.0, 1795989300.0)
    assert schedule.last_run == VoiceRun.from_bridge("b1", RUN)
    assert schedule.fields() == {k: v for k, v in SCHEDULE.items()
                                 if k not in ("id", "created_at", "next_runs", "last_run")}
    bare = VoiceSchedule.from_bridge("b1", {**SCHEDULE, "prerequisite": None, "last_run": None, "next_runs": []})
    assert bare.prerequisite is None and bare.last_run is None and bare.next_runs == ()


@pytest.mark.parametrize("change, field", [
    ({"rrule": None}, "'rrule'"),
    ({"enabled": "no"}, "'enabled'"),
    ({"next_runs": ["soon"]}, "'next_runs'"),
    ({"prerequisite": {"name": "x", "enabled": "on"}}, "prerequisite field 'enabled'"),
    ({"last_run": {**RUN, "occurrence": None}}, "deletion run field 'occurrence'"),
])
def test_a_broken_schedule_is_refused_naming_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        VoiceSchedule.from_bridge("b1", {**SCHEDULE, **change})


def test_capabilities_are_read_and_checked():
    found = DeletionCapabilities.from_bridge({
        "tts": True, "tts_detail": "espeak-ng 1.51", "player": False, "player_detail": "no audio output found",
        "phrases": {"amazon": list(VOICE_PHRASES["amazon"])}, "recordings": ["mine.wav"]})
    assert found.tts and not found.player and not found.can_speak
    assert found.phrases == {"amazon": VOICE_PHRASES["amazon"]} and found.recordings == ("mine.wav",)
    with pytest.raises(ValueError, match="'recordings'"):
        DeletionCapabilities.from_bridge({"tts": True, "recordings": "mine.wav"})
    with pytest.raises(ValueError, match="'tts'"):
        DeletionCapabilities.from_bridge({"player": True})


def test_request_bodies_are_checked_before_they_are_sent():
    nightly = Recurrence.daily(23, 55, dt.date(2026, 11, 27))
    body = schedule_fields(speaker_id="kitchen", vendor="Amazon", phrase="  Alexa,  delete everything I said today ",
                           recurrence=nightly, label=" Every  night ")
    assert body == {"speaker_id": "kitchen", "vendor": "amazon", "phrase": "Alexa, delete everything I said today",
                    "audio": "tts", "recording": None, "prerequisite": None, "rrule": nightly.rrule,
                    "dtstart": nightly.dtstart, "enabled": True, "label": "Every night"}
    assert run_fields(speaker_id="hall", vendor="google", phrase="Hey Google, delete today's activity",
                      audio="recording", recording="mine.wav")["recording"] == "mine.wav"
    for kwargs, words in [({"vendor": "apple"}, "only for Amazon and Google"), ({"phrase": " "}, "Write the phrase"),
                          ({"phrase": "x" * 201}, "under 200"), ({"audio": "mp3"}, "tts"),
                          ({"audio": "recording"}, "Choose the recording")]:
        fields = {"speaker_id": "kitchen", "vendor": "amazon", "phrase": "Alexa, delete what I just said", **kwargs}
        with pytest.raises(ValueError, match=words):
            run_fields(**fields)


def test_the_prerequisite_follows_what_the_opt_outs_record(optouts, clock):
    kitchen = bridge_key("b1", "kitchen")
    assert prerequisite_for(optouts, kitchen, "google") is None
    assert prerequisite_for(optouts, kitchen, "amazon") == {"name": "Enable deletion by voice", "enabled": False,
                                                            "recorded_at": None}
    # An Amazon account not linked to any speaker counts while none is linked to this one.
    family = optouts.add_account("amazon", "Amazon - family")
    optouts.confirm(family.account_id, "amazon.deletion-by-voice", "On")
    assert prerequisite_for(optouts, kitchen, "Amazon") == {"name": "Enable deletion by voice", "enabled": True,
                                                            "recorded_at": clock.now}
    # Once an account is linked to the speaker, only linked accounts count.
    clock.advance(60)
    work = optouts.add_account("amazon", "Amazon - work", [SpeakerRef(kitchen, "Kitchen Echo")])
    assert prerequisite_for(optouts, kitchen, "amazon")["enabled"] is False
    optouts.confirm(work.account_id, "amazon.deletion-by-voice", "Off")
    assert prerequisite_for(optouts, kitchen, "amazon") == {"name": "Enable deletion by voice", "enabled": False,
                                                            "recorded_at": clock.now}
    clock.advance(60)
    optouts.confirm(work.account_id, "amazon.deletion-by-voice", "On")
    assert prerequisite_for(optouts, kitchen, "amazon") == {"name": "Enable deletion by voice", "enabled": True,
                                                            "recorded_at": clock.now}
    # A Google account linked to the speaker does not count for Amazon.
    optouts.add_account("google", "Google", [SpeakerRef(bridge_key("b1", "hall"), "Hall")])
    assert prerequisite_for(optouts, bridge_key("b1", "hall"), "amazon")["enabled"] is True  # the unlinked family one


def test_schedules_whose_prerequisite_changed_are_found_with_the_update_to_send(optouts, clock):
    schedule = VoiceSchedule.from_bridge("b1", {**SCHEDULE, "prerequisite": {
        "name": "Enable deletion by voice", "enabled": False, "recorded_at": None}})
    google = VoiceSchedule.from_bridge("b1", {**SCHEDULE, "id": 3, "vendor": "google", "prerequisite": None})
    assert stale_prerequisites([schedule, google], optouts) == []
    account = optouts.add_account("amazon", "Amazon", [SpeakerRef(bridge_key("b1", "kitchen"), "Kitchen")])
    optouts.confirm(account.account_id, "amazon.deletion-by-voice", "On")
    assert stale_prerequisites([schedule, google], optouts) == [
        (schedule, {"prerequisite": {"name": "Enable deletion by voice", "enabled": True, "recorded_at": clock.now}})]
