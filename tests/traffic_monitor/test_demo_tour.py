"""The demo's tour: a seeded past (once, never over real data) and a first minute that shows every flag."""

from __future__ import annotations

import time

from gpiozero.pins.mock import MockFactory

from device_bridge.config import simulated_config
from device_bridge.service import BridgeService
from zoneinfo import ZoneInfo

from device_bridge.deletion.repository import DeletionRepository
from device_bridge.simulate.tour import HISTORY_S, DemoTour, seed_deletions, seed_history
from device_bridge.store import BridgeStore
from device_bridge.traffic.model import Activation
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource

SPEAKERS = ("kitchen", "bedroom", "living-room")


def test_the_seeded_week_has_every_kind_of_activation_and_a_day_of_history(tmp_path):
    store = BridgeStore(tmp_path / "bridge.db")
    now = 1_790_000_000.0
    added = seed_history(store, SPEAKERS, now, mic_id="room")
    found = store.activations(None, None, limit=10_000)
    assert added == len(found) > 3 * 7
    assert {f for a in found for f in a.flags} == {"no_speech_nearby", "during_schedule", "while_muted"}
    assert {a.speaker_id for a in found} == set(SPEAKERS)
    assert all(a.start < a.end <= now and a.bytes_up > 100_000 for a in found)
    day = store.traffic("kitchen", int(now) - HISTORY_S, int(now))
    assert len(day) == HISTORY_S
    assert all(covered == 1.0 for *_, covered in day)
    recent = [a for a in found if a.speaker_id == "kitchen" and a.start > now - HISTORY_S]
    for activation in recent:  # the history shows the seeded uploads where they happened
        second = int(activation.start) - (int(now) - HISTORY_S)
        assert day[second][1] > 50_000
    mic = store.mic_history("room", int(now) - HISTORY_S, int(now))
    assert len(mic) == HISTORY_S and any(speech for *_, speech in mic)
    assert seed_history(store, SPEAKERS, now + 60) == 0  # once only
    store.close()


def test_the_demo_has_a_nightly_voice_deletion_with_a_week_of_outcomes(tmp_path):
    store = BridgeStore(tmp_path / "bridge.db")
    zone = ZoneInfo("Europe/Berlin")
    now = 1_790_000_000.0  # 2026-09-21 16:13 in Berlin: the last seeded night is yesterday's
    assert seed_deletions(store, SPEAKERS, now, zone) == 7
    repository = DeletionRepository(store)
    (schedule,) = repository.schedules()
    assert (schedule.speaker_id, schedule.vendor, schedule.enabled) == ("kitchen", "amazon", True)
    assert schedule.recurrence.next_after(now, zone) == [1_790_027_700.0]  # tonight at 23:55 in Berlin
    runs = repository.runs()
    assert [r.outcome for r in runs].count("no_upload_seen") == 1
    assert all(r.done and r.occurrence < now and r.mute_restored for r in runs)
    uploads = {a.id: a for a in store.activations(None, None)}
    for run in runs:
        if run.outcome == "sent_and_uploaded":
            upload = uploads[run.activation_id]
            assert upload.flags == {"deletion_command"} and run.occurrence < upload.start < run.finished_at
    assert seed_deletions(store, SPEAKERS, now + 60, zone) == 0  # once only
    store.close()
    with BridgeStore(tmp_path / "other.db") as other:
        assert seed_deletions(other, ("bedroom",), now, zone) == 0  # no kitchen speaker


def test_history_is_never_seeded_over_real_activations(tmp_path):
    store = BridgeStore(tmp_path / "bridge.db")
    store.add_activation(Activation("kitchen", 100.0, 106.0, 200_000, 76_000.0, 0.99))
    assert seed_history(store, SPEAKERS, 1_790_000_000.0) == 0
    assert len(store.activations(None, None)) == 1
    store.close()


def test_the_tour_unmutes_two_speakers_and_plays_each_step(tmp_path):
    source = SimulatedTrafficSource(simulated_config("UTC").speakers, seed=2, behaviour=QUIET_BEHAVIOUR)
    factory = MockFactory()
    service = BridgeService(simulated_config("UTC"), tmp_path / "bridge", port=0, pin_factory=factory,
                            advertise=False, simulate_speakers=True, traffic_source=source)
    service.start()
    tour = DemoTour(service.engine, source, tour=((0.0, "voice", "kitchen"), (0.0, "misactivation", "living-room"),
                                                  (0.0, "mute_fails", "bedroom")))
    try:
        tour.start()
        assert [service.engine.state(s).muted for s in SPEAKERS] == [False, True, False]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len({(b.speaker_id, b.kind) for b in source.bursts}) < 3:
            time.sleep(0.1)
        sent = {(b.speaker_id, b.kind) for b in source.bursts}
        assert {("kitchen", "voice"), ("living-room", "misactivation"), ("bedroom", "voice")} <= sent, list(source.bursts)
    finally:
        tour.stop()
        service.stop()
        factory.reset()
        from gpiozero import Device
        Device.pin_factory = None


def test_the_tour_is_refused_without_simulated_speakers(capsys):
    from device_bridge.cli import main

    assert main(["serve", "--tour", "--config", "/nonexistent.toml"]) == 2
    assert "--tour needs --simulate" in capsys.readouterr().err
