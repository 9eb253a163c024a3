"""The persister: registry events become writes, and a burst of updates to one device becomes one write."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from app.devices import Device, DeviceKind, Group, GroupKind
from app.storage import BackgroundWriter, DevicePersister, DeviceRepository

KITCHEN = Device(device_id="uuid-kitchen", advertised_name="Kitchen", kind=DeviceKind.SPEAKER, first_seen=1.0)
HALL = Device(device_id="uuid-hall", advertised_name="Hall", kind=DeviceKind.DISPLAY, first_seen=2.0)


@pytest.fixture
def persister(writer):
    return DevicePersister(writer)


def hold_writer(writer):
    started, release = threading.Event(), threading.Event()
    writer.submit(lambda conn: (started.set(), release.wait(10)))
    assert started.wait(10)
    return release


def loaded(db) -> dict[str, Device]:
    return {d.device_id: d for d in DeviceRepository(db).load_all()}


def test_added_devices_are_saved(db, writer, persister):
    persister.device_added(KITCHEN)
    persister.device_added(HALL)
    assert writer.flush()
    assert set(loaded(db)) == {"uuid-kitchen", "uuid-hall"}


def test_a_burst_of_updates_is_written_once_with_the_newest_snapshot(db, writer, persister):
    release = hold_writer(writer)
    for n in range(50):
        persister.device_updated(replace(KITCHEN, last_seen=float(n)))
    persister.device_updated(HALL)
    assert writer.pending == 1 + 2  # the blocker, then one job per device
    release.set()
    assert writer.flush()

    assert loaded(db)["uuid-kitchen"].last_seen == 49.0


def test_an_update_after_its_write_started_is_written_too(db, writer, persister):
    persister.device_added(KITCHEN)
    assert writer.flush()
    persister.device_updated(replace(KITCHEN, user_name="Chatty"))
    assert writer.flush()
    assert loaded(db)["uuid-kitchen"].user_name == "Chatty"


def test_removal_wins_over_queued_updates_and_a_re_add_wins_over_removal(db, writer, persister):
    persister.device_added(KITCHEN)
    persister.device_added(HALL)
    assert writer.flush()

    release = hold_writer(writer)
    persister.device_updated(replace(KITCHEN, last_seen=9.0))
    persister.device_removed("uuid-kitchen")
    persister.device_removed("uuid-hall")
    persister.device_added(replace(HALL, last_seen=7.0))
    release.set()
    assert writer.flush()

    assert list(loaded(db)) == ["uuid-hall"]
    assert loaded(db)["uuid-hall"].last_seen == 7.0


def test_group_events_write_nothing(db, writer, persister):
    group = Group(group_id="g1", name="Whole house", kind=GroupKind.CAST_GROUP, member_ids=("uuid-kitchen",))
    persister.group_updated(group)
    persister.group_removed("g1")
    assert writer.pending == 0
    assert loaded(db) == {}


def test_events_after_close_are_logged_not_raised(db, caplog):
    writer = BackgroundWriter(db)
    persister = DevicePersister(writer)
    persister.device_added(KITCHEN)
    writer.close()
    persister.device_updated(HALL)
    assert "after storage was closed" in caplog.text
    assert list(loaded(db)) == ["uuid-kitchen"]


def test_a_batch_run_again_after_a_rogue_job_still_saves_the_device(db, writer):
    release = hold_writer(writer)
    persister = DevicePersister(writer, DeviceRepository(db))
    persister.device_added(KITCHEN)
    writer.submit(lambda conn: conn.execute("ROLLBACK"))  # ends the batch's transaction
    persister.device_added(HALL)
    release.set()
    assert writer.flush()
    assert set(loaded(db)) == {"uuid-kitchen", "uuid-hall"}
