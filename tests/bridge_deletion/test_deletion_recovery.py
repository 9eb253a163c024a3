"""A bridge that died during a voice deletion: the journal puts the lifted mute back before any pin is driven."""

from __future__ import annotations

from deletion_helpers import ALEXA, CONFIG, KITCHEN_PIN

from device_bridge.deletion import DeletionRun, recover_interrupted_runs
from device_bridge.deletion.recovery import STOPPED_BEFORE, STOPPED_DURING
from device_bridge.deletion.repository import DeletionRepository
from device_bridge.mute.state import UNCONFIRMED, MuteState
from device_bridge.service import BridgeService
from device_bridge.store import BridgeStore


def _state(speaker_id: str, muted: bool, source: str, requested_by: str = "scheduled deletion") -> MuteState:
    return MuteState(speaker_id=speaker_id, muted=muted, confirmation=UNCONFIRMED, sensed_muted=None,
                     changed_at=1.0, reason="r", requested_by=requested_by, source=source, schedule_id=None)


def _journal(store: BridgeStore, *, speaker_id: str = "kitchen", phase: str = "watching", pre_muted=True,
             pre_source: str | None = "api", mute_lifted: bool = True) -> DeletionRun:
    run = DeletionRun(id=0, schedule_id=None, speaker_id=speaker_id, vendor="amazon", phrase=ALEXA, audio="tts",
                      recording=None, prerequisite=None, occurrence=1.0, started_at=1.0, phase=phase,
                      pre_muted=pre_muted, pre_source=pre_source, mute_lifted=mute_lifted, attempts=1)
    return DeletionRepository(store).add_run(run)


def test_a_lifted_mute_is_put_back_and_the_run_ends_skipped(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", False, "deletion"))
        run = _journal(store)

        ended = recover_interrupted_runs(store, clock=lambda: 50.0)

        state = store.load_mute_states()["kitchen"]
        assert (state.muted, state.source) == (True, "deletion")
        assert [(r.id, r.outcome, r.why, r.mute_restored, r.finished_at) for r in ended] == [
            (run.id, "skipped", STOPPED_DURING, True, 50.0)]
        assert DeletionRepository(store).unfinished_runs() == []
        assert STOPPED_DURING == "the bridge stopped during the deletion; the mute was restored when it started again"


def test_someone_elses_change_during_the_run_stands(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", False, "api", "Anna's laptop"))
        _journal(store)

        [ended] = recover_interrupted_runs(store)

        assert not store.load_mute_states()["kitchen"].muted
        assert (ended.outcome, ended.mute_restored) == ("skipped", False)


def test_an_unknown_earlier_state_counts_as_muted(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", False, "deletion"))
        _journal(store, pre_muted=None, phase="lifting", mute_lifted=False)
        recover_interrupted_runs(store)
        assert store.load_mute_states()["kitchen"].muted


def test_a_mute_that_came_from_a_schedule_goes_back_to_the_schedule(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", False, "deletion"))
        _journal(store, pre_source="schedule")
        recover_interrupted_runs(store)
        state = store.load_mute_states()["kitchen"]
        assert (state.muted, state.source) == (True, "schedule")


def test_a_queued_run_ends_without_touching_anything(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", False, "api"))
        _journal(store, phase="checking", pre_muted=None, pre_source=None, mute_lifted=False)
        [ended] = recover_interrupted_runs(store)
        assert (ended.outcome, ended.why, ended.mute_restored) == ("skipped", STOPPED_BEFORE, None)
        assert not store.load_mute_states()["kitchen"].muted


def test_a_deletions_unmute_with_no_journal_is_muted(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", False, "deletion"))
        store.save_mute_state(_state("bedroom", False, "api"))
        assert recover_interrupted_runs(store) == []
        states = store.load_mute_states()
        assert states["kitchen"].muted and not states["bedroom"].muted


def test_a_run_of_an_unmuted_speaker_never_mutes_it(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", True, "deletion"))  # an earlier run's restore
        _journal(store, pre_muted=False, mute_lifted=False)
        [ended] = recover_interrupted_runs(store)
        assert store.load_mute_states()["kitchen"].muted and ended.mute_restored is None


def test_the_bridge_comes_up_with_the_pins_muted_and_says_so(data_dir, pin_factory, clock):
    with BridgeStore(data_dir / "bridge.db") as store:
        store.save_mute_state(_state("kitchen", False, "deletion"))
        run = _journal(store)
    service = BridgeService(CONFIG, data_dir, port=0, clock=clock, advertise=False, simulate_speakers=True,
                            tick_interval_s=3600.0, traffic_options={"sample_thread": False})
    try:
        service.start()
        state = service.engine.state("kitchen")
        assert (state.muted, state.confirmation) == (True, "confirmed")
        assert pin_factory.pin(KITCHEN_PIN).state == 0  # relay released: the microphone line is cut
        [event] = [e for e in service.engine.events.since(0) if e.type == "deletion_run"]
        assert (event.data["id"], event.data["outcome"], event.data["why"]) == (run.id, "skipped", STOPPED_DURING)
        assert service.deletions.runs()[0]["mute_restored"] is True
    finally:
        service.stop()
