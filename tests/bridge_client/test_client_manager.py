"""BridgeManager against real bridges: pairing into the keyring, mute round trips down to the GPIO pin,
offline with the last known state, schedules, forgetting, and refusing a changed certificate."""

from __future__ import annotations

import threading

import keyring
import pytest
from client_helpers import KITCHEN_PIN, WAIT_S, keyring_backend, second_bridge_config
from keyring.backends import fail

from app.bridge_client import (
    CERTIFICATE_CHANGED_MESSAGE,
    BridgeSession,
    Connection,
    NotAuthorized,
    Outcome,
    PairedBridge,
    RequestRejected,
)
from app.bridge_client.pairing import probe
from app.secrets import SERVICE, MemorySecretStore, SecretStoreUnavailable


class Result:
    """A command callback a test can wait on (it is called on a worker thread)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.outcome: Outcome | None = None

    def __call__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._done.set()

    def get(self, timeout: float = WAIT_S) -> Outcome:
        assert self._done.wait(timeout), "the command never finished"
        assert self.outcome is not None
        return self.outcome


def paired(manager, recorder, bridge) -> PairedBridge:
    record = manager.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    recorder.wait_for(lambda: (s := manager.status(record.bridge_id)) and s.online and len(s.speakers) == 3)
    return record


def test_pairing_stores_the_token_in_the_keyring_and_connects(make_manager, bridge, memory_keyring):
    manager, recorder = make_manager()
    manager.start()
    record = paired(manager, recorder, bridge)
    assert record.bridge_id == bridge.bridge_id and record.fingerprint == bridge.fingerprint
    assert memory_keyring.passwords[(SERVICE, bridge.bridge_id)]
    status = manager.status(bridge.bridge_id)
    assert status.name == "Demo bridge" and status.time_zone == "UTC"
    assert [s.name for s in status.speakers] == ["Kitchen speaker", "Bedroom speaker", "Living room speaker"]


def test_mute_round_trip_reaches_the_pin_and_comes_back_confirmed(make_manager, bridge, bridges):
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    relay_pin = bridges.pin(KITCHEN_PIN)
    assert relay_pin.state is False  # fail-closed: muted = relay released

    result = Result()
    manager.set_mute(bridge.bridge_id, "kitchen", False, reason="cooking", callback=result)
    state = result.get().value
    assert state.muted is False and state.confirmation == "confirmed" and state.reason == "cooking"
    assert state.requested_by == "Anna's laptop"
    assert relay_pin.state is True  # unmuted = relay closed
    recorder.wait_for(lambda: manager.status(bridge.bridge_id).speaker("kitchen").muted is False)

    result = Result()
    manager.set_mute(bridge.bridge_id, "kitchen", True, callback=result)
    assert result.get().value.muted is True
    assert relay_pin.state is False
    assert manager.status(bridge.bridge_id).speaker("kitchen").confirmation == "confirmed"


def test_mute_for_an_hour_mutes_now_and_leaves_a_one_off_schedule(make_manager, bridge):
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    result = Result()
    manager.set_mute(bridge.bridge_id, "bedroom", False, callback=result)
    result.get()
    result = Result()
    manager.mute_for(bridge.bridge_id, "bedroom", 3600, callback=result)
    assert result.get().value.muted is True
    result = Result()
    manager.schedules(bridge.bridge_id, result)
    [once] = result.get().value
    assert once.kind == "once" and once.speaker_id == "bedroom"
    assert once.end_at - once.start_at == pytest.approx(3600, abs=5)


def test_schedules_are_created_checked_by_the_bridge_changed_and_deleted(make_manager, bridge):
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    fields = {"speaker_id": "kitchen", "kind": "weekly", "days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00",
              "end": "07:00", "start_at": None, "end_at": None, "label": "Night", "enabled": True}
    result = Result()
    manager.save_schedule(bridge.bridge_id, fields, result)
    night = result.get().value
    assert (night.days, night.start, night.end, night.label) == (tuple(range(7)), "22:00", "07:00", "Night")
    recorder.wait_for(lambda: recorder.schedule_changes)  # the stream says so too

    result = Result()
    manager.save_schedule(bridge.bridge_id, {**fields, "days": []}, result)
    refused = result.get()
    assert isinstance(refused.error, RequestRejected)
    assert refused.message == refused.error.detail and "day" in refused.message  # the bridge's own words

    result = Result()
    manager.save_schedule(bridge.bridge_id, {**fields, "start": "21:30"}, result, schedule_id=night.id)
    assert result.get().value.start == "21:30"
    result = Result()
    manager.delete_schedule(bridge.bridge_id, night.id, result)
    assert result.get().ok
    result = Result()
    manager.schedules(bridge.bridge_id, result)
    assert result.get().value == []


def test_mute_all_mutes_every_speaker_of_every_online_bridge(make_manager, bridges):
    first, second = bridges.start("first"), bridges.start("second", config=second_bridge_config())
    manager, recorder = make_manager()
    manager.start()
    for bridge in (first, second):
        paired(manager, recorder, bridge)
    assert manager.set_mute_all(False) == 6
    recorder.wait_for(lambda: all(not s.muted for st in manager.statuses() for s in st.speakers))
    assert manager.set_mute_all(True) == 6
    recorder.wait_for(lambda: all(s.muted for st in manager.statuses() for s in st.speakers))
    assert bridges.pin(KITCHEN_PIN).state is False


def test_a_bridge_that_stops_shows_offline_with_its_last_state_then_comes_back(make_manager, bridges):
    bridge = bridges.start("b")
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    result = Result()
    manager.set_mute(bridge.bridge_id, "kitchen", False, callback=result)
    result.get()

    bridge.stop()
    status = recorder.wait_for(lambda: (s := manager.status(bridge.bridge_id)).connection is Connection.OFFLINE and s)
    assert status.speaker("kitchen").muted is False  # last known, kept for the offline view
    assert status.last_contact is not None and status.retry_at is not None
    assert "Cannot reach" in status.problem or "restarting" in status.problem

    result = Result()
    manager.set_mute(bridge.bridge_id, "kitchen", True, callback=result)
    assert not result.get().ok  # a command while offline fails with a reason...
    recorder.wait_for(lambda: recorder.failures)
    assert recorder.failures[-1].action == "mute" and recorder.failures[-1].speaker_id == "kitchen"

    bridges.restart(bridge)
    recorder.wait_for(lambda: manager.status(bridge.bridge_id).online)  # ...and the link comes back by itself
    assert manager.status(bridge.bridge_id).speaker("kitchen").muted is False


def test_a_changed_certificate_is_refused_and_asks_for_pairing_again(make_manager, bridges):
    bridge = bridges.start("real")
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    bridge.stop()
    impostor = bridges.start("impostor", port=bridge.port)
    status = recorder.wait_for(
        lambda: (s := manager.status(bridge.bridge_id)).connection is Connection.CERTIFICATE_CHANGED and s)
    assert status.problem == CERTIFICATE_CHANGED_MESSAGE
    assert status.connection.needs_pairing
    result = Result()
    manager.set_mute(bridge.bridge_id, "kitchen", False, callback=result)
    assert result.get().message == CERTIFICATE_CHANGED_MESSAGE
    assert impostor.engine.state("kitchen").muted is True  # nothing reached the impostor


def test_re_pairing_replaces_the_pin_and_the_token(make_manager, bridges, memory_keyring):
    bridge = bridges.start("real")
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    old_token = memory_keyring.passwords[(SERVICE, bridge.bridge_id)]
    result = Result()
    manager.pair(probe("127.0.0.1", bridge.port), bridge.pairing_code(), result)
    assert result.get().ok
    recorder.wait_for(lambda: manager.status(bridge.bridge_id).online)
    assert memory_keyring.passwords[(SERVICE, bridge.bridge_id)] != old_token
    assert len(manager.statuses()) == 1


def test_a_revoked_token_means_pair_again(make_manager, bridge):
    manager, recorder = make_manager()
    manager.start()
    record = paired(manager, recorder, bridge)
    bridge.pairing.authenticator.revoke(record.token_id)
    result = Result()
    manager.set_mute(bridge.bridge_id, "kitchen", False, callback=result)
    assert isinstance(result.get().error, NotAuthorized)
    status = recorder.wait_for(
        lambda: (s := manager.status(bridge.bridge_id)).connection is Connection.NOT_AUTHORIZED and s)
    assert "Pair again" in status.problem


def test_forgetting_revokes_the_token_on_the_bridge_and_removes_it_from_the_keyring(make_manager, bridge,
                                                                                      memory_keyring):
    manager, recorder = make_manager()
    manager.start()
    record = paired(manager, recorder, bridge)
    result = Result()
    manager.forget(bridge.bridge_id, result)
    forgotten = result.get().value
    assert forgotten.revoked and forgotten.notes == ()
    assert (SERVICE, bridge.bridge_id) not in memory_keyring.passwords
    assert manager.statuses() == [] and recorder.removed == [bridge.bridge_id]
    assert record.token_id not in [t.id for t in bridge.pairing.authenticator.tokens()]


def test_forgetting_an_unreachable_bridge_still_forgets_it_and_says_what_was_not_done(make_manager, bridges,
                                                                                       memory_keyring):
    bridge = bridges.start("b")
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    bridge.stop()
    recorder.wait_for(lambda: manager.status(bridge.bridge_id).connection is Connection.OFFLINE)
    result = Result()
    manager.forget(bridge.bridge_id, result)
    forgotten = result.get().value
    assert not forgotten.revoked and "could not be told" in forgotten.notes[0]
    assert (SERVICE, bridge.bridge_id) not in memory_keyring.passwords and manager.statuses() == []


def test_without_a_keyring_pairing_fails_with_what_to_install_and_leaves_no_token_behind(make_manager, bridge):
    manager, recorder = make_manager()
    manager.start()
    found = probe("127.0.0.1", bridge.port)
    with keyring_backend(fail.Keyring()):
        with pytest.raises(SecretStoreUnavailable) as caught:
            manager.pair_now(found, bridge.pairing_code())
    assert "gnome-keyring" in caught.value.user_message and "plain file" in caught.value.user_message
    assert manager.statuses() == []
    assert bridge.pairing.authenticator.tokens() == []  # the unused token was handed back


def test_a_paired_bridge_whose_token_cannot_be_read_says_why(make_manager, bridge, memory_keyring):
    record = PairedBridge(bridge_id=bridge.bridge_id, name="Demo bridge", host="127.0.0.1", port=bridge.port,
                          fingerprint=bridge.fingerprint)
    with keyring_backend(fail.Keyring()):
        manager, recorder = make_manager(bridges=[record])
        manager.start()
        status = recorder.wait_for(
            lambda: (s := manager.status(bridge.bridge_id)).connection is Connection.NO_TOKEN and s)
    assert "gnome-keyring" in status.problem
    assert keyring.get_keyring() is memory_keyring


def test_the_demo_keeps_its_token_in_memory_only(make_manager, bridge, memory_keyring):
    secrets = MemorySecretStore()
    manager, recorder = make_manager(secrets=secrets)
    manager.start()
    result = Result()
    manager.pair_known("127.0.0.1", bridge.port, bridge.pairing_code(), bridge.fingerprint, persist=False,
                       callback=result)
    assert result.get().ok
    recorder.wait_for(lambda: manager.status(bridge.bridge_id).online)
    assert secrets.get_token(bridge.bridge_id) and memory_keyring.passwords == {}


def test_pairing_with_an_announced_fingerprint_refuses_another_certificate(make_manager, bridge):
    manager, _ = make_manager(secrets=MemorySecretStore())
    result = Result()
    manager.pair_known("127.0.0.1", bridge.port, bridge.pairing_code(), "00" * 32, callback=result)
    assert result.get().message == CERTIFICATE_CHANGED_MESSAGE
    with BridgeSession("127.0.0.1", bridge.port, bridge.fingerprint) as session:
        assert session.info().bridge_id == bridge.bridge_id
    assert bridge.pairing.authenticator.tokens() == []
