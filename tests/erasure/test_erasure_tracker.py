"""The tracker on a real database: states, history, extension, reply, persistence across reopening."""

from __future__ import annotations

import datetime as dt

import pytest

from app.erasure.states import (
    TRANSITIONS,
    InvalidTransition,
    RequestState,
    check_transition,
)
from app.erasure.tracker import ErasureTracker
from app.storage.database import Database

START = dt.datetime(2028, 1, 31, 10, tzinfo=dt.UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path):
    database = Database.open(tmp_path / "earmuff.db")
    yield database
    database.close()


def make(tracker, law_id="gdpr"):
    return tracker.create(account_id=3, account_label="family", vendor_id="amazon", vendor_name="Amazon",
                          law_id=law_id, requester_name="Ada", account_identifier="ada@example.org")


def test_final_states_allow_nothing_and_denial_needs_a_reason():
    for state in (RequestState.FULFILLED, RequestState.DENIED, RequestState.EXPIRED):
        assert state.final and not TRANSITIONS[state]
        with pytest.raises(InvalidTransition):
            check_transition(state, RequestState.OPEN)
    with pytest.raises(InvalidTransition, match="reason"):
        check_transition(RequestState.OPEN, RequestState.DENIED, " ")
    with pytest.raises(InvalidTransition):
        check_transition(RequestState.IN_PROGRESS, RequestState.OPEN)
    check_transition(RequestState.NEEDS_VERIFICATION, RequestState.IN_PROGRESS)


def test_a_request_moves_through_its_states_with_history(db):
    clock = Clock()
    tracker = ErasureTracker(db, clock=clock, tz="UTC")
    calls = []
    tracker.add_listener(lambda: calls.append(1))
    request = make(tracker)
    assert request.state is RequestState.OPEN and request.received == dt.date(2028, 1, 31)
    assert tracker.deadlines(request).response == dt.date(2028, 2, 29)
    clock.now += 86400
    tracker.change_state(request.request_id, RequestState.NEEDS_VERIFICATION, "asked for ID")
    tracker.extend(request.request_id, "they wrote on 2028-02-10")
    with pytest.raises(InvalidTransition, match="only one extension"):
        tracker.extend(request.request_id)
    tracker.attach_reply(request.request_id, "/home/ada/reply.eml", "asks for a photo ID")
    tracker.change_state(request.request_id, RequestState.DENIED, "could not verify identity")
    with pytest.raises(InvalidTransition):
        tracker.change_state(request.request_id, RequestState.FULFILLED)
    with pytest.raises(InvalidTransition):
        tracker.extend(request.request_id)
    with pytest.raises(KeyError):
        tracker.change_state(999, RequestState.FULFILLED)
    assert len(calls) == 5

    reopened = ErasureTracker(db, clock=clock, tz="UTC").request(request.request_id)
    assert reopened.state is RequestState.DENIED and reopened.reason == "could not verify identity"
    assert reopened.extended and tracker.deadlines(reopened).response == dt.date(2028, 4, 30)
    assert (reopened.reply_path, reopened.reply_note) == ("/home/ada/reply.eml", "asks for a photo ID")
    actions = [(c.action, c.from_state, c.to_state) for c in tracker.history(request.request_id)]
    assert actions == [("created", "", "open"), ("state", "open", "needs_verification"),
                       ("extended", "needs_verification", "needs_verification"),
                       ("reply", "needs_verification", "needs_verification"),
                       ("state", "needs_verification", "denied")]
    assert tracker.open_requests() == []


def test_reminders_and_calendar_for_open_requests(db):
    clock = Clock()
    tracker = ErasureTracker(db, clock=clock, tz="UTC")
    gdpr, ccpa = make(tracker), make(tracker, "ccpa")
    clock.now = dt.datetime(2028, 2, 22, 8, tzinfo=dt.UTC).timestamp()
    assert [(r.request_id, w) for r, w in tracker.due_reminders()] == [(gdpr.request_id, "response due in 7 days")]
    clock.now = dt.datetime(2028, 3, 1, 8, tzinfo=dt.UTC).timestamp()
    assert ("overdue since 2028-02-29" in [w for r, w in tracker.due_reminders() if r.request_id == gdpr.request_id])
    assert tracker.days_left(gdpr) == -1 and tracker.days_left(ccpa) == 45 - 30
    ics = tracker.calendar()
    assert ics.count("BEGIN:VEVENT") == 3  # GDPR response; CCPA acknowledgment and response
    assert "DTSTART;VALUE=DATE:20280229" in ics and "DTSTART;VALUE=DATE:20280316" in ics
