"""Reminders: what is due, the words for a notification, and not saying the same thing twice in a day."""

from __future__ import annotations

from app.optouts.reminders import ReminderLog, due_items, notification, summary_text
from app.optouts.speakers import SpeakerRef, device_key, suggestions

KITCHEN = SpeakerRef(key=device_key("k"), name="Kitchen Echo", vendor="Amazon")
NEST = SpeakerRef(key=device_key("n"), name="Nest Mini", vendor="Google")
SONOS = SpeakerRef(key=device_key("s"), name="Beam", vendor="Sonos")


def test_due_items_and_their_texts(tracker, clock):
    amazon = tracker.add_account("amazon", "Amazon - family")
    google = tracker.add_account("google", "Google")
    tracker.confirm(amazon.account_id, "amazon.sidewalk")
    tracker.confirm(google.account_id, "google.web-app-activity")
    tracker.confirm(google.account_id, "google.auto-delete")
    assert due_items(tracker, clock.now) == []
    clock.advance(31)
    items = due_items(tracker, clock.now)
    assert [i.setting_id for i in items] == ["amazon.sidewalk", "google.web-app-activity"]
    assert summary_text(items) == ("2 privacy settings to re-check: Amazon Sidewalk (Amazon - family), "
                                   "Web & App Activity (Google)")
    assert summary_text(items, names_up_to=1) == "2 privacy settings to re-check (1 in Amazon - family, 1 in Google)"
    title, message = notification(items)
    assert title == "2 privacy settings to re-check"
    assert message == "Amazon Sidewalk (Amazon - family) and 1 more. Open Opt-outs to check them."
    clock.advance(30)
    title, message = notification(due_items(tracker, clock.now))
    assert "2 overdue" in message


def test_the_log_tells_once_then_again_for_something_new_or_after_a_day(tracker, clock):
    account = tracker.add_account("amazon", "Amazon")
    tracker.confirm(account.account_id, "amazon.sidewalk")
    tracker.confirm(account.account_id, "amazon.skill-permissions")
    log = ReminderLog()
    assert not log.worth_telling([], clock.now)
    clock.advance(31)
    first = due_items(tracker, clock.now)
    assert log.worth_telling(first, clock.now)
    log.told_about(first, clock.now)
    clock.advance(0.5)
    assert not log.worth_telling(due_items(tracker, clock.now), clock.now)
    clock.advance(0.5)
    assert log.worth_telling(due_items(tracker, clock.now), clock.now)  # a day later
    log.told_about(due_items(tracker, clock.now), clock.now)
    clock.advance(59)
    assert len(due_items(tracker, clock.now)) == 2
    assert log.worth_telling(due_items(tracker, clock.now), clock.now)  # something new is due


def test_vendors_of_found_speakers_are_suggested_until_an_account_covers_them(tracker, catalog):
    found = suggestions(catalog, [KITCHEN, NEST, SONOS], tracker.accounts(), tracker.links())
    assert [(s.vendor_id, [x.name for x in s.speakers], s.accounts) for s in found] == [
        ("amazon", ["Kitchen Echo"], ()), ("google", ["Nest Mini"], ()), ("sonos", ["Beam"], ())]
    amazon = tracker.add_account("amazon", "Amazon", [KITCHEN])
    tracker.add_account("google", "Google")
    found = suggestions(catalog, [KITCHEN, NEST, SONOS], tracker.accounts(), tracker.links())
    assert [(s.vendor_id, [a.label for a in s.accounts]) for s in found] == [("google", ["Google"]), ("sonos", [])]
    assert tracker.speaker_status(KITCHEN.key).total == 10
    assert tracker.speaker_status(NEST.key) is None
    assert [a.account_id for a in tracker.speaker_accounts(KITCHEN.key)] == [amazon.account_id]
