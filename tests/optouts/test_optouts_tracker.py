"""Accounts, linked speakers and confirmations: every change is kept in the history (who, when, what) and the
newest change not yet undone can be undone, one after the other."""

from __future__ import annotations

import pytest

from app.optouts.speakers import SpeakerRef, bridge_key, device_key
from app.optouts.tracker import Action, NeedsBridge, NothingToUndo

KITCHEN = SpeakerRef(key=device_key("uuid-kitchen"), name="Kitchen Echo", vendor="Amazon")
BEDROOM = SpeakerRef(key=bridge_key("bridge-1", "bedroom"), name="Bedroom Echo", bridge_id="bridge-1",
                     speaker_id="bedroom", bridge_name="Hall bridge", driver="relay")


def test_a_confirmation_keeps_the_value_the_time_the_note_and_the_catalog_hash(tracker, catalog, clock):
    account = tracker.add_account("amazon", "  Amazon -   family ")
    assert account.label == "Amazon - family"
    confirmation = tracker.confirm(account.account_id, "amazon.voice-recordings", note="done on the phone")
    assert confirmation.value == "Don't save recordings" and confirmation.protective
    assert confirmation.confirmed_at == clock.now and confirmation.note == "done on the phone"
    assert confirmation.content_hash == catalog.setting("amazon.voice-recordings").content_hash
    kept_on = tracker.confirm(account.account_id, "amazon.sidewalk", "On")
    assert not kept_on.protective
    assert tracker.confirmation(account.account_id, "amazon.sidewalk").value == "On"


def test_every_change_is_in_the_history_with_who_when_and_what(tracker, clock):
    account = tracker.add_account("google", "Google")
    clock.advance(1)
    tracker.confirm(account.account_id, "google.auto-delete", "18 months")
    clock.advance(1)
    tracker.clear(account.account_id, "google.auto-delete")
    history = tracker.history()
    assert [e.action for e in history] == [Action.CLEAR.value, Action.CONFIRM.value, Action.ADD_ACCOUNT.value]
    assert all(e.actor == "you (tester)" for e in history)
    assert [e.at for e in history] == [clock.now, clock.now - 86400, clock.now - 2 * 86400]
    assert history[1].summary == "Set “Web & App Activity auto-delete” to “18 months” (Google)"
    assert history[0].summary == "Marked “Web & App Activity auto-delete” as not done (Google)"
    assert history[1].before is None and history[1].after["value"] == "18 months"


def test_undo_steps_back_through_the_changes_one_at_a_time(tracker):
    account = tracker.add_account("amazon", "Amazon")
    tracker.confirm(account.account_id, "amazon.sidewalk", "On")
    tracker.confirm(account.account_id, "amazon.sidewalk", "Off", note="second look")

    result = tracker.undo_last()
    assert result.undone.summary.startswith("Set “Amazon Sidewalk” to “Off”")
    assert tracker.confirmation(account.account_id, "amazon.sidewalk").value == "On"
    assert tracker.history()[0].action == Action.UNDO.value
    assert tracker.history()[0].summary == "Undid: " + result.undone.summary

    tracker.undo_last()
    assert tracker.confirmation(account.account_id, "amazon.sidewalk") is None
    tracker.undo_last()
    assert tracker.accounts() == []
    with pytest.raises(NothingToUndo):
        tracker.undo_last()
    assert len(tracker.history()) == 6  # three changes and three undos: nothing is ever deleted


def test_removing_an_account_can_be_undone_with_its_speakers_and_confirmations(tracker):
    account = tracker.add_account("amazon", "Amazon", [KITCHEN])
    tracker.confirm(account.account_id, "amazon.follow-up-mode", target=KITCHEN.key, note="kitchen")
    tracker.confirm(account.account_id, "amazon.sidewalk")
    tracker.remove_account(account.account_id)
    assert tracker.accounts() == [] and tracker.links() == []
    result = tracker.undo_last()
    assert result.undone.action == Action.REMOVE_ACCOUNT.value
    [restored] = tracker.accounts()
    assert restored.account_id == account.account_id and restored.label == "Amazon"
    assert [link.speaker_key for link in tracker.links(account.account_id)] == [KITCHEN.key]
    assert tracker.confirmation(account.account_id, "amazon.follow-up-mode", KITCHEN.key).note == "kitchen"
    assert tracker.confirmation(account.account_id, "amazon.sidewalk") is not None


