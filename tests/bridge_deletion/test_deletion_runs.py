"""A voice deletion run on a real engine (MockFactory pins, simulated speakers, a real store): lift, play, watch,
retry, restore. Restoring the mute is the safety property: every way a run can end is tried here."""

from __future__ import annotations

import re

import pytest
from deletion_helpers import ALEXA, write_wav

from device_bridge.deletion import PhraseSynthesizer, RunInProgress, SoundDevicePlayer
from device_bridge.deletion.recovery import STOPPED_BEFORE


def _state(rig, speaker_id="kitchen"):
    return rig.engine.state(speaker_id)


def test_a_run_lifts_the_mute_plays_sees_the_upload_and_mutes_again(rig):
    assert rig.pins()["kitchen"] is False  # muted: relay released

    run = rig.run_now("kitchen")

    assert run["outcome"] == "sent_and_uploaded", run["why"]
    assert re.fullmatch(r"an upload of \d+ kB began \d+\.\d s after the phrase", run["why"])
    assert (run["state"], run["phase"], run["attempts"]) == ("done", "done", 1)
    assert (run["mute_lifted"], run["mute_restored"]) == (True, True)
    # The relay was held from the lifting on, through the whole watch, and released by the restore.
    assert {"lifting", "playing", "watching"} <= rig.steps.phases_with("kitchen", True)
    assert not rig.steps.phases_with("kitchen", True) & {None, "checking"}
    assert rig.pins()["kitchen"] is False
    state = _state(rig)
    assert (state.muted, state.source, state.confirmation) == (True, "deletion", "confirmed")
    # The proof: the simulated speaker's answer, flagged as the command, not as a problem.
    activation = rig.activation(run["activation_id"])
    assert activation.flags == frozenset({"deletion_command"})
    assert run["upload_bytes"] == activation.bytes_up > 100_000
    assert rig.store.activations(flagged=True) == []
    played = rig.player.played
    assert [(p.speaker_id, p.path.suffix) for p in played] == [("kitchen", ".wav")]
    assert 1.0 < played[0].duration_s < 6.0
    # Told twice: when it starts and when it ends; no alarm.
    events = [e.data for e in rig.events("deletion_run")]
    assert [(e["state"], e["phase"]) for e in events] == [("running", "checking"), ("done", "done")]
    assert events[-1] == run
    assert rig.events("alarm") == []


def test_a_speaker_that_was_not_muted_is_not_touched(make_rig):
    rig = make_rig(unmuted=("kitchen",))
    before = _state(rig)

    run = rig.run_now("kitchen")

    assert run["outcome"] == "sent_and_uploaded"
    assert (run["mute_lifted"], run["mute_restored"]) == (False, None)
    assert _state(rig) == before
    assert rig.pins()["kitchen"] is True


def test_no_upload_plays_once_more_then_says_so_and_raises_an_alarm(make_rig):
    rig = make_rig(ignored=("kitchen",))

    run = rig.run_now("kitchen")

    assert run["outcome"] == "no_upload_seen"
    assert run["why"] == "Kitchen Echo sent nothing within 20 s of the phrase, played twice"
    assert run["attempts"] == 2 and len(rig.player.played) == 2
    assert (run["activation_id"], run["upload_bytes"]) == (None, None)
    assert (run["mute_lifted"], run["mute_restored"]) == (True, True)
    assert _state(rig).muted and rig.pins()["kitchen"] is False
    # The mute stayed lifted through both tries.
    assert rig.steps.phases_with("kitchen", False) <= {None, "checking", "restoring"}
    alarms = [e for e in rig.events("alarm")]
    assert len(alarms) == 1
    assert alarms[0].speaker_id == "kitchen" and alarms[0].data["level"] == "warning"
    assert "Kitchen Echo did not send the voice deletion command" in alarms[0].data["message"]


