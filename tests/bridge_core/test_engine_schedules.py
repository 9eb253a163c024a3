"""Schedules enforced by the engine: pins at every boundary, manual changes, overlaps, restarts, DST, one-offs."""

from __future__ import annotations

import dataclasses

import pytest
from core_helpers import NEW_YORK, TEST_CONFIG, local, utc

from device_bridge.engine import BridgeEngine

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def at(bridges, engine: BridgeEngine, when: float) -> None:
    """Move the clock to `when` and let the engine tick there."""
    bridges.clock.set(when)
    engine.tick()


def night(engine: BridgeEngine, speaker: str = "kitchen", start: str = "22:00", end: str = "07:00", **more):
    return engine.add_schedule(speaker_id=speaker, days=EVERY_DAY, start=start, end=end, label="Night", **more)


def test_entering_and_leaving_a_window_drives_the_pin(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    schedule = night(engine)
    assert bridges.unmuted() == {"kitchen"}
    at(bridges, engine, local("2026-06-02 21:59"))
    assert bridges.unmuted() == {"kitchen"}
    at(bridges, engine, local("2026-06-02 22:00"))
    assert bridges.unmuted() == set()
    state = engine.state("kitchen")
    assert (state.muted, state.source, state.schedule_id, state.requested_by, state.reason) == (
        True, "schedule", schedule.id, "schedule", "schedule 'Night'"
    )
    at(bridges, engine, local("2026-06-03 06:59"))
    assert bridges.unmuted() == set()
    at(bridges, engine, local("2026-06-03 07:00"))
    assert bridges.unmuted() == {"kitchen"}  # back to how it was before the window
    state = engine.state("kitchen")
    assert (state.muted, state.source, state.schedule_id, state.reason) == (
        False, "schedule", None, "schedule 'Night' ended"
    )


def test_a_speaker_muted_before_the_window_stays_muted_after_it(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()  # muted since start
    night(engine)
    at(bridges, engine, local("2026-06-02 22:00"))
    at(bridges, engine, local("2026-06-03 07:00"))
    assert engine.state("kitchen").muted is True
    assert bridges.levels()["kitchen"] is False


def test_a_manual_change_during_a_window_lasts_until_the_next_boundary(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    schedule = night(engine)
    at(bridges, engine, local("2026-06-02 22:00"))
    clock.set(local("2026-06-02 23:00"))
    state = engine.set_mute("kitchen", False, reason="late call", requested_by="Anna")
    assert state.schedule_id == schedule.id  # the window is still in force, just overridden
    assert bridges.unmuted() == {"kitchen"}
    at(bridges, engine, local("2026-06-03 03:00"))
    assert bridges.unmuted() == {"kitchen"}
    at(bridges, engine, local("2026-06-03 07:00"))
    assert bridges.unmuted() == {"kitchen"}  # the end does not touch a manual state
    state = engine.state("kitchen")
    assert (state.source, state.reason, state.schedule_id) == ("api", "late call", None)
    at(bridges, engine, local("2026-06-03 22:00"))
    assert bridges.unmuted() == set()  # the next start mutes again


def test_a_manual_mute_during_a_window_is_kept_when_it_ends(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    night(engine)
    at(bridges, engine, local("2026-06-02 22:00"))
    engine.set_mute("kitchen", False)
    engine.set_mute("kitchen", True, reason="changed my mind")
    at(bridges, engine, local("2026-06-03 07:00"))
    assert engine.state("kitchen").muted is True  # the schedule's mute was no longer the one in force


def test_overlapping_windows_keep_the_speaker_muted_while_any_is_in_force(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    first = night(engine)
    second = engine.add_schedule(speaker_id="kitchen", days=EVERY_DAY, start="06:00", end="08:00", label="Morning")
    at(bridges, engine, local("2026-06-02 22:00"))
    assert engine.state("kitchen").schedule_id == first.id
    at(bridges, engine, local("2026-06-03 06:00"))
    assert engine.state("kitchen").schedule_id == second.id  # the window that began last
    at(bridges, engine, local("2026-06-03 07:00"))
    assert bridges.unmuted() == set()
    assert engine.state("kitchen").schedule_id == second.id
    at(bridges, engine, local("2026-06-03 08:00"))
    assert bridges.unmuted() == {"kitchen"}


def test_a_window_starting_during_a_manual_change_mutes_and_then_restores_it(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    night(engine)
    engine.add_schedule(speaker_id="kitchen", days=EVERY_DAY, start="06:00", end="08:00", label="Morning")
    at(bridges, engine, local("2026-06-02 22:00"))
    clock.set(local("2026-06-02 23:00"))
    engine.set_mute("kitchen", False)
    at(bridges, engine, local("2026-06-03 06:00"))
    assert bridges.unmuted() == set()  # a boundary: the manual change is over
    at(bridges, engine, local("2026-06-03 07:00"))
    assert bridges.unmuted() == set()
    at(bridges, engine, local("2026-06-03 08:00"))
    assert bridges.unmuted() == {"kitchen"}  # back to the manual state from before "Morning"


def test_a_schedule_for_every_speaker_drives_every_pin(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    for speaker in ("kitchen", "bedroom", "office", "den"):
        engine.set_mute(speaker, False)
    night(engine, speaker="*")
    at(bridges, engine, local("2026-06-02 22:00"))
    assert bridges.unmuted() == set()
    assert [s.muted for s in engine.speakers()] == [True] * 4
    assert bridges.simulated[engine]["bedroom"].muted  # the button speaker was pressed
    assert engine.state("bedroom").confirmation == "confirmed"
    at(bridges, engine, local("2026-06-03 07:00"))
    assert bridges.unmuted() == {"kitchen", "office"}
    assert not bridges.simulated[engine]["bedroom"].muted


def test_adding_a_window_that_is_in_force_mutes_at_once(bridges, clock):
    clock.set(local("2026-06-02 23:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    night(engine)
    assert bridges.unmuted() == set()  # before add_schedule returned
    assert engine.state("kitchen").source == "schedule"


def test_deleting_or_disabling_a_window_in_force_ends_it(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    engine.set_mute("office", False)
    kitchen = night(engine)
    office = night(engine, speaker="office")
    at(bridges, engine, local("2026-06-02 23:00"))
    assert bridges.unmuted() == set()
    engine.delete_schedule(kitchen.id)
    assert bridges.unmuted() == {"kitchen"}
    updated = engine.update_schedule(office.id, enabled=False)
    assert updated.enabled is False and updated.start == "22:00"
    assert bridges.unmuted() == {"kitchen", "office"}
    assert [s.id for s in engine.schedules()] == [office.id]
    changes = [e.data for e in engine.events.since(0) if e.type == "schedule_changed"]
    assert changes[-2] == {"schedule": None, "id": kitchen.id}
    assert changes[-1] == {"schedule": updated.to_dict(), "id": office.id}


def test_moving_a_window_acts_on_the_new_times(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    schedule = night(engine)
    engine.update_schedule(schedule.id, start="20:00")
    assert bridges.unmuted() == set()  # 21:00 is inside 20:00-07:00


def test_nonsense_schedules_are_refused_in_plain_words(bridges):
    engine = bridges.engine()
    with pytest.raises(ValueError, match="^no speaker 'attic'$"):
        engine.add_schedule(speaker_id="attic", days=[0], start="22:00", end="07:00")
    with pytest.raises(ValueError, match="^the window is empty: end equals start$"):
        engine.add_schedule(speaker_id="kitchen", days=[0], start="22:00", end="22:00")
    with pytest.raises(ValueError, match="^choose at least one day$"):
        engine.add_schedule(speaker_id="kitchen", days=[], start="22:00", end="07:00")
    with pytest.raises(KeyError):
        engine.update_schedule(99, label="x")
    with pytest.raises(KeyError):
        engine.delete_schedule(99)
    assert engine.schedules() == []


# --- one-offs -----------------------------------------------------------------------------------------

def test_mute_for_mutes_now_and_restores_when_it_runs_out(bridges, clock):
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    start = clock.now
    schedule = engine.mute_for("kitchen", 3600, reason="guests", requested_by="Anna's laptop")
    assert (schedule.kind, schedule.start_at, schedule.end_at, schedule.label) == (
        "once", start, start + 3600, "guests"
    )
    state = engine.state("kitchen")
    assert (state.muted, state.source, state.reason, state.requested_by, state.schedule_id) == (
        True, "schedule", "guests", "Anna's laptop", schedule.id
    )
    assert bridges.unmuted() == set()
    at(bridges, engine, start + 3599)
    assert bridges.unmuted() == set()
    at(bridges, engine, start + 3600)
    assert bridges.unmuted() == {"kitchen"}
    assert engine.mute_for("office", 90).label == "Muted for 90 seconds"
    assert engine.mute_for("office", 7200).label == "Muted for 2 hours"
    assert engine.mute_for("office", 1500).label == "Muted for 25 minutes"
    with pytest.raises(ValueError, match="how long"):
        engine.mute_for("kitchen", 0)
    with pytest.raises(KeyError):
        engine.mute_for("attic", 60)


def test_ended_one_offs_are_cleared_away_after_a_day(bridges, clock):
    engine = bridges.engine()
    schedule = engine.mute_for("kitchen", 60)
    at(bridges, engine, clock.now + 3600)
    assert [s.id for s in engine.schedules()] == [schedule.id]
    at(bridges, engine, clock.now + 86400)
    assert engine.schedules() == []
    assert engine.events.since(0)[-1].data == {"schedule": None, "id": schedule.id}


# --- restarts -----------------------------------------------------------------------------------------

def test_a_restart_inside_a_window_keeps_a_manual_change(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    night(engine)
    at(bridges, engine, local("2026-06-02 22:00"))
    clock.set(local("2026-06-02 23:00"))
    engine.set_mute("kitchen", False)
    clock.set(local("2026-06-03 01:00"))
    again = bridges.restart(engine)
    assert bridges.unmuted() == {"kitchen"}  # the manual change holds until 07:00
    at(bridges, again, local("2026-06-03 07:00"))
    assert bridges.unmuted() == {"kitchen"}


def test_a_window_that_began_while_the_bridge_was_down_is_entered_on_start(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    night(engine)
    clock.set(local("2026-06-02 23:30"))
    again = bridges.restart(engine)
    assert bridges.unmuted() == set()
    assert again.state("kitchen").source == "schedule"
    at(bridges, again, local("2026-06-03 07:00"))
    assert bridges.unmuted() == {"kitchen"}  # and the state from before the window comes back


def test_a_window_that_ended_while_the_bridge_was_down_is_left_on_start(bridges, clock):
    clock.set(local("2026-06-02 21:00"))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    night(engine)
    at(bridges, engine, local("2026-06-02 22:00"))
    clock.set(local("2026-06-03 08:00"))
    bridges.restart(engine)
    assert bridges.unmuted() == {"kitchen"}


def test_the_schedule_thread_acts_on_a_boundary_within_a_tick(bridges, clock):
    clock.set(local("2026-06-02 21:59"))
    engine = bridges.engine(tick_interval_s=0.01)
    engine.set_mute("kitchen", False)
    night(engine)
    with engine.events.subscribe() as subscription:
        clock.set(local("2026-06-02 22:00"))
        event = subscription.get(timeout=10)
    assert (event.type, event.speaker_id, event.data["muted"], event.data["source"]) == (
        "mute_changed", "kitchen", True, "schedule"
    )
    assert bridges.unmuted() == set()


def test_a_clock_that_jumps_back_is_evaluated_again(bridges, clock):
    clock.set(local("2026-06-02 23:00"))
    engine = bridges.engine()
    night(engine)
    assert engine.state("kitchen").source == "schedule"
    at(bridges, engine, local("2026-06-02 12:00"))  # e.g. NTP correcting a wrong boot time
    assert bridges.unmuted() == set()  # left the window, restored the pre-window state: muted since start
    assert engine.state("kitchen").schedule_id is None


# --- DST ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("evening", "start_utc", "end_utc"),
    [
        ("2026-03-28 21:00", "2026-03-28 21:00", "2026-03-29 05:00"),  # Berlin springs forward: 8 h
        ("2026-03-29 21:00", "2026-03-29 20:00", "2026-03-30 05:00"),  # the first summer-time night
        ("2026-10-24 21:00", "2026-10-24 20:00", "2026-10-25 06:00"),  # Berlin falls back: 10 h
        ("2026-10-25 21:00", "2026-10-25 21:00", "2026-10-26 06:00"),  # the first winter-time night
    ],
)
def test_the_night_window_in_berlin_across_dst(bridges, clock, evening, start_utc, end_utc):
    clock.set(local(evening))
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    night(engine)
    at(bridges, engine, utc(start_utc) - 1)
    assert bridges.unmuted() == {"kitchen"}
    at(bridges, engine, utc(start_utc))
    assert bridges.unmuted() == set()
    at(bridges, engine, utc(end_utc) - 1)
    assert bridges.unmuted() == set()
    at(bridges, engine, utc(end_utc))
    assert bridges.unmuted() == {"kitchen"}


def test_a_02_30_start_on_the_spring_forward_day_acts_at_03_00(bridges, clock):
    clock.set(utc("2026-03-29 00:00"))  # 01:00 CET
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    engine.add_schedule(speaker_id="kitchen", days=[6], start="02:30", end="04:00")
    at(bridges, engine, utc("2026-03-29 00:59"))
    assert bridges.unmuted() == {"kitchen"}
    at(bridges, engine, utc("2026-03-29 01:00"))  # 03:00 CEST: the clocks just jumped
    assert bridges.unmuted() == set()
    at(bridges, engine, utc("2026-03-29 02:00"))  # 04:00 CEST
    assert bridges.unmuted() == {"kitchen"}


def test_the_night_window_in_new_york_when_the_clocks_fall_back(bridges, clock):
    config = dataclasses.replace(TEST_CONFIG, timezone="America/New_York")
    clock.set(local("2026-10-31 21:00", NEW_YORK))
    engine = bridges.engine(config)
    engine.set_mute("kitchen", False)
    night(engine)
    at(bridges, engine, utc("2026-11-01 02:00"))  # 22:00 EDT
    assert bridges.unmuted() == set()
    at(bridges, engine, utc("2026-11-01 06:30"))  # the second 01:30 (EST): still night
    assert bridges.unmuted() == set()
    at(bridges, engine, utc("2026-11-01 11:59"))
    assert bridges.unmuted() == set()
    at(bridges, engine, utc("2026-11-01 12:00"))  # 07:00 EST
    assert bridges.unmuted() == {"kitchen"}
