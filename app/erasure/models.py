"""Erasure requests and their state changes as frozen snapshots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.erasure.letters import CitedActivation
from app.erasure.states import RequestState


@dataclass(frozen=True)
class ErasureRequest:
    """One legal erasure request to a vendor.

    Attributes:
        request_id: the database's id.
        account_id / account_label / vendor_id / vendor_name: the opt-out account it is for (copied, so the
            request outlives the account).
        law_id: "gdpr", "uk_gdpr" or "ccpa".
        state: where it stands; reason: the business's reason when denied.
        received: the day the business received it (the clock's start).
        extended: the business took its one extension.
        subject / letter / recipient: what was written, to whom (kept as the record of what was sent).
        cited: recordings the letter names.
        reply_path / reply_note: the vendor's reply, as the path of a file the user chose plus a note (the file
            itself stays where the user keeps it).
        created_at / updated_at: epoch seconds.
    """

    request_id: int
    account_id: int
    account_label: str
    vendor_id: str
    vendor_name: str
    law_id: str
    state: RequestState
    received: dt.date
    subject: str
    letter: str
    recipient: str = ""
    extended: bool = False
    reason: str = ""
    cited: tuple[CitedActivation, ...] = ()
    reply_path: str = ""
    reply_note: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True)
class StateChange:
    """One line of a request's history (created, state changed, extended, reply attached)."""

    request_id: int
    at: float
    action: str
    from_state: str
    to_state: str
    note: str = ""
