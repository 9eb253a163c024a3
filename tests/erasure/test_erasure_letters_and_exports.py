"""Letters per law carry the facts the law needs; mailto: URLs per RFC 6068; .ics per RFC 5545."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from app.erasure.deadlines import compute_deadlines
from app.erasure.ics import CalendarEvent, build_calendar, escape_text, fold_line
from app.erasure.laws import load_laws
from app.erasure.letters import CitedActivation, render_letter
from app.erasure.mailto import mailto_url

RECEIVED = dt.date(2028, 1, 31)
CITED = [CitedActivation(dt.datetime(2028, 1, 20, 7, 5, 9, tzinfo=dt.UTC).timestamp(), "Kitchen Echo")]


def render(law, **changes):
    facts = {"requester_name": "Ada Example", "account_identifier": "ada@example.org", "vendor_name": "Amazon",
                 "deadlines": compute_deadlines(law, RECEIVED), "request_date": RECEIVED, "cited": CITED, "tz": "UTC"}
    facts.update(changes)
    return render_letter(law, **facts)


@pytest.mark.parametrize("law_id", ["gdpr", "uk_gdpr", "ccpa"])
def test_each_law_s_letter_states_the_required_facts(law_id):
    law = load_laws()[law_id]
    letter = render(law)
    deadlines = compute_deadlines(law, RECEIVED)
    for fact in ("Ada Example", "ada@example.org", "Amazon", "voice recordings", "Legal basis:",
                 deadlines.response.isoformat(), "2028-01-20 at 07:05:09 UTC, device: Kitchen Echo"):
        assert fact in letter.body, fact
    assert "$" not in letter.text
    assert "legal advice" not in letter.text.lower()
    citation = {"gdpr": "Article 17 of Regulation (EU) 2016/679", "uk_gdpr": "Article 17 of the UK General",
                "ccpa": "1798.105"}[law_id]
    assert citation in letter.body
    if law_id == "ccpa":
        assert deadlines.acknowledgment.isoformat() in letter.body
        assert "45" in letter.body
    else:
        assert "one month" in letter.body
    assert letter.subject and "Subject:" not in letter.body


def test_a_letter_without_a_required_fact_is_refused():
    law = load_laws()["gdpr"]
    with pytest.raises(ValueError, match="requester name"):
        render(law, requester_name="  ")
    with pytest.raises(ValueError, match="account identifier"):
        render(law, account_identifier="")
    assert "In particular" not in render(law, cited=[]).body


def test_mailto_percent_encodes_per_rfc_6068():
    url = mailto_url("privacy@sonos.com", subject="Erase & delete? 100% = yes #1",
                     body="Line one\nLigne deux: caf\u00e9\n")
    assert url.startswith("mailto:privacy@sonos.com?subject=")
    query = urlsplit(url).query
    assert " " not in url and "\n" not in url
    assert "%0D%0A" in url and "%0A%0D" not in url
    assert "caf%C3%A9" in url
    subject_raw = query.split("&")[0].split("=", 1)[1]
    assert not set("&=#? ") & set(subject_raw) and unquote(subject_raw) == "Erase & delete? 100% = yes #1"
    fields = parse_qs(query, keep_blank_values=True)
    assert fields["subject"] == ["Erase & delete? 100% = yes #1"]
    assert fields["body"] == ["Line one\r\nLigne deux: caf\u00e9\r\n"]
    assert mailto_url("", subject="x") == "mailto:?subject=x"


def parse_ics(data: bytes) -> list[tuple[str, str]]:
    """A small RFC 5545 reader: checks CRLF, octet lengths and BEGIN/END nesting, returns unfolded lines."""
    assert data.endswith(b"\r\n")
    physical = data[:-2].split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in physical)
    assert all(len(line) <= 75 for line in physical), max(physical, key=len)
    logical: list[str] = []
    for line in physical:
        if line.startswith(b" "):
            logical[-1] += line[1:].decode("utf-8")
        else:
            logical.append(line.decode("utf-8"))
    stack, pairs = [], []
    for line in logical:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
        elif name == "END":
            assert stack.pop() == value
        pairs.append((name, value))
    assert not stack
    return pairs


def test_ics_has_crlf_folded_lines_escaping_and_alarms():
    summary = "Amazon (family; kitchen, hall): erasure response due \u2013 " + "\u00e9" * 60
    text = build_calendar([CalendarEvent("erasure-1@earmuff", dt.date(2028, 2, 29), summary, "a\\b\nc")],
                          stamp=dt.datetime(2028, 1, 31, 12, tzinfo=dt.UTC))
    pairs = parse_ics(text.encode("utf-8"))
    names = [n for n, _ in pairs]
    assert names[0] == "BEGIN" and pairs[0][1] == "VCALENDAR" and pairs[-1] == ("END", "VCALENDAR")
    values = dict(pairs)
    assert values["DTSTART;VALUE=DATE"] == "20280229" and values["DTEND;VALUE=DATE"] == "20280301"
    assert values["DTSTAMP"] == "20280131T120000Z"
    assert values["SUMMARY"] == escape_text(summary) and "\\;" in values["SUMMARY"] and "\\," in values["SUMMARY"]
    assert [v for n, v in pairs if n == "TRIGGER"] == ["-P7D", "PT9H"]
    assert next(v for n, v in pairs if n == "DESCRIPTION") == "a\\\\b\\nc"


def test_folding_never_splits_a_character():
    folded = fold_line("X:" + "\u20ac" * 100)
    for part in folded.split("\r\n"):
        assert len(part.encode("utf-8")) <= 75
        part.encode("utf-8").decode("utf-8")
    assert folded.replace("\r\n ", "") == "X:" + "\u20ac" * 100
