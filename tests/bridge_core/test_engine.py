"""The engine: pins after every command, restarts that restore pins first, override buttons, sense alarms."""

from __future__ import annotations

import threading

import pytest
from core_helpers import (
    BEDROOM_PIN,
    DEN_PIN,
    KITCHEN_OVERRIDE,
    KITCHEN_PIN,
    KITCHEN_SENSE,
    OFFICE_PIN,
    TEST_CONFIG,
)

from device_bridge.engine import BridgeEngine, MuteState
from device_bridge.store import BridgeStore


def events_of(engine: BridgeEngine, type_: str) -> list:
    return [e for e in engine.events.since(0) if e.type == type_]


def test_pins_stay_muted_from_construction_until_start(bridges):
    engine = bridges.engine(start=False)
    assert bridges.unmuted() == set()
    assert all(not driver.output_active for driver in engine.drivers.values())


def test_start_mutes_every_speaker_never_commanded_and_stores_that(bridges, clock):
    started_at = clock.now
    engine = bridges.engine()
    assert bridges.levels() == {"kitchen": False, "bedroom": False, "office": False, "den": False}
    kitchen = engine.state("kitchen")
    assert kitchen == MuteState("kitchen", True, "confirmed", True, started_at, "never set: muted until told otherwise",
                                "bridge", "startup", None)
    assert [s.confirmation for s in engine.speakers()] == ["confirmed", "confirmed", "unconfirmed", "unconfirmed"]
    assert bridges.simulated[engine]["bedroom"].muted  # the pretend button speaker was pressed into mute
    with BridgeStore(bridges.store_path) as other:
        assert {sid: s.muted for sid, s in other.load_mute_states().items()} == {
            "kitchen": True, "bedroom": True, "office": True, "den": True
        }
    assert sorted(e.speaker_id for e in events_of(engine, "mute_changed")) == ["bedroom", "den", "kitchen", "office"]


def test_set_mute_is_stored_and_on_the_pin_before_it_returns(bridges, clock):
    engine = bridges.engine()
    subscription = engine.events.subscribe()
    clock.advance(60)
    asked_at = clock.now
    state = engine.set_mute("kitchen", False, reason="dinner party", requested_by="Anna's laptop")
    assert bridges.levels()["kitchen"] is True
    assert state == MuteState("kitchen", False, "confirmed", False, asked_at, "dinner party", "Anna's laptop",
                              "api", None)
    assert engine.state("kitchen") == state
    with BridgeStore(bridges.store_path) as other:  # committed: another connection sees it
        assert other.load_mute_states()["kitchen"].muted is False
    event = subscription.get(timeout=1)
    assert (event.type, event.speaker_id, event.data) == ("mute_changed", "kitchen", state.to_dict())
    subscription.close()


def test_every_command_drives_exactly_its_own_pin(bridges):
    engine = bridges.engine()
    steps = [
        ("kitchen", False, {"kitchen"}),
        ("office", False, {"kitchen", "office"}),
        ("kitchen", True, {"office"}),
        ("office", True, set()),
        ("office", True, set()),
    ]
    for speaker, muted, unmuted in steps:
        engine.set_mute(speaker, muted)
        assert bridges.unmuted() == unmuted, (speaker, muted)


def test_the_button_speaker_is_pressed_only_on_a_change(bridges, pin_factory):
    engine = bridges.engine()
    speaker = bridges.simulated[engine]["bedroom"]
    presses = engine.drivers["bedroom"].presses
    assert engine.set_mute("bedroom", False).confirmation == "confirmed"
    assert speaker.muted is False and engine.drivers["bedroom"].presses == presses + 1
    engine.set_mute("bedroom", False)
    assert engine.drivers["bedroom"].presses == presses + 1
    assert pin_factory.pin(BEDROOM_PIN).state is False  # never left pressed
    # Without a sense line: pressed when the command changes, reported unconfirmed.
    den = engine.drivers["den"]
    assert engine.set_mute("den", False).confirmation == "unconfirmed"
    assert den.presses == 1 and pin_factory.pin(DEN_PIN).state is False


