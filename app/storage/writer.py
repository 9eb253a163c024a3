"""Database writes off the GUI and discovery threads, batched, and none of them lost.

Callers `submit` small jobs (functions taking a connection). One thread takes
everything queued so far and runs it in a single transaction, each job inside
its own SAVEPOINT: a job that raises is rolled back alone, reported, and the
rest of the batch commits. If a job manages to end the whole transaction (an
I/O error, a stray ROLLBACK), the batch is run again one job per transaction,
so the good jobs still land.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable

from app.storage.database import Database

log = logging.getLogger(__name__)

Job = Callable[[sqlite3.Connection], None]


class WriterClosed(RuntimeError):
    """`submit` after `close`: the job was not accepted."""


class BackgroundWriter:
    """A thread that owns one connection and commits submitted jobs in batches.

    Not a daemon thread: `close()` must be called (it writes everything
    submitted before it). Usable as a context manager.

    Attributes:
        name: the thread's name.
    """

    def __init__(
        self,
        db: Database,
        name: str = "earmuff-db-writer",
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.name = name
        self._on_error = on_error
        self._conn = db.connect(check_same_thread=False)  # used only by the thread, which closes it
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, Job]] = deque()
        self._submitted = 0  # sequence number of the newest job accepted
        self._done = 0       # every job up to this number has been run and its batch committed
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue `job(conn)` to run on the writer thread. It must not commit or roll back itself."""
        with self._cond:
            if self._stopping:
                raise WriterClosed(f"{self.name} is closed; job {job!r} not accepted")
            self._submitted += 1
            self._queue.append((self._submitted, job))
            self._cond.notify_all()

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until every job submitted before this call has run and been committed.

        Jobs that raised count as done (they were rolled back and reported).
        Returns False on timeout.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("flush() called from a writer job would wait for itself")
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._done >= target or not self._thread.is_alive(), timeout) and (
                self._done >= target
            )

    def close(self, timeout: float | None = 5.0) -> bool:
        """Write everything submitted so far, stop the thread and join it. Safe to call twice.

        Returns True when the thread has ended.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("%s did not finish within %s s; some writes may still be pending", self.name, timeout)
            return False
        return True

    @property
    def pending(self) -> int:
        """How many submitted jobs are not committed yet."""
        with self._cond:
            return self._submitted - self._done

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._stopping)
                    if not self._queue:
                        return  # stopping, and nothing left
                    batch = list(self._queue)
                    self._queue.clear()
                try:
                    self._write(batch)
                except Exception as error:  # noqa: BLE001 - the thread must outlive any one batch
                    log.exception("%s: batch of %d jobs failed", self.name, len(batch))
                    self._report(error)
                with self._cond:
                    self._done = batch[-1][0]
                    self._cond.notify_all()
        finally:
            self._conn.close()
            with self._cond:
                self._cond.notify_all()  # flush() callers stop waiting on a dead thread

    def _write(self, batch: list[tuple[int, Job]]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for _, job in batch:
                self._run_job(conn, job)
                if not conn.in_transaction:
                    break
            if conn.in_transaction:
                conn.execute("COMMIT")
                return
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        # WORKAROUND: SQLite ends the whole transaction on some errors (SQLITE_FULL,
        # IOERR, a job's own ROLLBACK), taking the earlier savepoints with it.
        log.warning("%s: a job ended the batch's transaction; writing its %d jobs one by one", self.name, len(batch))
        for _, job in batch:
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._run_job(conn, job)
                if not conn.in_transaction:
                    raise sqlite3.OperationalError("the job ended the transaction itself")
                conn.execute("COMMIT")
            except Exception as error:  # noqa: BLE001
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                log.error("%s: job %r could not be written: %s", self.name, job, error)
                self._report(error)

    def _run_job(self, conn: sqlite3.Connection, job: Job) -> None:
        conn.execute("SAVEPOINT earmuff_job")
        try:
            job(conn)
        except Exception as error:  # noqa: BLE001 - one bad job must not cost the others
            if conn.in_transaction:
                conn.execute("ROLLBACK TO earmuff_job")
                conn.execute("RELEASE earmuff_job")
            log.exception("%s: job %r failed and was rolled back", self.name, job)
            self._report(error)
            return
        if conn.in_transaction:
            conn.execute("RELEASE earmuff_job")

    def _report(self, error: Exception) -> None:
        if self._on_error is None:
            return
        try:
            self._on_error(error)
        except Exception:  # noqa: BLE001
            log.exception("%s: on_error callback failed", self.name)
