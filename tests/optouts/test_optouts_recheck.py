"""Re-checks: 90 days by default, sooner for settings vendors switched back, at once after a vendor change or a
catalog update that changes what to do (a content hash per setting), and the status that follows."""

from __future__ import annotations

import json

from app.optouts.catalog import load_catalog
from app.optouts.recheck import Recheck
from app.optouts.tracker import Action, OptOutTracker


def state(tracker, account_id, setting_id, target=""):
    return next(i for i in tracker.items(account_id) if i.setting.setting_id == setting_id
                and i.target == target).recheck.state


def test_a_confirmation_holds_90_days_by_default_and_then_falls_due(tracker, clock):
    account = tracker.add_account("amazon", "Amazon")
    tracker.confirm(account.account_id, "amazon.skill-permissions")
    assert state(tracker, account.account_id, "amazon.skill-permissions") is Recheck.OK
    clock.advance(84)
    assert state(tracker, account.account_id, "amazon.skill-permissions") is Recheck.DUE_SOON
    clock.advance(6)
    assert state(tracker, account.account_id, "amazon.skill-permissions") is Recheck.DUE
    assert tracker.due_items()[0].setting_id == "amazon.skill-permissions"
    clock.advance(30)
    assert state(tracker, account.account_id, "amazon.skill-permissions") is Recheck.OVERDUE
    tracker.confirm(account.account_id, "amazon.skill-permissions", note="checked again")
    assert state(tracker, account.account_id, "amazon.skill-permissions") is Recheck.OK
    assert tracker.due_items() == []


def test_settings_a_vendor_switched_back_come_due_after_30_days(tracker, clock):
    account = tracker.add_account("amazon", "Amazon")
    tracker.confirm(account.account_id, "amazon.sidewalk")
    tracker.confirm(account.account_id, "amazon.skill-permissions")
    clock.advance(31)
    due = tracker.due_items()
    assert [d.setting_id for d in due] == ["amazon.sidewalk"]
    assert due[0].reason == "Amazon once switched it on for existing devices without asking."
    assert due[0].account_label == "Amazon" and due[0].vendor_name == "Amazon"


def test_a_vendor_change_after_the_confirmation_makes_it_due_at_once(tracker, clock, catalog):
    account = tracker.add_account("google", "Google")
    clock.now = 1_600_000_000.0  # September 2020: before the 2022 Workspace change
    tracker.confirm(account.account_id, "google.web-app-activity")
    clock.now = 1_650_000_000.0  # April 2022: the dated change (2022) came after the confirmation
    item = next(i for i in tracker.items(account.account_id) if i.setting.setting_id == "google.web-app-activity")
    assert item.recheck.state is Recheck.VENDOR_CHANGED
    assert item.recheck.reason.startswith("2022: Google Workspace split Web & App Activity")


def test_a_catalog_update_that_changes_a_setting_marks_it_for_a_recheck(db, catalog_copy, clock):
    tracker = OptOutTracker(db, load_catalog(catalog_copy), clock=clock, actor="you")
    account = tracker.add_account("google", "Google")
    tracker.confirm(account.account_id, "google.auto-delete")
    tracker.confirm(account.account_id, "google.gemini-activity")

    path = catalog_copy / "google.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for setting in data["settings"]:
        if setting["id"] == "google.auto-delete":
            setting["recommended"] = "18 months"                  # what to do changed
        if setting["id"] == "google.gemini-activity":
            setting["summary"] = "Reworded, same advice."          # wording only
    path.write_text(json.dumps(data), encoding="utf-8")
    clock.advance(1)

    updated = OptOutTracker(db, load_catalog(catalog_copy), clock=clock, actor="you")
    [entry] = updated.catalog_updates
    assert entry.action == Action.CATALOG_CHANGED.value and entry.actor == "Earmuff"
    assert entry.summary == ("Catalog update changed “Web & App Activity auto-delete”: the recommended value is now "
                             "“18 months” (was “3 months”); 1 confirmation to re-check")
    assert state(updated, account.account_id, "google.auto-delete") is Recheck.CHANGED
    assert state(updated, account.account_id, "google.gemini-activity") is Recheck.OK
    assert [d.setting_id for d in updated.due_items()] == ["google.auto-delete"]
    # The old value no longer protects either: "3 months" is not the recommended one any more.
    assert updated.account_status(account.account_id).not_protective == 1

    again = OptOutTracker(db, load_catalog(catalog_copy), clock=clock, actor="you")
    assert again.catalog_updates == []  # noticed once


def test_status_counts_protected_todo_due_and_staleness(tracker, clock):
    account = tracker.add_account("sonos", "Sonos")
    status = tracker.account_status(account.account_id)
    assert (status.total, status.todo, status.level) == (2, 2, "incomplete")
    tracker.confirm(account.account_id, "sonos.additional-usage-data")
    clock.advance(10)
    tracker.confirm(account.account_id, "sonos.voice-control")
    status = tracker.account_status(account.account_id)
    assert (status.protected, status.level, status.headline) == (2, "protected", "Protected")
    assert status.describe(clock.now) == "2 of 2 protected · oldest confirmation 10 days old"
    clock.advance(85)
    status = tracker.account_status(account.account_id)
    assert (status.due, status.due_soon, status.level) == (1, 1, "attention")
    assert status.describe(clock.now) == ("1 of 2 protected · 1 to re-check · 1 due soon · "
                                          "oldest confirmation 95 days old")
