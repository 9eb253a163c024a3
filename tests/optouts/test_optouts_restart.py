"""Everything the Opt-outs page keeps survives a restart: a real SQLite file, closed and opened again."""

from __future__ import annotations

from app.optouts.catalog import load_catalog
from app.optouts.speakers import SpeakerRef, device_key
from app.optouts.tracker import Action, OptOutTracker
from app.storage import Database

KITCHEN = SpeakerRef(key=device_key("uuid-kitchen"), name="Kitchen Echo", vendor="Amazon")


def test_accounts_links_confirmations_and_history_come_back_and_undo_still_works(tmp_path, clock):
    path = tmp_path / "earmuff.db"
    with Database.open(path) as db:
        tracker = OptOutTracker(db, load_catalog(), clock=clock, actor="you (tester)")
        amazon = tracker.add_account("amazon", "Amazon - family", [KITCHEN])
        tracker.confirm(amazon.account_id, "amazon.follow-up-mode", target=KITCHEN.key, note="kitchen done")
        tracker.confirm(amazon.account_id, "amazon.voice-recordings", "3 months")
        google = tracker.add_account("google", "Google")
        tracker.confirm(google.account_id, "google.auto-delete")
        history = [(e.action, e.summary, e.at) for e in tracker.history()]

    clock.advance(3)
    with Database.open(path) as db:
        reopened = OptOutTracker(db, load_catalog(), clock=clock, actor="you (tester)")
        assert [a.label for a in reopened.accounts()] == ["Amazon - family", "Google"]
        assert [(x.speaker_key, x.name) for x in reopened.links(amazon.account_id)] == [(KITCHEN.key, "Kitchen Echo")]
        follow_up = reopened.confirmation(amazon.account_id, "amazon.follow-up-mode", KITCHEN.key)
        assert (follow_up.value, follow_up.note) == ("Off", "kitchen done")
        assert follow_up.confirmed_at == clock.now - 3 * 86400
        assert not reopened.confirmation(amazon.account_id, "amazon.voice-recordings").protective
        assert [(e.action, e.summary, e.at) for e in reopened.history()] == history
        assert reopened.catalog_updates == []
        assert reopened.account_status(amazon.account_id).oldest_confirmed_at == clock.now - 3 * 86400

        undone = reopened.undo_last()
        assert undone.undone.summary == "Set “Web & App Activity auto-delete” to “3 months” (Google)"
        assert reopened.history()[0].action == Action.UNDO.value

    with Database.open(path) as db:
        third = OptOutTracker(db, load_catalog(), clock=clock)
        assert third.confirmation(google.account_id, "google.auto-delete") is None
        assert third.history()[1].undone
