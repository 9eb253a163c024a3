"""Which flagged activations become a notification, and what it says: per-flag settings and a rate limit.

The bridge tells of an activation twice: when it starts (with the flags known then) and when it ends
(with the flags it got meanwhile, such as no_speech_nearby once the room microphone had its say). Each
flag is told once per activation, on whichever event first carries it. A speaker that keeps misfiring
must not bury the desktop in notifications: per speaker and flag, one notification per
`alert_min_interval_s`; the ones held back are counted and mentioned in the next ("and 3 more since
21:14"). Nothing here knows Qt: the UI (ui.alerts) shows what `ActivationAlerts` decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from app.activations import CRITICAL_FLAG, FLAG_TEXT, FLAG_TITLE, INFO_FLAGS, order_flags

#: The Settings field that switches each flag's notifications on or off (flags not listed always notify).
FLAG_SETTING: dict[str, str] = {
    "while_muted": "alert_while_muted",
    "during_schedule": "alert_during_schedule",
    "no_speech_nearby": "alert_no_speech_nearby",
}
#: A bridge's critical alarm this soon after a while_muted activation of the same speaker is the same news.
ALARM_MERGE_S = 120.0


def clock_text(epoch: float) -> str:
    """'21:14' in this computer's time zone."""
    return time.strftime("%H:%M", time.localtime(epoch))


def wants(settings, flag: str) -> bool:
    """Whether the user wants notifications for this flag (FLAG_SETTING; unknown flags: yes; informational flags
    such as Earmuff's own "deletion_command": never)."""
    if flag in INFO_FLAGS:
        return False
    name = FLAG_SETTING.get(flag)
    return True if name is None else bool(getattr(settings, name))


@dataclass(frozen=True)
class Admission:
    """The limiter's answer. When `allowed`, `held` earlier ones were held back, the first at `held_since`."""

    allowed: bool
    held: int = 0
    held_since: float | None = None


class RateLimiter:
    """At most one per key per interval; the ones refused are counted until the next one is allowed.

    `clock()` gives epoch seconds (a test passes its own). A clock that went backwards allows at once.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, tuple[int, float]] = {}

    def offer(self, key: Hashable, interval_s: float, when: float | None = None) -> Admission:
        """May one go out for `key` now? `when` (default now) is what a refused one is remembered by."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and 0.0 <= now - last < interval_s:
            count, first = self._held.get(key, (0, now if when is None else when))
            self._held[key] = (count + 1, first)
            return Admission(False)
        count, first = self._held.pop(key, (0, None))
        self._last[key] = now
        return Admission(True, count, first)

    def held(self, key: Hashable) -> int:
        """How many are waiting to be mentioned for `key`."""
        return self._held.get(key, (0, 0.0))[0]


@dataclass(frozen=True)
class Alert:
    """One notification about one activation.

    Attributes:
        bridge_id, speaker_id, start: the activation (start: epoch seconds); activation_id once it ended.
        flags: the flags this notification is about, most important first.
        critical: one of them is CRITICAL_FLAG (the mute did not hold).
        title, message: the notification's text.
        held: how many like it were held back since the last notification (already in `message`).
    """

    bridge_id: str
    speaker_id: str
    start: float
    flags: tuple[str, ...]
    critical: bool
    title: str
    message: str
    activation_id: int | None = None
    held: int = 0


class ActivationAlerts:
    """Turns a bridge's activation events into Alerts, honouring the settings and the rate limit.

    Call `event(...)` for every activation_started / activation_ended, in the order they came;
    `absorbs_alarm(...)` tells whether a bridge's critical alarm only repeats an alert's news.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.limiter = RateLimiter(clock)
        self._open: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._muted_uploads: dict[tuple[str, str], float] = {}

    def event(self, bridge_id: str, kind: str, data: dict, settings, speaker_name: str = "") -> Alert | None:
        """The Alert to show for this event, or None (no new flag, all switched off, or all held back)."""
        speaker_id = str(data.get("speaker_id") or "")
        if not speaker_id or kind not in ("activation_started", "activation_ended"):
            return None
        flags = frozenset(f for f in (data.get("flags") or ()) if isinstance(f, str))
        start = _number(data.get("start"), self._clock())
        key = (bridge_id, speaker_id)
        if kind == "activation_started":
            self._open[key] = (start, flags)
            new = flags
        else:
            seen_start, seen = self._open.pop(key, (None, frozenset()))
            new = flags - seen if seen_start is not None and abs(seen_start - start) < 1.0 else flags
        if CRITICAL_FLAG in new:
            self._muted_uploads[key] = self._clock()
        wanted = [f for f in order_flags(new) if wants(settings, f)]
        if not wanted:
            return None
        interval = float(settings.alert_min_interval_s)
        allowed, held, since = [], 0, None
        for flag in wanted:
            admission = self.limiter.offer((bridge_id, speaker_id, flag), interval, start)
            if admission.allowed:
                allowed.append(flag)
                held += admission.held
                if admission.held_since is not None:
                    since = admission.held_since if since is None else min(since, admission.held_since)
        if not allowed:
            return None
        activation_id = data.get("id") if kind == "activation_ended" else None
        name = speaker_name or speaker_id
        return Alert(
            bridge_id=bridge_id, speaker_id=speaker_id, start=start, flags=tuple(allowed),
            critical=CRITICAL_FLAG in allowed, title=f"{FLAG_TITLE.get(allowed[0], 'Flagged upload')}: {name}",
            message=_message(start, allowed, held, since, ended=kind == "activation_ended"),
            activation_id=activation_id if isinstance(activation_id, int) else None, held=held,
        )

    def absorbs_alarm(self, bridge_id: str, speaker_id: str | None, level: str) -> bool:
        """True for the critical alarm a bridge raises beside a while_muted activation already told of."""
        if level != "critical" or not speaker_id:
            return False
        seen = self._muted_uploads.get((bridge_id, speaker_id))
        return seen is not None and abs(self._clock() - seen) <= ALARM_MERGE_S

    def forget_bridge(self, bridge_id: str) -> None:
        for table in (self._open, self._muted_uploads):
            for key in [k for k in table if k[0] == bridge_id]:
                del table[key]


def _message(start: float, flags: list[str], held: int, since: float | None, *, ended: bool) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(start))
    first = f"The upload that began at {when}." if ended else f"Started at {when}."
    if held:
        first += f" And {held} more since {clock_text(since if since is not None else start)}."
    lines = [first] + [FLAG_TEXT.get(f, f"Flagged by the bridge: {f}.") for f in flags]
    return "\n".join(lines)


def _number(value, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return default
