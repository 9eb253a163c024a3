"""The report in Markdown and HTML: every account, its status and values, the due list; text is escaped and
e-mail addresses never appear."""

from __future__ import annotations

from app.optouts.report import build_report, to_html, to_markdown
from app.optouts.speakers import SpeakerRef, device_key

KITCHEN = SpeakerRef(key=device_key("uuid-kitchen"), name="Kitchen | Echo", vendor="Amazon")


def make(tracker, clock):
    amazon = tracker.add_account("amazon", "Amazon - <family>", [KITCHEN])
    tracker.confirm(amazon.account_id, "amazon.voice-recordings", "18 months", note="kids use *Voice ID*")
    tracker.confirm(amazon.account_id, "amazon.sidewalk")
    tracker.set_has_email(amazon.account_id, True)
    clock.advance(40)
    return amazon


def test_markdown_lists_each_account_with_status_values_and_what_is_due(tracker, clock):
    make(tracker, clock)
    text = to_markdown(build_report(tracker, clock.now, speakers={KITCHEN.key: KITCHEN}))
    assert text.startswith("# Earmuff privacy settings report\n")
    assert "## Amazon - <family> (Amazon)" in text
    assert ("**Status:** Re-check needed. 0 of 10 protected · 2 to re-check · 1 kept on by choice · 8 not done · "
            "oldest confirmation 40 days old." in text)
    assert ("| Choose how long to save recordings (unverified) | Don't save recordings | 18 months |" in text)
    assert "kids use \\*Voice ID\\*" in text                     # Markdown is escaped
    assert "Speakers: Kitchen \\| Echo" in text
    assert "## To re-check" in text and "- Amazon Sidewalk (Amazon - <family>): Re-check overdue" not in text
    assert "- Amazon Sidewalk (Amazon - <family>): Re-check due. Amazon once switched it on" in text
    assert "- Do Not Send Voice Recordings: Retired on 2025-03-28" in text
    assert "| Kitchen \\| Echo | Amazon - <family> | Re-check needed:" in text
    assert "@" not in text


def test_html_is_escaped_and_says_the_same(tracker, clock):
    make(tracker, clock)
    html = to_html(build_report(tracker, clock.now))
    assert "<h2>Amazon - &lt;family&gt; (Amazon)</h2>" in html
    assert "18 months" in html and "kids use *Voice ID*" in html
    assert "<family>" not in html


def test_an_empty_report_says_there_is_nothing_yet(tracker, clock):
    report = build_report(tracker, clock.now)
    assert "No vendor accounts have been added yet." in to_markdown(report)
    assert "No vendor accounts have been added yet." in to_html(report)