def test_the_retry_counts_when_the_speaker_answers_it(make_rig):
    rig = make_rig(ignored=("kitchen",))
    # It hears the phrase from the second time on (the player decides who answers as it starts playing).
    rig.steps.at("watching", lambda: rig.player.ignore("kitchen", False))

    run = rig.run_now("kitchen")

    assert run["outcome"] == "sent_and_uploaded" and run["attempts"] == 2
    assert run["why"].endswith("(played a second time)")
    assert _state(rig).muted


def test_playback_failing_still_restores_the_mute(rig):
    rig.player.failure = "the USB sound card went away"

    run = rig.run_now("kitchen")

    assert run["outcome"] == "skipped"
    assert run["why"] == "the phrase could not be played: the USB sound card went away; the mute was restored"
    assert (run["mute_lifted"], run["mute_restored"]) == (True, True)
    assert _state(rig).muted and rig.pins()["kitchen"] is False


class Boom(Exception):
    pass


def _raise():
    raise Boom("the monitor fell over")


@pytest.mark.parametrize("phase", ["lifting", "playing", "watching"])
def test_an_exception_at_any_phase_still_restores_the_mute(rig, phase):
    rig.steps.at(phase, _raise)

    run = rig.run_now("kitchen")

    assert run["outcome"] == "skipped"
    assert run["why"] == "the deletion failed: the monitor fell over; the mute was restored"
    assert run["mute_restored"] is True
    assert _state(rig).muted and rig.pins()["kitchen"] is False
    assert rig.runner.active() is None or rig.runner.active().done
    # The runner goes on: the next run works.
    assert rig.run_now("kitchen")["outcome"] == "sent_and_uploaded"


@pytest.mark.parametrize("phase", ["lifting", "playing", "watching"])
def test_a_bridge_stopping_at_any_phase_restores_the_mute(rig, phase):
    rig.steps.at(phase, rig.runner.stop)

    run = rig.run_now("kitchen")

    assert run["outcome"] == "skipped"
    assert run["why"] == "the bridge stopped during the deletion; the mute was restored"
    assert run["mute_restored"] is True
    assert _state(rig).muted and rig.pins()["kitchen"] is False


def test_queued_runs_end_skipped_when_the_bridge_stops(rig):
    queued = [rig.runner.run_now({"speaker_id": sid, "vendor": "amazon", "phrase": ALEXA})
              for sid in ("kitchen", "bedroom")]
    rig.runner.stop()
    runs = {r["id"]: r for r in rig.runner.runs()}
    assert [(runs[q["id"]]["outcome"], runs[q["id"]]["why"]) for q in queued] == [("skipped", STOPPED_BEFORE)] * 2
    assert _state(rig).muted and _state(rig, "bedroom").muted


@pytest.mark.parametrize("muted", [True, False], ids=["muted", "unmuted"])
def test_someone_changing_the_mute_during_the_run_keeps_their_choice(rig, muted):
    rig.steps.at("watching", lambda: rig.engine.set_mute("kitchen", muted, reason="bedtime",
                                                         requested_by="Anna's laptop"))

    run = rig.run_now("kitchen")

    change = "muted" if muted else "unmuted"
    assert run["outcome"] == "skipped"
    assert run["why"] == f"the mute was changed during the deletion: {change} by Anna's laptop (bedtime)"
    assert (run["mute_lifted"], run["mute_restored"]) == (True, False)
    state = _state(rig)
    assert (state.muted, state.source, state.requested_by) == (muted, "api", "Anna's laptop")
    assert rig.pins()["kitchen"] is (not muted)


def test_a_change_after_the_upload_was_seen_keeps_the_success_and_the_change(rig):
    rig.steps.at("watching", lambda: rig.engine.set_mute("kitchen", False, requested_by="Anna's laptop"),
                 when=lambda run: run.why == "the command is going out")

    run = rig.run_now("kitchen")

    assert run["outcome"] == "sent_and_uploaded"
    assert run["why"].endswith("; the mute was then unmuted by Anna's laptop, and left so")
    assert run["mute_restored"] is False
    assert not _state(rig).muted


