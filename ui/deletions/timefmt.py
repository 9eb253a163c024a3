"""Moments as the Deletions page says them: to the minute, relative to today."""

from __future__ import annotations

import datetime as dt


def local(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch).astimezone()


def moment_text(epoch: float, now: float) -> str:
    """'today 23:55', 'tomorrow 23:55', 'yesterday 09:00', 'Fri 28 Nov 23:55', '28 Nov 2025 23:55'."""
    moment, today = local(epoch), local(now).date()
    clock = f"{moment:%H:%M}"
    days = (moment.date() - today).days
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if days == -1:
        return f"yesterday {clock}"
    if -7 < days < 7:
        return f"{moment:%a %d %b} {clock}"
    if moment.year == today.year:
        return f"{moment:%d %b} {clock}"
    return f"{moment:%d %b %Y} {clock}"


def day_text(epoch: float, now: float) -> str:
    """'today', 'yesterday', 'Fri 28 Nov', '28 Nov 2025' (for what was done on a day)."""
    moment, today = local(epoch), local(now).date()
    days = (moment.date() - today).days
    if days == 0:
        return "today"
    if days == -1:
        return "yesterday"
    if days == 1:
        return "tomorrow"
    if moment.year == today.year:
        return f"{moment:%a %d %b}"
    return f"{moment:%d %b %Y}"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
