"""Deletion schedules: RFC 5545 rules in the bridge's zone (DST both ways in Europe/Berlin), what is refused and
why, occurrences turning into runs, and occurrences missed while the bridge was off."""

from __future__ import annotations

from datetime import datetime

import pytest
from deletion_helpers import ALEXA, BERLIN, local, write_wav

from device_bridge.deletion import Recurrence


def _schedule(**fields):
    return {"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA, "rrule": "FREQ=DAILY;BYHOUR=23;BYMINUTE=55",
            "dtstart": "2026-06-01T23:55", **fields}


def _walls(instants):
    return [datetime.fromtimestamp(t, BERLIN).strftime("%Y-%m-%d %H:%M %Z") for t in instants]


# --- recurrence ------------------------------------------------------------------------------------------

def test_spring_forward_moves_a_skipped_time_to_the_jump():
    rule = Recurrence.parse("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "2026-03-01T02:30", zone=BERLIN,
                            now=local("2026-03-27 12:00"))
    assert _walls(rule.next_after(local("2026-03-27 12:00"), BERLIN, 4)) == [
        "2026-03-28 02:30 CET", "2026-03-29 03:00 CEST", "2026-03-30 02:30 CEST", "2026-03-31 02:30 CEST"]


def test_fall_back_takes_the_first_of_a_time_shown_twice():
    rule = Recurrence.parse("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "2026-10-01T02:30", zone=BERLIN,
                            now=local("2026-10-24 12:00"))
    instants = rule.next_after(local("2026-10-24 12:00"), BERLIN, 3)
    assert _walls(instants) == ["2026-10-25 02:30 CEST", "2026-10-26 02:30 CET", "2026-10-27 02:30 CET"]
    assert instants[1] - instants[0] == 25 * 3600  # the day with an hour more
    assert rule.between(local("2026-10-24 12:00"), local("2026-10-26 12:00"), BERLIN) == instants[:2]


def test_an_hourly_rule_across_the_spring_gap_runs_once_at_the_jump():
    rule = Recurrence.parse("FREQ=HOURLY", "2026-03-29T00:00", zone=BERLIN, now=local("2026-03-28 12:00"))
    assert _walls(rule.next_after(local("2026-03-28 23:30"), BERLIN, 4)) == [
        "2026-03-29 00:00 CET", "2026-03-29 01:00 CET", "2026-03-29 03:00 CEST", "2026-03-29 04:00 CEST"]


def test_a_weekly_rule_keeps_its_wall_time_across_both_changes():
    rule = Recurrence.parse("RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=23;BYMINUTE=55", "2026-03-01T23:55", zone=BERLIN,
                            now=local("2026-03-20 12:00"))
    assert rule.rrule == "FREQ=WEEKLY;BYDAY=SU;BYHOUR=23;BYMINUTE=55" and rule.dtstart == "2026-03-01T23:55:00"
    assert _walls(rule.next_after(local("2026-03-20 12:00"), BERLIN, 2)) == [
        "2026-03-22 23:55 CET", "2026-03-29 23:55 CEST"]
    assert _walls(rule.next_after(local("2026-10-20 12:00"), BERLIN, 2)) == [
        "2026-10-25 23:55 CET", "2026-11-01 23:55 CET"]