def test_unknown_speakers_and_a_stopped_engine_are_refused(bridges):
    engine = bridges.engine(start=False)
    with pytest.raises(RuntimeError, match="not started"):
        engine.set_mute("kitchen", False)
    engine.start()
    with pytest.raises(KeyError):
        engine.set_mute("attic", False)
    with pytest.raises(KeyError):
        engine.state("attic")
    with pytest.raises(ValueError, match="source is one of"):
        engine.set_mute("kitchen", False, source="magic")
    with pytest.raises(RuntimeError, match="starts once"):
        engine.start()
    engine.stop()
    engine.stop()
    with pytest.raises(RuntimeError, match="stopping"):
        engine.set_mute("kitchen", False)


def test_a_restart_restores_the_pins_before_start_returns(bridges, clock):
    engine = bridges.engine()
    engine.set_mute("kitchen", False, reason="cooking", requested_by="Anna")
    engine.set_mute("office", False)
    engine.set_mute("den", False)
    last_seq = engine.events.last_seq
    clock.advance(3600)

    again = bridges.restart(engine, start=False)
    assert bridges.unmuted() == set()  # power-on: everything muted until the engine starts
    again.start()
    assert bridges.unmuted() == {"kitchen", "office"}  # restored before start returned
    kitchen = again.state("kitchen")
    assert (kitchen.muted, kitchen.source, kitchen.reason, kitchen.requested_by, kitchen.confirmation) == (
        False, "api", "cooking", "Anna", "confirmed"
    )
    assert again.drivers["den"].presses == 0  # a speaker nobody can see is not pressed blindly
    assert again.events.last_seq > last_seq
    assert all(e.seq > last_seq for e in again.events.since(last_seq))


def test_a_damaged_store_fails_closed_every_speaker_muted(bridges):
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    engine.set_mute("office", False)
    engine.stop()
    engine.store.close()
    bridges.store_path.write_bytes(b"scrambled by a power cut" * 100)
    again = bridges.restart(engine)
    assert again.store.recovered_from is not None
    assert bridges.unmuted() == set()
    assert {s.source for s in again.speakers()} == {"startup"}


def test_the_override_button_toggles_its_speaker(bridges, pin_factory):
    engine = bridges.engine()
    button = pin_factory.pin(KITCHEN_OVERRIDE)
    assert button.state is True  # pulled up; pressing connects it to ground
    button.drive_low()
    button.drive_high()
    engine.tick()
    state = engine.state("kitchen")
    assert (state.muted, state.source, state.requested_by) == (False, "override", "button on the bridge")
    assert bridges.levels()["kitchen"] is True
    button.drive_low()
    button.drive_high()
    engine.tick()
    assert engine.state("kitchen").muted is True
    assert bridges.levels()["kitchen"] is False


def test_the_engine_thread_handles_a_press_without_waiting_for_a_tick(bridges, pin_factory):
    engine = bridges.engine(tick_interval_s=3600.0)
    with engine.events.subscribe() as subscription:
        pin_factory.pin(KITCHEN_OVERRIDE).drive_low()
        event = subscription.get(timeout=10)
        pin_factory.pin(KITCHEN_OVERRIDE).drive_high()
    assert (event.type, event.data["source"], event.data["muted"]) == ("mute_changed", "override", False)
    assert bridges.levels()["kitchen"] is True