def test_renaming_and_relinking_are_undone_too(tracker):
    account = tracker.add_account("amazon", "Amazon", [KITCHEN])
    tracker.rename_account(account.account_id, "Amazon - family")
    tracker.set_links(account.account_id, [KITCHEN, BEDROOM])
    assert tracker.history()[0].summary == "“Amazon - family”: linked Bedroom Echo"
    tracker.undo_last()
    assert [x.speaker_key for x in tracker.links(account.account_id)] == [KITCHEN.key]
    tracker.undo_last()
    assert tracker.account(account.account_id).label == "Amazon"


def test_per_speaker_settings_are_confirmed_for_each_linked_speaker(tracker):
    account = tracker.add_account("amazon", "Amazon", [KITCHEN, BEDROOM])
    follow_up = [i for i in tracker.items(account.account_id) if i.setting.setting_id == "amazon.follow-up-mode"]
    assert [(i.target, i.target_name) for i in follow_up] == [(KITCHEN.key, "Kitchen Echo"),
                                                              (BEDROOM.key, "Bedroom Echo")]
    tracker.confirm(account.account_id, "amazon.follow-up-mode", target=BEDROOM.key)
    assert tracker.history()[0].summary == "Set “Follow-Up Mode” to “Off” on Bedroom Echo (Amazon)"
    with pytest.raises(ValueError, match="not linked"):
        tracker.confirm(account.account_id, "amazon.follow-up-mode", target=device_key("elsewhere"))
    with pytest.raises(ValueError, match="whole account"):
        tracker.confirm(account.account_id, "amazon.sidewalk", target=KITCHEN.key)


def test_without_linked_speakers_a_per_speaker_setting_is_one_item(tracker):
    account = tracker.add_account("apple", "Apple ID")
    hey_siri = [i for i in tracker.items(account.account_id) if i.setting.setting_id == "apple.hey-siri-homepod"]
    assert [i.target for i in hey_siri] == [""]


@pytest.mark.parametrize(("call", "message"), [
    (lambda t, a: t.confirm(a, "amazon.do-not-send-voice-recordings"), "retired"),
    (lambda t, a: t.confirm(a, "amazon.sidewalk", "Maybe"), "not a value"),
    (lambda t, a: t.confirm(a, "google.auto-delete"), "not a setting of"),
    (lambda t, a: t.add_account("amazon", "amazon - FAMILY"), "already an account"),
    (lambda t, a: t.add_account("amazon", "   "), "needs a name"),
    (lambda t, a: t.add_account("roku", "Roku"), "no settings for a vendor"),
])
def test_what_cannot_be_recorded_is_refused_with_a_reason(tracker, call, message):
    account = tracker.add_account("amazon", "Amazon - family")
    with pytest.raises(ValueError, match=message):
        call(tracker, account.account_id)


def test_retired_settings_are_listed_as_retired_and_do_not_count(tracker):
    account = tracker.add_account("amazon", "Amazon")
    retired = [i for i in tracker.items(account.account_id) if i.setting.is_retired]
    assert [i.setting.setting_id for i in retired] == ["amazon.do-not-send-voice-recordings"]
    assert retired[0].recheck.state.value == "retired" and "2025-03-28" in retired[0].recheck.reason
    assert tracker.account_status(account.account_id).total == 10


def test_bridge_changes_are_recorded_and_undone_by_the_caller(tracker):
    account = tracker.add_account("amazon", "Amazon", [BEDROOM])
    where = {"bridge_id": "bridge-1", "speaker_id": "bedroom"}
    entry = tracker.record_bridge_change(Action.BRIDGE_UPLINK, "Blocked the internet uplink of Bedroom Echo",
                                         account_id=account.account_id, target=BEDROOM.key,
                                         before={**where, "muted": False}, after={**where, "muted": True})
    with pytest.raises(NeedsBridge) as needs:
        tracker.undo_last()
    assert needs.value.entry == entry
    tracker.mark_undone(entry)
    assert tracker.history()[1].undone and tracker.last_undoable().action == Action.ADD_ACCOUNT.value


def test_listeners_hear_of_every_change(tracker):
    heard = []
    tracker.add_listener(lambda: heard.append(1))
    account = tracker.add_account("sonos", "Sonos")
    tracker.confirm(account.account_id, "sonos.voice-control")
    tracker.undo_last()
    assert len(heard) == 3
