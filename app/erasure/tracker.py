"""The ErasureTracker: creates requests with their letters, moves them through their states, keeps history."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from app.erasure.deadlines import Deadlines, compute_deadlines, local_date
from app.erasure.ics import CalendarEvent, build_calendar
from app.erasure.laws import law as law_named
from app.erasure.letters import CitedActivation, Letter, render_letter
from app.erasure.models import ErasureRequest, StateChange
from app.erasure.states import InvalidTransition, RequestState, check_transition
from app.storage.database import Database
from app.storage.erasure_repo import ErasureRepository

#: Privacy contacts from sourced facts only (resources/erasure/SOURCE.md); others are typed by the user.
VENDOR_EMAILS = {"sonos": "privacy@sonos.com"}


class ErasureTracker:
    """Legal erasure requests, on a clock and in a time zone the caller may choose (tests move both).

    Listeners (plain callables) are called after every change, outside any transaction.
    """

    def __init__(self, db: Database | sqlite3.Connection | ErasureRepository, *,
                 clock: Callable[[], float] = time.time, tz: dt.tzinfo | str | None = None) -> None:
        self.repo = db if isinstance(db, ErasureRepository) else ErasureRepository(db)
        self.clock = clock
        self.tz = tz
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def today(self) -> dt.date:
        return local_date(self.clock(), self.tz)

    # -- reading ----------------------------------------------------------------------------------
    def requests(self) -> list[ErasureRequest]:
        return self.repo.requests()

    def open_requests(self) -> list[ErasureRequest]:
        return [r for r in self.repo.requests() if not r.state.final]

    def request(self, request_id: int) -> ErasureRequest:
        found = self.repo.request(request_id)
        if found is None:
            raise KeyError(f"no erasure request {request_id}")
        return found

    def history(self, request_id: int) -> list[StateChange]:
        return self.repo.history(request_id)

    def deadlines(self, request: ErasureRequest) -> Deadlines:
        return compute_deadlines(law_named(request.law_id), request.received, extended=request.extended)

    def days_left(self, request: ErasureRequest) -> int:
        return self.deadlines(request).days_left(self.today())

    def due_reminders(self) -> list[tuple[ErasureRequest, str]]:
        """Open requests with a reminder today, or overdue (reminded every day until closed)."""
        today, found = self.today(), []
        for request in self.open_requests():
            deadlines = self.deadlines(request)
            if deadlines.days_left(today) < 0:
                found.append((request, f"overdue since {deadlines.response.isoformat()}"))
            found += [(request, what) for what in deadlines.due_reminders(today)]
        return found

    # -- writing ----------------------------------------------------------------------------------
    def preview(self, *, law_id: str, vendor_name: str, requester_name: str, account_identifier: str,
                cited: Iterable[CitedActivation] = (), received: dt.date | None = None) -> Letter:
        """The letter a request would send. Raises ValueError when a required fact is missing."""
        rules = law_named(law_id)
        day = received or self.today()
        return render_letter(rules, requester_name=requester_name, account_identifier=account_identifier,
                             vendor_name=vendor_name, deadlines=compute_deadlines(rules, day),
                             request_date=self.today(), cited=list(cited), tz=self.tz)

    def create(self, *, account_id: int, account_label: str, vendor_id: str, vendor_name: str, law_id: str,
               requester_name: str, account_identifier: str, recipient: str = "",
               cited: Iterable[CitedActivation] = (), received: dt.date | None = None) -> ErasureRequest:
        """Write the letter and keep the request, open, its clock starting on `received` (default today)."""
        cited = tuple(cited)
        day = received or self.today()
        letter = self.preview(law_id=law_id, vendor_name=vendor_name, requester_name=requester_name,
                              account_identifier=account_identifier, cited=cited, received=day)
        now = self.clock()
        request = ErasureRequest(
            request_id=0, account_id=account_id, account_label=account_label, vendor_id=vendor_id,
            vendor_name=vendor_name, law_id=law_id, state=RequestState.OPEN, received=day,
            subject=letter.subject, letter=letter.body, recipient=recipient.strip(), cited=cited,
            created_at=now, updated_at=now)
        with self.repo.transaction():
            request = replace(request, request_id=self.repo.insert(request))
            self.repo.add_history(StateChange(request.request_id, now, "created", "", RequestState.OPEN.value,
                                              law_named(law_id).title))
        self._changed()
        return request

    def change_state(self, request_id: int, new: RequestState, reason: str = "") -> ErasureRequest:
        """Move a request on. Raises InvalidTransition (not allowed, or a denial without a reason)."""
        request = self.request(request_id)
        check_transition(request.state, new, reason)
        now = self.clock()
        updated = replace(request, state=new, reason=reason.strip() if new is RequestState.DENIED else request.reason,
                          updated_at=now)
        with self.repo.transaction():
            self.repo.update(updated)
            self.repo.add_history(StateChange(request_id, now, "state", request.state.value, new.value,
                                              reason.strip()))
        self._changed()
        return updated

    def extend(self, request_id: int, note: str = "") -> ErasureRequest:
        """Record that the business took its one extension (with notice). Raises InvalidTransition."""
        request = self.request(request_id)
        if request.state.final:
            raise InvalidTransition("a closed request cannot be extended")
        if request.extended:
            raise InvalidTransition("the law allows only one extension, and it was already taken")
        now = self.clock()
        updated = replace(request, extended=True, updated_at=now)
        with self.repo.transaction():
            self.repo.update(updated)
            self.repo.add_history(StateChange(request_id, now, "extended", request.state.value, request.state.value,
                                              note.strip()))
        self._changed()
        return updated

    def attach_reply(self, request_id: int, path: str, note: str = "") -> ErasureRequest:
        """Remember where the vendor's reply is (a file the user keeps) and a note about it."""
        request = self.request(request_id)
        now = self.clock()
        updated = replace(request, reply_path=str(path), reply_note=note.strip(), updated_at=now)
        with self.repo.transaction():
            self.repo.update(updated)
            self.repo.add_history(StateChange(request_id, now, "reply", request.state.value, request.state.value,
                                              f"{path} {note}".strip()))
        self._changed()
        return updated

    # -- exporting ----------------------------------------------------------------------------------
    def calendar(self, requests: Iterable[ErasureRequest] | None = None) -> str:
        """An .ics of the open requests' deadlines (acknowledgment and response)."""
        events = []
        for request in (self.open_requests() if requests is None else requests):
            deadlines = self.deadlines(request)
            title = law_named(request.law_id).title
            who = f"{request.vendor_name} ({request.account_label})"
            if deadlines.acknowledgment is not None:
                events.append(CalendarEvent(f"erasure-{request.request_id}-ack@earmuff", deadlines.acknowledgment,
                                            f"{who}: erasure request acknowledgment due", title))
            events.append(CalendarEvent(f"erasure-{request.request_id}-response@earmuff", deadlines.response,
                                        f"{who}: erasure request response due", f"{title}\n{request.subject}"))
        return build_calendar(events, stamp=dt.datetime.fromtimestamp(self.clock(), dt.UTC))
