"""The app's side of traffic: 10 Hz samples over the stream, history on request, and the activation cache
kept in step with a real bridge (synced on connect, live as they end), in a real SQLite file."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from client_helpers import WAIT_S

from app.activations import ActivationRecord
from app.bridge_client.pairing import probe
from app.storage import SCHEMA_VERSION
from app.storage.activation_recorder import ActivationRecorder
from app.storage.activations_repo import ActivationRepository
from app.storage.database import Database
from app.storage.writer import BackgroundWriter
from device_bridge.config import simulated_config
from device_bridge.traffic.model import Activation
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource


class Cache:
    """The app's activation cache as AppContext wires it: database, writer, recorder, repository."""

    def __init__(self, path) -> None:
        self.db = Database.open(path)
        self.writer = BackgroundWriter(self.db)
        self.repo = ActivationRepository(self.db)
        self.manager = None  # names speakers once a test has made one
        self.recorder = ActivationRecorder(self.writer, self._name)
        self.changes = 0
        self._cond = threading.Condition()
        self.recorder.add_listener(self._changed)

    def _name(self, bridge_id: str, speaker_id: str) -> str:
        return self.manager.speaker_name(bridge_id, speaker_id) if self.manager is not None else speaker_id

    def listen_to(self, manager) -> None:
        self.manager = manager
        manager.add_listener(self.recorder)

    def _changed(self) -> None:
        with self._cond:
            self.changes += 1
            self._cond.notify_all()

    def wait_changes(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.changes >= count, WAIT_S), f"only {self.changes} changes"

    def close(self) -> None:
        self.writer.close()
        self.db.close()


@pytest.fixture
def cache(tmp_path):
    made = Cache(tmp_path / "earmuff.db")
    yield made
    made.close()


def paired(manager, recorder, bridge):
    record = manager.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    recorder.wait_for(lambda: (s := manager.status(record.bridge_id)) and s.online and s.speakers)
    return record


def stored(bridge, speaker_id: str, start: float, flags=frozenset()) -> Activation:
    return bridge.store.add_activation(Activation(speaker_id=speaker_id, start=start, end=start + 6.0,
                                                  bytes_up=221_000, peak_rate=76_000.0, confidence=0.99,
                                                  flags=frozenset(flags)))


def test_activations_the_bridge_kept_are_cached_on_connect_and_not_again(bridge, make_manager, cache):
    now = time.time()
    first = stored(bridge, "kitchen", now - 3600)
    second = stored(bridge, "bedroom", now - 600, {"while_muted"})
    manager, recorder = make_manager(sync_from=cache.repo.latest_start)
    cache.listen_to(manager)
    manager.start()
    record = paired(manager, recorder, bridge)
    cache.wait_changes(1)

    found = cache.repo.query()
    assert [(a.speaker_id, a.activation_id, a.flags) for a in found] == [
        ("bedroom", second.id, frozenset({"while_muted"})), ("kitchen", first.id, frozenset())]
    assert all(a.bridge_id == record.bridge_id for a in found)
    assert found[1].bytes_up == 221_000 and found[1].duration_s == 6.0
    assert cache.repo.latest_start(record.bridge_id) == pytest.approx(second.start)

    # The next app start syncs from the newest cached start: one record again, nothing doubled.
    manager.close()
    again, again_recorder = make_manager(sync_from=cache.repo.latest_start, bridges=[record])
    cache.listen_to(again)
    again.start()
    again_recorder.wait_for(lambda: again_recorder.synced)
    (bridge_id, records), = again_recorder.synced
    assert [r["id"] for r in records] == [second.id]
    assert len(cache.repo.query()) == 2 and cache.changes == 1


def test_samples_stream_at_ten_hertz_with_the_recent_past_first(bridge, make_manager):
    manager, recorder = make_manager(samples_backfill_s=600.0)
    manager.start()
    record = paired(manager, recorder, bridge)
    def traffic() -> list[dict]:
        return [r for _, r in list(recorder.samples) if r["type"] == "sample"]

    recorder.wait_for(lambda: {r["speaker_id"] for r in traffic()} >= {"kitchen", "bedroom", "living-room"})
    assert {b for b, _ in recorder.samples} == {record.bridge_id}
    sample = traffic()[0]
    assert sample["type"] == "sample" and {"time", "up", "down", "muted"} <= set(sample)


def test_without_samples_the_stream_carries_none(bridge, make_manager):
    manager, recorder = make_manager()
    manager.start()
    paired(manager, recorder, bridge)
    # The mute round trip proves the stream is flowing; no sample came with it.
    manager.set_mute(bridge.bridge_id, "kitchen", False)
    recorder.wait_for(lambda: any(s.speaker_id == "kitchen" and not s.muted for _, s in recorder.states))
    assert recorder.samples == []


