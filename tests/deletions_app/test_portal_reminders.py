"""Portal guides (the shipped file, and a broken copy that still loads the rest) and the PortalTracker on a real
database: due dates, marking done, history, editing, removing with undo, DST, and a restart."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from zoneinfo import ZoneInfo

import pytest

from app.deletions.portal import PortalTracker, load_guides
from app.deletions.voice import Recurrence
from app.resources import resource_path
from app.storage import Database

BERLIN = ZoneInfo("Europe/Berlin")
DAY = 86400.0


def at(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=BERLIN).timestamp()


@pytest.fixture
def guides():
    return load_guides()


@pytest.fixture
def portal(db, guides, clock):
    clock.now = at(2026, 11, 27, 12, 0)
    return PortalTracker(db, guides, clock=clock, zone=BERLIN)


def test_the_shipped_guides_cover_the_four_vendors_with_sources():
    problems: list = []
    guides = {g.id: g for g in load_guides(problems=problems)}
    assert problems == []
    assert sorted(guides) == ["amazon-voice-history", "apple-siri-history", "google-my-activity", "sonos-account"]
    apple = guides["apple-siri-history"]
    assert apple.vendor == "apple" and apple.last_verified == dt.date(2026, 11, 27)
    assert any("Settings > Siri & Search > Siri & Dictation History" in step for step in apple.steps)
    assert dict(apple.sources) == {"P3": "https://www.imore.com/you-have-disable-siri-prevent-apple-retaining-transcripts",
                                   "P9": "https://www.imore.com/how-use-apples-new-data-and-privacy-portal"}
    assert ("Apple Data and Privacy", "https://privacy.apple.com") in apple.links
    sonos = guides["sonos-account"]
    assert any("48 hours" in s for s in sonos.steps) and any("4 weeks" in s for s in sonos.steps)
    assert ("Write to privacy@sonos.com", "mailto:privacy@sonos.com") in sonos.links
    assert any("Review Voice History" in s for s in guides["amazon-voice-history"].steps)
    assert any("Voice and audio" in s for s in guides["google-my-activity"].steps)
    for guide in guides.values():
        assert guide.suggested == "FREQ=MONTHLY" and guide.sources and guide.steps
        for _label, url in guide.links:
            assert url.startswith(("https://", "mailto:"))
    source_md = resource_path("deletions", "SOURCE.md").read_text()
    for guide in guides.values():
        for key, url in guide.sources:
            assert f"{key} {url}" in source_md or url in source_md, (key, url)


def test_a_broken_guide_is_named_by_file_and_field_and_the_others_load(tmp_path):
    folder = tmp_path / "deletions"
    shutil.copytree(resource_path("deletions"), folder)
    path = folder / "portal_guides.json"
    data = json.loads(path.read_text())
    data["guides"][1]["steps"] = []
    data["guides"][2]["sources"] = ["P3", "Z9"]
    data["guides"][3]["links"][0]["url"] = "http://example.org"
    data["guides"].append(dict(data["guides"][0]))  # the same id twice
    path.write_text(json.dumps(data))
    problems: list = []
    loaded = load_guides(folder, problems=problems)
    assert [g.id for g in loaded] == ["amazon-voice-history"]
    assert [(p.file, p.field) for p in problems] == [
        ("portal_guides.json", "guides[1] (google-my-activity).steps"),
        ("portal_guides.json", "guides[2] (apple-siri-history).sources"),
        ("portal_guides.json", "guides[3] (sonos-account).links[0].url"),
        ("portal_guides.json", "guides[4] (amazon-voice-history).id")]
    assert "Z9 not in the file's sources" in str(problems[1]) and "left out" in str(problems[1])
    path.write_text("{not json")
    problems.clear()
    assert load_guides(folder, problems=problems) == [] and problems[0].field == "(the whole file)"


def test_the_suggested_monthly_reminder_keeps_the_day_and_clamps_short_months(guides):
    rule = guides[0].suggested_recurrence(dt.date(2027, 1, 31), hour=9)
    assert rule.describe() == "On day 31 of every month (the last day in shorter months) at 09:00"
    assert rule.next_after(dt.datetime(2027, 2, 1, tzinfo=BERLIN), BERLIN).date() == dt.date(2027, 2, 28)


def test_a_reminder_is_due_at_its_next_occurrence_and_moves_on_when_done(portal, clock):
    calls = []
    portal.add_listener(lambda: calls.append(1))
    monthly = Recurrence.monthly(1, 10, 0, dt.date(2026, 11, 27))
    reminder = portal.add("amazon-voice-history", monthly, label="  Alexa  history ", speaker_key="bridge:b1/kitchen")
    assert reminder.label == "Alexa history" and reminder.next_due == at(2026, 12, 1, 10, 0)
    assert reminder.created_at == clock.now and reminder.last_done_at is None and calls == [1]
    assert portal.title(reminder) == "Alexa history" and portal.reminders() == [reminder]
    assert portal.due() == []

    clock.now = at(2026, 12, 1, 10, 0)
    assert portal.due() == [reminder]
    clock.now = at(2026, 12, 3, 18, 0)  # done two days late
    done = portal.mark_done(reminder.id, note=" deleted November \n")
    assert done.note == "deleted November" and done.done_at == clock.now and done.recorded_at == clock.now
    updated = portal.reminder(reminder.id)
    assert updated.last_done_at == clock.now and updated.next_due == at(2027, 1, 1, 10, 0)
    assert portal.due() == [] and calls == [1, 1]

    # Recorded late: it was done on 2 January, told on 5 January.
    clock.now = at(2027, 1, 5, 9, 0)
    late = portal.mark_done(reminder.id, when=at(2027, 1, 2, 20, 0))
    assert portal.reminder(reminder.id).next_due == at(2027, 2, 1, 10, 0)
    # An older completion recorded afterwards does not move the due date back.
    portal.mark_done(reminder.id, note="also in December", when=at(2026, 12, 20, 12, 0))
    assert portal.reminder(reminder.id).next_due == at(2027, 2, 1, 10, 0)
    assert [c.done_at for c in portal.history(reminder.id)] == [late.done_at, at(2026, 12, 20, 12, 0), done.done_at]
    with pytest.raises(ValueError, match="still to come"):
        portal.mark_done(reminder.id, when=clock.now + 3600)


def test_due_reminders_are_listed_longest_overdue_first(portal, clock):
    weekly = portal.add("google-my-activity", Recurrence.weekly([0], 9, 0, dt.date(2026, 11, 27)))
    monthly = portal.add("apple-siri-history", Recurrence.monthly(1, 9, 0, dt.date(2026, 11, 27)))
    sonos = portal.add("sonos-account", Recurrence.monthly(15, 9, 0, dt.date(2026, 11, 27)))
    assert [r.id for r in portal.reminders()] == [weekly.id, monthly.id, sonos.id]  # 30 Nov, 1 Dec, 15 Dec
    clock.now = at(2026, 12, 2, 8, 0)
    assert [r.id for r in portal.due()] == [weekly.id, monthly.id]
    assert portal.due(at(2026, 11, 30, 9, 0)) == [weekly]


def test_editing_counts_a_new_rule_from_now_and_refuses_what_cannot_run(portal, clock):
    reminder = portal.add("apple-siri-history", Recurrence.monthly(1, 9, 0, dt.date(2026, 11, 27)))
    clock.now = at(2026, 12, 10, 12, 0)  # overdue since 1 December
    assert portal.due() == [reminder]
    weekly = Recurrence.weekly([4], 9, 0, dt.date(2026, 12, 1))
    changed = portal.update(reminder.id, recurrence=weekly, label="Siri")
    assert changed.recurrence == weekly and changed.label == "Siri" and changed.next_due == at(2026, 12, 11, 9, 0)
    assert portal.update(reminder.id) == changed  # nothing to change
    assert portal.update(reminder.id, label="").label == ""
    ended = Recurrence.custom("FREQ=DAILY;UNTIL=20261201T000000", "2026-11-28T09:00")
    with pytest.raises(ValueError, match="never happens again"):
        portal.update(reminder.id, recurrence=ended)
    with pytest.raises(ValueError, match="never happens again"):
        portal.add("apple-siri-history", ended)
    with pytest.raises(ValueError, match="no deletion guide called 'nokia'"):
        portal.add("nokia", weekly)
    with pytest.raises(ValueError, match="under 80"):
        portal.add("apple-siri-history", weekly, label="x" * 81)
    with pytest.raises(KeyError):
        portal.mark_done(999)


def test_removing_keeps_the_history_and_undo_brings_the_reminder_back_as_it_was(portal, clock):
    reminder = portal.add("sonos-account", Recurrence.monthly(1, 9, 0, dt.date(2026, 11, 27)))
    portal.mark_done(reminder.id, note="asked Sonos")
    other = portal.add("apple-siri-history", Recurrence.daily(9, 0, dt.date(2026, 11, 27)))
    before = portal.reminder(reminder.id)
    removed = portal.remove(reminder.id)
    assert removed == before and portal.reminders() == [other]
    assert [c.note for c in portal.history(reminder.id)] == ["asked Sonos"]
    assert portal.restore(removed) == before
    assert portal.reminder(reminder.id) == before and len(portal.reminders()) == 2
    with pytest.raises(ValueError, match="exists already"):
        portal.restore(removed)
    # Ids are never reused, so a new reminder can never take a removed one's id (and its history).
    portal.remove(reminder.id)
    assert portal.add("sonos-account", Recurrence.daily(9, 0, dt.date(2026, 11, 27))).id > other.id
    assert [c.note for c in portal.history()] == ["asked Sonos"]


def test_a_reminder_at_a_time_the_spring_change_skips_is_due_when_the_clocks_jump(portal, clock):
    clock.now = at(2026, 3, 28, 12, 0)
    reminder = portal.add("google-my-activity", Recurrence.daily(2, 30, dt.date(2026, 3, 1)))
    assert dt.datetime.fromtimestamp(reminder.next_due, BERLIN).strftime("%m-%d %H:%M %Z") == "03-29 03:00 CEST"
    clock.now = reminder.next_due
    portal.mark_done(reminder.id)
    assert dt.datetime.fromtimestamp(portal.reminder(reminder.id).next_due, BERLIN).strftime("%m-%d %H:%M") == \
        "03-30 02:30"


def test_reminders_and_history_survive_a_restart(tmp_path, guides, clock):
    clock.now = at(2026, 11, 27, 12, 0)
    with Database.open(tmp_path / "restart.db") as db:
        portal = PortalTracker(db, guides, clock=clock, zone="Europe/Berlin")
        reminder = portal.add("amazon-voice-history", Recurrence.monthly(31, 9, 0, dt.date(2026, 11, 27)), "Alexa")
        portal.mark_done(reminder.id, note="first")
        saved = portal.reminder(reminder.id)
    with Database.open(tmp_path / "restart.db") as db:
        again = PortalTracker(db, guides, clock=clock, zone="Europe/Berlin")
        assert again.reminders() == [saved]
        assert [c.note for c in again.history()] == ["first"]
        assert saved.next_due == at(2026, 11, 30, 9, 0)  # "day 31" is the 30th in November