def test_a_sense_mismatch_raises_an_alarm_and_clears_when_the_speaker_agrees(bridges, pin_factory):
    engine = bridges.engine(simulate=False)  # nothing drives the kitchen's sense line: it reads "not muted"
    kitchen = engine.state("kitchen")
    assert (kitchen.muted, kitchen.confirmation, kitchen.sensed_muted) == (True, "mismatch", False)
    # Speakers are switched in parallel at start, so the bedroom's alarm may come first: pick the kitchen's.
    alarm = next(a for a in events_of(engine, "alarm") if a.speaker_id == "kitchen")
    assert alarm.data["level"] == "error"
    assert alarm.data["message"] == "Kitchen: commanded muted, but its sense line says not muted"
    pin_factory.pin(KITCHEN_SENSE).drive_high()
    engine.tick()
    assert engine.state("kitchen").confirmation == "confirmed"
    assert events_of(engine, "mute_changed")[-1].data["confirmation"] == "confirmed"


def test_the_button_driver_retries_once_then_reports_a_mismatch(bridges):
    engine = bridges.engine()
    speaker = bridges.simulated[engine]["bedroom"]
    driver = engine.drivers["bedroom"]
    speaker.ignore_presses = 1
    before = driver.presses
    state = engine.set_mute("bedroom", False)
    assert state.confirmation == "confirmed" and driver.presses == before + 2
    assert events_of(engine, "alarm") == []
    speaker.ignore_presses = 10
    state = engine.set_mute("bedroom", True)
    assert (state.muted, state.confirmation, state.sensed_muted) == (True, "mismatch", False)
    assert driver.presses == before + 4
    alarm = events_of(engine, "alarm")[-1]
    assert (alarm.speaker_id, alarm.data["level"]) == ("bedroom", "error")
    assert "pressed its button 2 times" in alarm.data["message"]


def test_a_speaker_that_changes_by_itself_raises_an_alarm_after_the_settle_time(bridges, clock):
    engine = bridges.engine()
    speaker = bridges.simulated[engine]["kitchen"]
    speaker.set_muted(False)  # someone fiddled with it: the mute light went out
    engine.tick()
    assert engine.state("kitchen").confirmation == "confirmed"  # might be a flicker: not yet
    clock.advance(0.3)
    engine.tick()
    state = engine.state("kitchen")
    assert (state.muted, state.confirmation, state.sensed_muted) == (True, "mismatch", False)
    assert events_of(engine, "alarm")[-1].data["level"] == "error"
    speaker.set_muted(True)
    engine.tick()
    assert engine.state("kitchen").confirmation == "confirmed"


def test_waiting_for_one_speaker_does_not_hold_up_the_others(bridges, clock):
    gate = threading.Event()
    pressing = threading.Event()
    slow_thread: list[threading.Thread] = []

    def sleep(seconds: float) -> None:
        if slow_thread and threading.current_thread() is slow_thread[0]:
            pressing.set()
            assert gate.wait(10), "the test never opened the gate"
        clock.sleep(seconds)

    engine = bridges.engine(sleep=sleep)
    worker = threading.Thread(target=engine.set_mute, args=("bedroom", False), name="slow-bedroom")
    slow_thread.append(worker)
    worker.start()
    try:
        assert pressing.wait(10)  # the bedroom's button is being held down right now
        assert engine.set_mute("kitchen", False).confirmation == "confirmed"
        assert engine.state("bedroom").muted is False  # already committed, confirmation pending
        assert engine.state("bedroom").confirmation == "unconfirmed"
        assert len(engine.speakers()) == 4
    finally:
        gate.set()
        worker.join(10)
    assert engine.state("bedroom").confirmation == "confirmed"


def test_stop_releases_the_pins_without_driving_them(bridges, pin_factory):
    engine = bridges.engine()
    engine.set_mute("kitchen", False)
    engine.stop()
    assert pin_factory.pin(KITCHEN_PIN).function == "input"  # released for the hardware's own default
    assert pin_factory.pin(OFFICE_PIN).function == "input"


def test_the_config_with_no_speakers_still_runs(bridges):
    from device_bridge.config import BridgeConfig

    engine = bridges.engine(BridgeConfig(name="Empty"))
    assert engine.speakers() == []
    engine.tick()
    assert TEST_CONFIG.speakers  # (the shared config is untouched)
