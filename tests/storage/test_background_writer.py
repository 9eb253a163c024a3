"""The writer thread: batches, flushes, survives bad jobs, and writes everything before it closes."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest

from app.storage import BackgroundWriter, WriterClosed


def insert(key: str):
    def job(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO settings (key, value) VALUES (?, '0')", (key,))

    return job


def stored_keys(db) -> list[str]:
    return [k for (k,) in db.connection.execute("SELECT key FROM settings ORDER BY key")]


def blocker():
    """A job that holds the writer until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def job(conn):
        started.set()
        assert release.wait(10)

    return job, started, release


def test_jobs_queued_while_the_writer_is_busy_share_one_transaction(db, writer):
    hold, started, release = blocker()
    writer.submit(hold)
    assert started.wait(10)

    reader = db.connect(check_same_thread=False)
    seen_by_others: list[int] = []

    def insert_and_look(key):
        def job(conn):
            conn.execute("INSERT INTO settings (key, value) VALUES (?, '0')", (key,))
            # Another connection sees only committed rows: none of this batch's.
            seen_by_others.append(reader.execute("SELECT count(*) FROM settings").fetchone()[0])

        return job

    try:
        for n in range(10):
            writer.submit(insert_and_look(f"k{n:02d}"))
        assert writer.pending == 11
        release.set()
        assert writer.flush()
    finally:
        reader.close()

    assert seen_by_others == [0] * 10
    assert len(stored_keys(db)) == 10
    assert writer.pending == 0


def test_flush_makes_the_work_visible_to_the_main_connection(db, writer):
    writer.submit(insert("a"))
    writer.submit(insert("b"))
    assert writer.flush()
    assert stored_keys(db) == ["a", "b"]


def test_flush_times_out_while_a_job_is_stuck(writer):
    hold, started, release = blocker()
    writer.submit(hold)
    assert started.wait(10)
    assert writer.flush(timeout=0.01) is False
    release.set()
    assert writer.flush()


def test_a_failing_job_is_rolled_back_alone_and_reported(db, caplog):
    errors: list[Exception] = []

    def half_then_fail(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('half', '0')")
        raise ValueError("bad job")

    with BackgroundWriter(db, on_error=errors.append) as writer:
        hold, started, release = blocker()
        writer.submit(hold)
        assert started.wait(10)
        for job in (insert("before"), half_then_fail, insert("after")):
            writer.submit(job)
        release.set()
        assert writer.flush()

    assert stored_keys(db) == ["after", "before"]
    assert [str(e) for e in errors] == ["bad job"]
    assert "failed and was rolled back" in caplog.text


def test_a_job_that_ends_the_whole_transaction_does_not_cost_the_others(db, caplog):
    errors: list[Exception] = []

    def rogue(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('rogue', '0')")
        conn.execute("ROLLBACK")

    with BackgroundWriter(db, on_error=errors.append) as writer:
        hold, started, release = blocker()
        writer.submit(hold)
        assert started.wait(10)
        for job in (insert("one"), rogue, insert("two")):
            writer.submit(job)
        release.set()
        assert writer.flush()

    assert stored_keys(db) == ["one", "two"]
    assert len(errors) == 1
    assert "writing its 3 jobs one by one" in caplog.text


def test_close_writes_everything_submitted_and_joins(db):
    writer = BackgroundWriter(db, name="test-writer")
    for n in range(200):
        writer.submit(insert(f"k{n:03d}"))
    assert writer.close()
    assert not any(t.name == "test-writer" for t in threading.enumerate())
    assert len(stored_keys(db)) == 200
    assert writer.close()  # again: no-op
    with pytest.raises(WriterClosed):
        writer.submit(insert("late"))


def test_an_on_error_that_raises_does_not_stop_the_writer(db, caplog):
    def explode(error):
        raise RuntimeError("handler broke")

    def bad(conn):
        raise ValueError("bad")

    with BackgroundWriter(db, on_error=explode) as writer:
        writer.submit(bad)
        writer.submit(insert("still"))
        assert writer.flush()
    assert stored_keys(db) == ["still"]
    assert "on_error callback failed" in caplog.text


def test_flush_from_inside_a_job_is_refused(db):
    errors: list[Exception] = []
    with BackgroundWriter(db, on_error=errors.append) as writer:
        writer.submit(lambda conn: writer.flush())
        assert writer.flush()
    assert isinstance(errors[0], RuntimeError)


def test_the_writer_logs_under_its_own_thread_name(db, caplog):
    caplog.set_level(logging.ERROR)
    with BackgroundWriter(db, name="named-writer") as writer:
        writer.submit(lambda conn: (_ for _ in ()).throw(ValueError("x")))
        assert writer.flush()
    assert any(r.threadName == "named-writer" for r in caplog.records)
