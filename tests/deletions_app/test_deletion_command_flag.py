"""The bridge's informational "deletion_command" flag (an upload caused by Earmuff's own deletion phrase) is
explained but is not a problem: not "flagged", never an alert, not counted or filtered as flagged."""

from __future__ import annotations

from dataclasses import dataclass

from app.activations import (
    FLAG_TEXT,
    FLAG_TITLE,
    INFO_FLAGS,
    ActivationRecord,
    describe_flags,
    order_flags,
    problem_flags,
)
from app.alerts import ActivationAlerts, wants
from app.storage.activations_repo import ActivationRepository


@dataclass
class Settings:
    alert_while_muted: bool = True
    alert_during_schedule: bool = True
    alert_no_speech_nearby: bool = True
    alert_min_interval_s: float = 0.0


def record(activation_id: int, flags=(), start: float = 1000.0) -> ActivationRecord:
    return ActivationRecord(bridge_id="b1", activation_id=activation_id, speaker_id="kitchen",
                            speaker_name="Kitchen", start=start, end=start + 6, bytes_up=12_000, peak_rate=9000.0,
                            confidence=0.9, flags=frozenset(flags))


def test_the_flag_is_explained_as_earmuffs_own_command():
    assert "deletion_command" in INFO_FLAGS
    assert FLAG_TITLE["deletion_command"] == "Earmuff's deletion command"
    assert "deletion phrase" in FLAG_TEXT["deletion_command"] and "nothing is wrong" in FLAG_TEXT["deletion_command"]
    assert describe_flags(frozenset({"deletion_command"})) == FLAG_TEXT["deletion_command"]
    assert order_flags({"deletion_command", "while_muted"}) == ["while_muted", "deletion_command"]


def test_an_upload_with_only_the_flag_is_not_flagged():
    assert not record(1, {"deletion_command"}).flagged
    assert not record(1, {"deletion_command"}).critical
    assert record(2, {"deletion_command", "while_muted"}).flagged
    assert record(3, {"no_speech_nearby"}).flagged and not record(4).flagged
    assert problem_flags({"deletion_command", "during_schedule"}) == frozenset({"during_schedule"})


def test_it_never_becomes_a_notification():
    settings = Settings()
    assert not wants(settings, "deletion_command") and wants(settings, "some_future_flag")
    alerts = ActivationAlerts(clock=lambda: 1000.0)
    started = {"speaker_id": "kitchen", "start": 1000.0, "flags": ["deletion_command"]}
    assert alerts.event("b1", "activation_started", started, settings, "Kitchen") is None
    assert alerts.event("b1", "activation_ended", {**started, "id": 5}, settings, "Kitchen") is None
    # Beside a real problem, the problem is told and the informational flag is not.
    both = {"speaker_id": "kitchen", "start": 2000.0, "flags": ["deletion_command", "while_muted"]}
    alert = alerts.event("b1", "activation_started", both, settings, "Kitchen")
    assert alert is not None and alert.flags == ("while_muted",) and alert.critical


def test_the_cache_does_not_count_or_filter_it_as_flagged(db):
    repo = ActivationRepository(db)
    repo.upsert_many([record(1, {"deletion_command"}, 1000.0), record(2, {"while_muted"}, 2000.0),
                      record(3, (), 3000.0), record(4, {"deletion_command", "no_speech_nearby"}, 4000.0)])
    assert [a.activation_id for a in repo.query(flagged_only=True)] == [4, 2]
    assert [a.activation_id for a in repo.query(start=1500.0, flagged_only=True)] == [4, 2]
    assert repo.count_since(0.0) == {("b1", "kitchen"): (4, 2)}
    assert repo.get("b1", 1).flags == frozenset({"deletion_command"})