def test_a_live_activation_reaches_the_cache_and_history_is_served(bridges, make_manager, cache):
    source = SimulatedTrafficSource(simulated_config("UTC").speakers, seed=3, behaviour=QUIET_BEHAVIOUR)
    bridge = bridges.start("live", traffic_source=source)
    manager, recorder = make_manager(samples_backfill_s=0.0, sync_from=cache.repo.latest_start)
    cache.listen_to(manager)
    manager.start()
    record = paired(manager, recorder, bridge)
    manager.set_mute(record.bridge_id, "kitchen", False)
    recorder.wait_for(lambda: any(s.speaker_id == "kitchen" and not s.muted for _, s in recorder.states))

    def unmuted_samples() -> list[float]:
        return [r["time"] for _, r in list(recorder.samples) if r["type"] == "sample" and r["speaker_id"] == "kitchen" and not r["muted"]]

    # An activation starts on a whole second: let the bridge record a full second unmuted first, or the
    # burst's first second would still read "muted" and be flagged.
    recorder.wait_for(lambda: (t := unmuted_samples()) and t[-1] - t[0] >= 1.2)
    source.inject_burst("kitchen")

    recorder.wait_for(lambda: any(kind == "activation_started" for _, kind, _ in recorder.activations), 20)
    recorder.wait_for(lambda: any(kind == "activation_ended" for _, kind, _ in recorder.activations), 30)
    started = next(d for _, k, d in recorder.activations if k == "activation_started")
    assert started["speaker_id"] == "kitchen" and started["flags"] == []
    cache.wait_changes(1)
    (cached,) = cache.repo.query(speakers=[(record.bridge_id, "kitchen")])
    assert cached.speaker_name == "Kitchen speaker" and cached.bytes_up > 100_000

    result: list = []
    done = threading.Event()
    manager.traffic_history(record.bridge_id, "kitchen", cached.start - 5, cached.end + 1,
                            lambda outcome: (result.append(outcome), done.set()))
    assert done.wait(WAIT_S)
    history = result[0].value
    assert history["step"] == 1.0 and len(history["up"]) == len(history["down"])
    assert max(v for v in history["up"] if v is not None) > 30_000


def test_unreadable_activation_records_are_skipped_and_the_rest_kept(cache, caplog):
    good = {"id": 4, "speaker_id": "kitchen", "start": 100.0, "end": 106.0, "bytes_up": 5000, "peak_rate": 900.0,
            "confidence": 0.97, "flags": ["no_speech_nearby"]}
    bad = [{"id": "x"}, {**good, "id": 5, "end": 50.0}, {**good, "id": 6, "flags": "while_muted"}, "not a dict",
           {**good, "id": 7, "start": float("nan")}]
    with caplog.at_level(logging.WARNING):
        cache.recorder.activations_synced("b1", [*bad, good])
    assert [a.activation_id for a in cache.repo.query()] == [4]
    assert caplog.text.count("cannot read") == len(bad)
    assert cache.changes == 1
    cache.recorder.activations_synced("b1", [good])  # the same again: no change to tell
    assert cache.changes == 1


def test_repository_filters_counts_and_days(tmp_path):
    import datetime as dt

    db = Database.open(tmp_path / "e.db")
    repo = ActivationRepository(db)
    base = dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.timezone.utc).timestamp()

    def act(i: int, speaker: str, start: float, flags=()) -> ActivationRecord:
        return ActivationRecord("b1", i, speaker, speaker.title(), start, start + 5, 1000, 500.0, 0.9, frozenset(flags))

    repo.upsert_many([act(1, "kitchen", base), act(2, "kitchen", base + 3600, ["while_muted"]),
                      act(3, "bedroom", base + 7200), act(4, "bedroom", base - 86400 * 2)])
    assert [a.activation_id for a in repo.query()] == [3, 2, 1, 4]
    assert [a.activation_id for a in repo.query(flagged_only=True)] == [2]
    assert [a.activation_id for a in repo.query(speakers=[("b1", "bedroom")])] == [3, 4]
    assert [a.activation_id for a in repo.query(start=base + 1, end=base + 3601)] == [2, 1]  # overlap counts
    assert [a.activation_id for a in repo.query(limit=2)] == [3, 2]
    assert repo.count_since(base) == {("b1", "kitchen"): (2, 1), ("b1", "bedroom"): (1, 0)}
    utc = repo.per_day(base - 86400 * 3, base + 86400, dt.timezone.utc)
    assert utc == {(dt.date(2026, 3, 28), "b1", "kitchen"): 1, (dt.date(2026, 3, 29), "b1", "kitchen"): 1,
                   (dt.date(2026, 3, 29), "b1", "bedroom"): 1, (dt.date(2026, 3, 26), "b1", "bedroom"): 1}
    tokyo = repo.per_day(base - 86400 * 3, base + 86400, "Asia/Tokyo")  # 08:30 on the 29th there
    assert tokyo[(dt.date(2026, 3, 29), "b1", "kitchen")] == 2
    db.connection.execute("UPDATE activations SET flags = 'garbage' WHERE activation_id = 2")
    assert repo.get("b1", 2).flags == frozenset()
    db.close()


def test_a_v3_file_keeps_its_bridges_and_gains_the_activation_cache(tmp_path):
    import sqlite3

    from app.storage.migrations import MIGRATIONS, apply_migration

    path = tmp_path / "earmuff.db"
    conn = sqlite3.connect(path)
    for version, migration in enumerate(MIGRATIONS[:3], start=1):
        apply_migration(conn, migration)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO bridges (bridge_id, name, host, port, fingerprint, paired_at) "
                 "VALUES ('b1', 'Hall', '192.168.4.1', 8443, 'ab', 1.0)")
    conn.commit()
    conn.close()
    with Database.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION and db.backup_path is not None
        assert db.connection.execute("SELECT name FROM bridges").fetchall() == [("Hall",)]
        repo = ActivationRepository(db)
        assert repo.query() == [] and repo.latest_start("b1") is None