@pytest.mark.parametrize("rule, dtstart, message", [
    ("FREQ=DAILY;BYHOUR=25", "2026-06-01T23:55", "the rule 'FREQ=DAILY;BYHOUR=25' cannot be read"),
    ("delete daily", "2026-06-01T23:55", "the rule 'delete daily' cannot be read"),
    ("FREQ=DAILY\nEXDATE:20260602T235500", "2026-06-01T23:55", "cannot be read"),
    ("FREQ=DAILY", "2026-06-01 23:55", 'the start must be a wall time like "2026-11-27T23:55"'),
    ("FREQ=DAILY", "2026-06-01T23:55+02:00", "the start must be a wall time"),
    ("FREQ=DAILY", "2026-02-30T23:55", "is not a real date and time"),
    ("FREQ=DAILY;COUNT=3", "2026-05-01T23:55", "this rule never happens again"),
    ("FREQ=DAILY;UNTIL=20260501T000000", "2026-04-01T23:55", "this rule never happens again"),
    ("FREQ=MINUTELY;INTERVAL=20", "2026-06-01T23:55", "runs more than once an hour"),
    ("FREQ=DAILY;BYHOUR=23;BYMINUTE=0,30", "2026-06-01T23:00", "runs more than once an hour"),
    ("", "2026-06-01T23:55", "say when the deletion runs"),
])
def test_rules_that_are_refused_say_why(rule, dtstart, message):
    with pytest.raises(ValueError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")):
        Recurrence.parse(rule, dtstart, zone=BERLIN, now=local("2026-06-02 10:00"))


def test_hourly_is_the_most_often_a_rule_may_run():
    Recurrence.parse("FREQ=HOURLY", "2026-06-01T00:00", zone=BERLIN, now=local("2026-06-02 10:00"))
    Recurrence.parse("FREQ=MINUTELY;INTERVAL=60", "2026-06-01T00:00", zone=BERLIN, now=local("2026-06-02 10:00"))


# --- schedules on a runner -------------------------------------------------------------------------------

@pytest.fixture
def evening(clock):
    clock.set(local("2026-06-02 23:50"))
    return clock


def test_a_schedule_shows_its_next_runs_and_its_last_run(make_rig, evening):
    rig = make_rig()
    created = rig.runner.add_schedule(_schedule(label="Nightly"))
    assert set(created) == {"id", "speaker_id", "vendor", "phrase", "audio", "recording", "rrule", "dtstart",
                            "prerequisite", "enabled", "label", "created_at", "next_runs", "last_run"}
    assert created["next_runs"] == [local("2026-06-02 23:55"), local("2026-06-03 23:55"), local("2026-06-04 23:55")]
    assert (created["dtstart"], created["label"], created["last_run"], created["recording"]) == (
        "2026-06-01T23:55:00", "Nightly", None, None)
    assert rig.runner.update_schedule(created["id"], {"enabled": False})["next_runs"] == []
    assert rig.runner.update_schedule(created["id"], {"enabled": True})["next_runs"][0] == local("2026-06-02 23:55")


def test_an_occurrence_runs_at_its_time(make_rig, evening):
    rig = make_rig()
    schedule = rig.runner.add_schedule(_schedule())
    rig.runner.tick()
    assert rig.runner.runs() == []
    evening.set(local("2026-06-02 23:55"))

    rig.runner.tick()

    runs = rig.runner.runs()
    assert [(r["schedule_id"], r["occurrence"], r["outcome"]) for r in runs] == [
        (schedule["id"], local("2026-06-02 23:55"), "sent_and_uploaded")]
    assert rig.runner.schedules()[0]["last_run"] == runs[0]
    rig.runner.tick()
    assert len(rig.runner.runs()) == 1  # once per occurrence


def test_an_occurrence_missed_by_less_than_half_an_hour_still_runs(make_rig, evening):
    rig = make_rig()
    rig.runner.add_schedule(_schedule())
    rig.close()
    evening.set(local("2026-06-03 00:20"))  # the bridge was off at 23:55

    restarted = make_rig()
    restarted.runner.tick()

    assert [(r["occurrence"], r["outcome"]) for r in restarted.runner.runs()] == [
        (local("2026-06-02 23:55"), "sent_and_uploaded")]


def test_occurrences_missed_for_longer_are_recorded_once_as_skipped(make_rig, evening):
    rig = make_rig()
    rig.runner.add_schedule(_schedule())
    rig.close()
    evening.set(local("2026-06-05 08:00"))  # off for three nights

    restarted = make_rig()
    restarted.runner.tick()

    runs = restarted.runner.runs()
    assert [(r["occurrence"], r["outcome"], r["why"]) for r in runs] == [
        (local("2026-06-04 23:55"), "skipped", "the bridge was not running at 23:55")]
    assert (runs[0]["started_at"], runs[0]["mute_lifted"]) == (None, False)
    assert restarted.player.played == []
    assert [e.data["id"] for e in restarted.events("deletion_run")] == [runs[0]["id"]]


def test_a_new_rule_counts_from_now(make_rig, evening):
    rig = make_rig()
    schedule = rig.runner.add_schedule(_schedule())
    evening.set(local("2026-06-03 09:00"))
    rig.runner.update_schedule(schedule["id"], {"rrule": "FREQ=DAILY;BYHOUR=8;BYMINUTE=0"})
    rig.runner.tick()
    assert rig.runner.runs() == []  # neither last night's 23:55 nor this morning's 08:00


def test_a_disabled_schedule_does_not_run(make_rig, evening):
    rig = make_rig()
    rig.runner.add_schedule(_schedule(enabled=False))
    evening.set(local("2026-06-02 23:55"))
    rig.runner.tick()
    assert rig.runner.runs() == []


def test_an_occurrence_while_the_speaker_has_a_run_going_is_skipped(make_rig, evening):
    rig = make_rig()
    rig.runner.add_schedule(_schedule())
    rig.runner.run_now({"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA})
    evening.set(local("2026-06-02 23:55"))
    rig.runner.tick(now=local("2026-06-02 23:55"))  # plans before the queued run is done
    outcomes = [(r["schedule_id"] is not None, r["outcome"]) for r in rig.runner.runs()]
    assert (True, "skipped") in outcomes and (False, "sent_and_uploaded") in outcomes
    assert "another voice deletion for this speaker" in next(r["why"] for r in rig.runner.runs() if r["schedule_id"])


@pytest.mark.parametrize("fields, message", [
    ({"phrase": "   "}, "say which phrase to speak"),
    ({"phrase": "x" * 201}, "at most 200"),
    ({"vendor": "apple"}, "amazon and google speakers, not 'apple'"),
    ({"speaker_id": "garage"}, "there is no speaker 'garage'"),
    ({"audio": "recording", "recording": None}, "needs its WAV file's name"),
    ({"audio": "recording", "recording": "../bridge.db"}, "a recording is the name of a .wav file"),
    ({"audio": "recording", "recording": "missing.wav"}, "missing.wav does not exist"),
    ({"audio": "recording", "recording": "silent.wav"}, "silent.wav is (nearly) silent"),
    ({"audio": "speech"}, 'audio is "tts"'),
    ({"prerequisite": {"name": "", "enabled": True}}, "the prerequisite needs its name"),
    ({"label": "x" * 101}, "at most 100"),
])
def test_schedules_that_are_refused_say_why(make_rig, data_dir, fields, message):
    write_wav(data_dir / "phrases" / "silent.wav", 2.0, amplitude=0.0)
    rig = make_rig()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        rig.runner.add_schedule(_schedule(**fields))


def test_a_schedule_whose_rule_has_ended_can_still_be_renamed_and_disabled(make_rig, evening):
    rig = make_rig()
    schedule = rig.runner.add_schedule(_schedule(rrule="FREQ=DAILY;COUNT=2;BYHOUR=23;BYMINUTE=55",
                                                 dtstart="2026-06-02T23:55"))
    evening.set(local("2026-06-04 12:00"))
    assert rig.runner.update_schedule(schedule["id"], {"label": "done"})["label"] == "done"
    assert rig.runner.update_schedule(schedule["id"], {"enabled": False})["enabled"] is False
    with pytest.raises(ValueError, match="never happens again"):
        rig.runner.update_schedule(schedule["id"], {"enabled": True})
    with pytest.raises(ValueError, match="cannot be changed"):
        rig.runner.update_schedule(schedule["id"], {"speaker_id": "bedroom"})
    with pytest.raises(KeyError):
        rig.runner.update_schedule(999, {"label": "x"})


def test_a_schedule_whose_recording_went_missing_can_still_be_changed(make_rig, data_dir):
    path = write_wav(data_dir / "phrases" / "mine.wav", 2.0)
    rig = make_rig()
    schedule = rig.runner.add_schedule(_schedule(audio="recording", recording="mine.wav"))
    path.unlink()
    assert rig.runner.update_schedule(schedule["id"], {"label": "mine"})["recording"] == "mine.wav"
    with pytest.raises(ValueError, match="mine.wav does not exist"):
        rig.runner.update_schedule(schedule["id"], {"recording": "mine.wav"})
    switched = rig.runner.update_schedule(schedule["id"], {"audio": "tts"})
    assert (switched["audio"], switched["recording"]) == ("tts", None)


def test_schedules_and_runs_survive_a_restart(make_rig, evening):
    rig = make_rig()
    schedule = rig.runner.add_schedule(_schedule(prerequisite={"name": "Enable deletion by voice", "enabled": True,
                                                               "recorded_at": 1_700_000_000.0}))
    run = rig.run_now("bedroom")
    rig.close()
    restarted = make_rig()
    assert restarted.runner.schedules()[0]["prerequisite"] == {
        "name": "Enable deletion by voice", "enabled": True, "recorded_at": 1_700_000_000.0}
    assert restarted.runner.schedules()[0]["id"] == schedule["id"]
    assert restarted.runner.runs() == [run]
    assert restarted.runner.runs(after_id=run["id"]) == []


def test_runs_are_kept_a_year(make_rig, clock):
    rig = make_rig()
    old = rig.run_now("kitchen")
    rig.close()
    clock.advance(366 * 86400)
    restarted = make_rig()
    assert old["id"] not in [r["id"] for r in restarted.runner.runs()]
