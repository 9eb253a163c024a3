"""Which flagged activations become notifications (Qt-free): per-flag settings, one per speaker and flag per
interval with the held-back ones counted into the next, each flag told once per activation, and the
bridge's own while-muted alarm folded into the activation's alert."""

from __future__ import annotations

import time
from dataclasses import replace

from app.activations import FLAG_TEXT
from app.alerts import ALARM_MERGE_S, ActivationAlerts, RateLimiter, clock_text
from app.settings import Settings


class Clock:
    def __init__(self, now: float = 1_774_800_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def started(speaker: str, start: float, *flags: str) -> dict:
    return {"speaker_id": speaker, "start": start, "confidence": 0.98, "flags": list(flags)}


def ended(speaker: str, start: float, *flags: str, number: int = 7) -> dict:
    return {"id": number, "speaker_id": speaker, "start": start, "end": start + 6, "bytes_up": 200_000,
            "peak_rate": 70_000.0, "confidence": 0.98, "flags": list(flags)}


def test_the_limiter_allows_one_per_key_per_interval_and_counts_the_rest():
    clock = Clock()
    limiter = RateLimiter(clock)
    first = limiter.offer("k", 60, when=clock.now)
    assert first.allowed and first.held == 0
    first_held = clock.now + 10
    for _ in range(3):
        clock.now += 10
        assert not limiter.offer("k", 60, when=clock.now).allowed
    assert limiter.offer("other", 60).allowed  # other keys are not held back
    assert limiter.held("k") == 3
    clock.now += 31  # 61 s after the first
    again = limiter.offer("k", 60)
    assert again.allowed and again.held == 3 and again.held_since == first_held
    assert limiter.held("k") == 0
    clock.now -= 3600  # the computer's clock was set back: do not hold alerts back for an hour
    assert limiter.offer("k", 60).allowed


def test_a_flagged_start_alerts_once_and_the_next_says_how_many_were_held_back():
    clock = Clock()
    alerts = ActivationAlerts(clock)
    settings = Settings()  # 60 s
    alert = alerts.event("b1", "activation_started", started("kitchen", clock.now, "while_muted"), settings,
                         "Kitchen speaker")
    assert alert is not None and alert.critical and alert.flags == ("while_muted",)
    assert alert.title == "Uploaded while muted: Kitchen speaker"
    assert FLAG_TEXT["while_muted"] in alert.message and alert.held == 0
    first_held = None
    for _ in range(3):
        clock.now += 12
        first_held = first_held or clock.now
        assert alerts.event("b1", "activation_started", started("kitchen", clock.now, "while_muted"), settings,
                            "Kitchen speaker") is None
    # Another speaker, or another flag of the same speaker, is not held back by the kitchen's.
    assert alerts.event("b1", "activation_started", started("bedroom", clock.now, "while_muted"), settings, "B")
    assert alerts.event("b1", "activation_started", started("kitchen", clock.now, "during_schedule"), settings, "K")
    clock.now += 30  # 66 s after the first
    later = alerts.event("b1", "activation_started", started("kitchen", clock.now, "while_muted"), settings,
                         "Kitchen speaker")
    assert later is not None and later.held == 3
    assert f"And 3 more since {clock_text(first_held)}." in later.message


def test_the_interval_comes_from_the_settings_at_each_event():
    clock = Clock()
    alerts = ActivationAlerts(clock)
    short = replace(Settings(), alert_min_interval_s=10)
    assert alerts.event("b1", "activation_started", started("k", clock.now, "during_schedule"), short)
    clock.now += 11
    assert alerts.event("b1", "activation_started", started("k", clock.now, "during_schedule"), short)
    clock.now += 11
    assert alerts.event("b1", "activation_started", started("k", clock.now, "during_schedule"),
                        replace(short, alert_min_interval_s=3600)) is None


def test_each_flag_can_be_switched_off_and_unflagged_activations_never_alert():
    clock = Clock()
    alerts = ActivationAlerts(clock)
    quiet = replace(Settings(), alert_while_muted=False, alert_no_speech_nearby=False)
    assert alerts.event("b1", "activation_started", started("k", clock.now), Settings()) is None
    assert alerts.event("b1", "activation_started", started("k", clock.now, "while_muted"), quiet) is None
    assert alerts.event("b1", "activation_started", started("b", clock.now, "no_speech_nearby"), quiet) is None
    both = alerts.event("b1", "activation_started", started("l", clock.now, "while_muted", "during_schedule"), quiet,
                        "Living room speaker")
    assert both is not None and both.flags == ("during_schedule",) and not both.critical
    assert both.title == "Uploaded in quiet time: Living room speaker"
    assert FLAG_TEXT["while_muted"] not in both.message


def test_a_flag_is_told_once_per_activation_on_whichever_event_first_carries_it():
    clock = Clock()
    alerts = ActivationAlerts(clock)
    settings = Settings()
    start = clock.now
    assert alerts.event("b1", "activation_started", started("k", start, "while_muted"), settings, "K")
    clock.now += 7
    # The end adds no_speech_nearby (the room microphone had its say): only that is news.
    news = alerts.event("b1", "activation_ended", ended("k", start, "while_muted", "no_speech_nearby", number=12),
                        settings, "K")
    assert news is not None and news.flags == ("no_speech_nearby",) and news.activation_id == 12
    assert news.start == start and "The upload that began at" in news.message
    clock.now += 100
    # Ended with nothing new: silent. Ended without a start seen (Earmuff started meanwhile): all is news.
    assert alerts.event("b1", "activation_started", started("k", clock.now, "during_schedule"), settings) is not None
    assert alerts.event("b1", "activation_ended", ended("k", clock.now, "during_schedule"), settings) is None
    clock.now += 100
    fresh = alerts.event("b1", "activation_ended", ended("b", clock.now - 6, "during_schedule"), settings)
    assert fresh is not None and fresh.flags == ("during_schedule",)


def test_the_bridge_alarm_for_an_upload_while_muted_is_folded_into_the_alert():
    clock = Clock()
    alerts = ActivationAlerts(clock)
    assert not alerts.absorbs_alarm("b1", "k", "critical")  # nothing told yet: the alarm is news
    alerts.event("b1", "activation_started", started("k", clock.now, "while_muted"), Settings())
    clock.now += 1
    assert alerts.absorbs_alarm("b1", "k", "critical")
    assert not alerts.absorbs_alarm("b1", "k", "error")      # a mute that failed to switch: its own news
    assert not alerts.absorbs_alarm("b1", "other", "critical")
    assert not alerts.absorbs_alarm("b2", "k", "critical")
    clock.now += ALARM_MERGE_S + 1
    assert not alerts.absorbs_alarm("b1", "k", "critical")
    # Switched off or held back, the activation still covers the alarm: the user chose fewer messages.
    alerts.event("b1", "activation_started", started("k", clock.now, "while_muted"),
                 replace(Settings(), alert_while_muted=False))
    assert alerts.absorbs_alarm("b1", "k", "critical")
    alerts.forget_bridge("b1")
    assert not alerts.absorbs_alarm("b1", "k", "critical")


def test_messages_use_local_clock_times():
    start = time.mktime((2026, 3, 29, 21, 14, 5, 0, 0, -1))
    alert = ActivationAlerts(Clock(start)).event("b1", "activation_started", started("k", start, "while_muted"),
                                                 Settings(), "K")
    assert alert.message.startswith("Started at 21:14:05.")