def test_the_mute_of_an_unmuted_speaker_changed_during_the_run_ends_it(make_rig):
    rig = make_rig(unmuted=("kitchen",))
    rig.steps.at("watching", lambda: rig.engine.set_mute("kitchen", True, requested_by="Anna's laptop"))

    run = rig.run_now("kitchen")

    assert run["outcome"] == "skipped" and run["why"].startswith("the mute was changed during the deletion: muted")
    assert (run["mute_lifted"], run["mute_restored"]) == (False, None)
    assert _state(rig).muted


def test_a_schedule_window_starting_mid_run_mutes_and_keeps_it_muted_after_the_window(rig):
    def window():
        now = rig.clock()
        rig.engine.add_schedule(speaker_id="kitchen", kind="once", start_at=now, end_at=now + 600, label="Quiet")

    rig.steps.at("watching", window)

    run = rig.run_now("kitchen")

    assert run["outcome"] == "skipped"
    assert run["why"] == "the mute was changed during the deletion: muted by schedule (schedule 'Quiet')"
    state = _state(rig)
    assert (state.muted, state.source) == (True, "schedule") and rig.pins()["kitchen"] is False
    # When the window ends it restores what was there before it: the mute the deletion had lifted, not the lift.
    rig.clock.advance(700)
    rig.engine.tick()
    state = _state(rig)
    assert state.muted and state.schedule_id is None and rig.pins()["kitchen"] is False


def test_a_run_inside_a_quiet_window_gives_the_mute_back_to_the_window(make_rig):
    rig = make_rig(unmuted=("kitchen",))
    now = rig.clock()
    rig.engine.add_schedule(speaker_id="kitchen", kind="once", start_at=now, end_at=now + 600, label="Night")
    assert _state(rig).source == "schedule" and _state(rig).muted

    run = rig.run_now("kitchen")

    assert run["outcome"] == "sent_and_uploaded" and run["mute_restored"] is True
    state = _state(rig)
    assert (state.muted, state.source) == (True, "schedule")
    # The window's end unmutes it, as it would have without the deletion.
    rig.clock.advance(700)
    rig.engine.tick()
    assert not _state(rig).muted and rig.pins()["kitchen"] is True


def test_a_prerequisite_not_recorded_as_on_skips_without_touching_the_mute(rig):
    run = rig.run_now("kitchen", prerequisite={"name": "Enable deletion by voice", "enabled": False,
                                               "recorded_at": None})
    assert run["outcome"] == "skipped"
    assert run["why"] == "“Enable deletion by voice” is not recorded as on in Earmuff's opt-outs"
    assert (run["mute_lifted"], run["mute_restored"], run["attempts"]) == (False, None, 0)
    assert rig.steps.seen == [] and rig.player.played == []
    assert rig.run_now("kitchen", prerequisite={"name": "Enable deletion by voice", "enabled": True,
                                                "recorded_at": 1.0})["outcome"] == "sent_and_uploaded"


def test_without_espeak_the_run_is_skipped_and_says_what_to_install(make_rig, data_dir):
    rig = make_rig(synthesizer=PhraseSynthesizer(data_dir / "cache", command="espeak-ng-not-here"))
    run = rig.run_now("kitchen")
    assert run["outcome"] == "skipped"
    assert "espeak-ng-not-here is not installed" in run["why"] and "apt install espeak-ng" in run["why"]
    assert not run["mute_lifted"] and _state(rig).muted


def test_without_an_audio_output_the_run_is_skipped(make_rig):
    rig = make_rig(player=SoundDevicePlayer("no such loudspeaker anywhere"))
    run = rig.run_now("kitchen")
    assert run["outcome"] == "skipped" and "audio output" in run["why"]
    assert not run["mute_lifted"] and _state(rig).muted


def test_without_traffic_measurement_the_run_is_skipped(make_rig):
    rig = make_rig(traffic=False)
    run = rig.run_now("kitchen")
    assert run["outcome"] == "skipped" and "does not measure" in run["why"]
    assert not run["mute_lifted"]


