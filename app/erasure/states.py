"""Request states after the Data Rights Protocol's, and which changes between them are allowed."""

from __future__ import annotations

from enum import Enum


class RequestState(str, Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    NEEDS_VERIFICATION = "needs_verification"
    FULFILLED = "fulfilled"
    DENIED = "denied"
    EXPIRED = "expired"

    @property
    def title(self) -> str:
        return STATE_TITLES[self]

    @property
    def final(self) -> bool:
        return not TRANSITIONS[self]


STATE_TITLES = {
    RequestState.OPEN: "Open",
    RequestState.IN_PROGRESS: "In progress",
    RequestState.NEEDS_VERIFICATION: "Needs verification",
    RequestState.FULFILLED: "Fulfilled",
    RequestState.DENIED: "Denied",
    RequestState.EXPIRED: "Expired",
}

_ACTIVE_TARGETS = frozenset({RequestState.IN_PROGRESS, RequestState.NEEDS_VERIFICATION, RequestState.FULFILLED,
                             RequestState.DENIED, RequestState.EXPIRED})

#: state -> the states it may move to. Fulfilled, denied and expired are final.
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.OPEN: _ACTIVE_TARGETS,
    RequestState.IN_PROGRESS: _ACTIVE_TARGETS - {RequestState.IN_PROGRESS},
    RequestState.NEEDS_VERIFICATION: _ACTIVE_TARGETS - {RequestState.NEEDS_VERIFICATION},
    RequestState.FULFILLED: frozenset(),
    RequestState.DENIED: frozenset(),
    RequestState.EXPIRED: frozenset(),
}


class InvalidTransition(ValueError):
    """The change is not allowed from the request's current state (or lacks a reason)."""


def check_transition(current: RequestState, new: RequestState, reason: str = "") -> None:
    """Raise InvalidTransition unless `current` -> `new` is allowed; a denial needs its reason."""
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(f"a request that is {current.title.lower()} cannot become {new.title.lower()}")
    if new is RequestState.DENIED and not reason.strip():
        raise InvalidTransition("a denial needs the reason the business gave")