def test_a_speaker_whose_traffic_is_not_measured_is_skipped(make_rig):
    rig = make_rig(measured=("bedroom",))
    rig.run(0.2)
    run = rig.run_now("kitchen")
    assert run["outcome"] == "skipped"
    assert run["why"].startswith("the bridge does not measure Kitchen Echo's traffic")
    assert not run["mute_lifted"] and _state(rig).muted


def test_a_users_own_recording_is_played(make_rig, data_dir):
    write_wav(data_dir / "phrases" / "my voice.wav", 2.0)
    rig = make_rig()
    run = rig.run_now("kitchen", audio="recording", recording="my voice.wav")
    assert run["outcome"] == "sent_and_uploaded"
    assert [p.path for p in rig.player.played] == [data_dir / "phrases" / "my voice.wav"]


def test_a_recording_that_went_missing_is_skipped(make_rig, data_dir):
    path = write_wav(data_dir / "phrases" / "mine.wav", 2.0)
    rig = make_rig()
    queued = rig.runner.run_now({"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA, "audio": "recording",
                                 "recording": "mine.wav"})
    path.unlink()
    rig.runner.tick()
    run = rig.run_record(queued["id"])
    assert run["outcome"] == "skipped" and "mine.wav does not exist" in run["why"]


def test_a_speaker_already_uploading_holds_the_run_up_to_a_minute(rig):
    rig.source.inject_burst("kitchen", at=rig.clock(), shape=[40_000.0] * 120, kind="misactivation")
    rig.engine.set_mute("kitchen", False)  # let it upload
    rig.run(5)
    assert rig.engine.monitor.uploading("kitchen")
    rig.engine.set_mute("kitchen", True)
    rig.source.set_mute_fails("kitchen")  # the upload goes on regardless

    run = rig.run_now("kitchen")

    assert run["outcome"] == "skipped"
    assert run["why"] == "Kitchen Echo was busy sending audio for over 60 s; the phrase was not played"
    assert not run["mute_lifted"] and rig.player.played == []


def test_a_short_upload_in_progress_only_delays_the_run(rig):
    rig.engine.set_mute("kitchen", False)
    rig.source.inject_burst("kitchen", at=rig.clock())
    rig.run(3)
    assert rig.engine.monitor.uploading("kitchen")
    started = rig.clock()

    run = rig.run_now("kitchen")

    assert run["outcome"] == "sent_and_uploaded"
    assert rig.player.played[0].when - started > 3  # it waited for the first upload to end


def test_one_run_per_speaker_at_a_time(rig):
    rig.runner.run_now({"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA})
    with pytest.raises(RunInProgress):
        rig.runner.run_now({"speaker_id": "kitchen", "vendor": "amazon", "phrase": ALEXA})
    rig.runner.run_now({"speaker_id": "bedroom", "vendor": "amazon", "phrase": ALEXA})  # another speaker: queued
    rig.runner.tick()
    assert [(r["speaker_id"], r["outcome"]) for r in rig.runner.runs()] == [
        ("kitchen", "sent_and_uploaded"), ("bedroom", "sent_and_uploaded")]
    # The runs went one after the other: one loudspeaker.
    assert [p.speaker_id for p in rig.player.played] == ["kitchen", "bedroom"]


def test_the_run_is_journaled_before_the_mute_is_lifted(rig):
    journal = []

    def look():
        row = rig.store.query("SELECT phase, pre_muted, pre_source FROM deletion_runs")[0]
        journal.append((row, rig.engine.state("kitchen").source))

    original = rig.engine.set_mute

    def set_mute(*args, **kwargs):
        if kwargs.get("source") == "deletion" and not journal:
            look()
        return original(*args, **kwargs)

    rig.engine.set_mute = set_mute
    rig.run_now("kitchen")
    assert journal == [(("lifting", 1, "startup"), "startup")]
