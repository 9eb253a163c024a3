"""The one SQLite file the desktop app keeps: opening, checking, upgrading, and never losing it.

Opening a database does, in order: connect; read `user_version` and run
`PRAGMA quick_check` (a file that is not a database or is damaged is *moved
aside*, never deleted or overwritten); refuse a file written by a newer Earmuff
(moved aside too); switch to WAL; copy the file with SQLite's backup API if it
is about to be upgraded; then apply the migrations one transaction each.

Errors split in two, the way the rest of the app wants them:
`DatabaseCorrupt` and `DatabaseTooNew` mean "the old file is safe under another
name, a fresh one can be started" (`Database.open_or_recover` does that and
hands the error back for a dialog); `DatabaseUnavailable` and `MigrationFailed`
mean "nothing was changed, Earmuff cannot go on with this file".
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.storage.migrations import LATEST, MIGRATIONS, apply_migration

log = logging.getLogger(__name__)

DATABASE_FILENAME = "earmuff.db"
BUSY_TIMEOUT_MS = 5000

# Files SQLite keeps next to the database; they belong to it and move with it.
_SIBLING_SUFFIXES = ("-wal", "-shm", "-journal")
# Result codes that mean the file itself is bad (the low byte of an extended code).
_CORRUPTION_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB

Clock = Callable[[], float]


class StorageError(Exception):
    """Something is wrong with the database file, in words a user can act on.

    Attributes:
        path: the database file concerned.
        user_message: plain sentences for a dialog or the command line.
    """

    def __init__(self, message: str, *, path: Path, user_message: str) -> None:
        super().__init__(message)
        self.path = path
        self.user_message = user_message


class DatabaseCorrupt(StorageError):
    """The file was not a readable database; it now lives at `moved_to`.

    Attributes:
        moved_to: where the damaged file was set aside (its -wal/-shm went with it).
        detail: what SQLite said.
    """

    def __init__(self, path: Path, moved_to: Path, detail: str) -> None:
        super().__init__(
            f"database {path} is damaged ({detail}); moved to {moved_to}",
            path=path,
            user_message=(
                f"Earmuff could not read its database at {path} ({detail}). "
                f"The damaged file was kept, renamed to {moved_to}, and Earmuff "
                "started a fresh, empty database. Speakers will be found again on the "
                "network; names and rooms you gave them will need to be set again."
            ),
        )
        self.moved_to = moved_to
        self.detail = detail


class DatabaseTooNew(StorageError):
    """The file was written by a newer Earmuff; it now lives at `moved_to`.

    Attributes:
        found_version: the schema version in the file.
        supported_version: the newest schema this Earmuff knows.
        moved_to: where the file was set aside.
    """

    def __init__(self, path: Path, found_version: int, supported_version: int, moved_to: Path) -> None:
        super().__init__(
            f"database {path} has schema version {found_version}, newer than {supported_version}; "
            f"moved to {moved_to}",
            path=path,
            user_message=(
                f"The database at {path} was written by a newer version of Earmuff "
                f"(format {found_version}; this version understands up to {supported_version}). "
                f"It was kept unchanged, renamed to {moved_to}, and Earmuff started a fresh, "
                "empty database. Install the newer Earmuff again and rename the file back "
                "to get your data back."
            ),
        )
        self.found_version = found_version
        self.supported_version = supported_version
        self.moved_to = moved_to


class DatabaseUnavailable(StorageError):
    """The file could not be opened or set aside (permissions, disk, another Earmuff holding it).

    Nothing was changed; starting fresh would not help.
    """

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"cannot use database {path}: {detail}",
            path=path,
            user_message=(
                f"Earmuff could not open its database at {path}: {detail}. "
                "Nothing was changed. Check that the folder is writable and that no other "
                "copy of Earmuff is running, then start Earmuff again."
            ),
        )
        self.detail = detail


class MigrationFailed(StorageError):
    """Upgrading the file failed; it stays at `from_version`, and `backup` holds a copy."""

    def __init__(self, path: Path, from_version: int, to_version: int, backup: Path | None, detail: str) -> None:
        kept = f" A copy made before the upgrade is at {backup}." if backup else ""
        super().__init__(
            f"upgrading database {path} from version {from_version} to {to_version} failed: {detail}",
            path=path,
            user_message=(
                f"Earmuff could not upgrade its database at {path} ({detail}). "
                f"The file was left as it was.{kept}"
            ),
        )
        self.from_version = from_version
        self.to_version = to_version
        self.backup = backup
        self.detail = detail


def is_corruption(error: BaseException) -> bool:
    """True when SQLite says the file itself is damaged or not a database."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.DatabaseError) and code is not None and (code & 0xFF) in _CORRUPTION_CODES


def configure(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Per-connection settings every Earmuff connection uses."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _raw_connect(path: Path, check_same_thread: bool) -> sqlite3.Connection:
    # isolation_level=None: no implicit BEGINs; every transaction is explicit (see `transaction`).
    return sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=check_same_thread,
    )


_savepoint_ids = itertools.count(1)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises.

    Inside an open transaction it nests as a SAVEPOINT, so repository methods can
    be called on their own or from within a writer batch.
    """
    if conn.in_transaction:
        name = f"earmuff_sp_{next(_savepoint_ids)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _stamp(clock: Clock) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _family_free(path: Path) -> bool:
    """True when neither `path` nor any of its SQLite siblings exists."""
    return not any(os.path.lexists(_with_suffix(path, s)) for s in ("", *_SIBLING_SUFFIXES))


def free_name(directory: Path, base: str) -> Path:
    """`directory/base`, or `base-2`, `base-3`... : the first whose whole family is absent."""
    for n in itertools.count(1):
        candidate = directory / (base if n == 1 else f"{base}-{n}")
        if _family_free(candidate):
            return candidate
    raise AssertionError("unreachable")


def _rename_no_overwrite(src: Path, dst: Path) -> None:
    """Rename, failing with FileExistsError rather than replacing `dst` (os.rename replaces on POSIX)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        # No hard links here (FAT, some network shares): check, then rename.
        if os.path.lexists(dst):
            raise FileExistsError(str(dst)) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def move_aside(path: Path, label: str, clock: Clock = time.time) -> Path:
    """Rename `path` and its -wal/-shm/-journal to `<name>.<label>-<YYYYmmdd-HHMMSS>[-n]`.

    Never deletes and never overwrites. The siblings must go too: a leftover
    -wal would be replayed into the fresh database that takes this name.
    Returns the new name of the main file. Raises OSError if it cannot be done.
    """
    base = f"{path.name}.{label}-{_stamp(clock)}"
    while True:
        target = free_name(path.parent, base)
        try:
            _rename_no_overwrite(path, target)
            break
        except FileExistsError:
            continue  # someone took the name between the check and the rename; pick again
    for suffix in _SIBLING_SUFFIXES:
        sibling = _with_suffix(path, suffix)
        if os.path.lexists(sibling):
            wanted = _with_suffix(target, suffix)
            destination = wanted if not os.path.lexists(wanted) else free_name(target.parent, wanted.name)
            _rename_no_overwrite(sibling, destination)
    log.warning("Moved database %s aside to %s", path, target)
    return target


def backup_copy(conn: sqlite3.Connection, path: Path, version: int, clock: Clock = time.time) -> Path:
    """Copy the open database with SQLite's backup API to `<db>.backup-v<version>-<stamp>`."""
    target = free_name(path.parent, f"{path.name}.backup-v{version}-{_stamp(clock)}")
    with open(target, "xb"):  # claim the name; an empty file is an empty database
        pass
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    log.info("Backed up database %s (version %d) to %s", path, version, target)
    return target


_HEADER = b"SQLite format 3\x00"


def _header_problem(path: Path) -> str | None:
    """'file is not a database' when a non-empty file lacks SQLite's header; None otherwise."""
    try:
        with open(path, "rb") as file:
            head = file.read(len(_HEADER))
    except FileNotFoundError:
        return None
    except OSError:
        return None  # not readable as a file (a directory, no permission): let SQLite say what is wrong
    if head and head != _HEADER:
        return "file is not a database"
    return None


class Database:
    """An open, checked, up-to-date Earmuff database.

    Attributes:
        path: the database file (absolute).
        connection: the main connection, for reads and small writes on the thread that owns it.
        schema_version: the file's `user_version`.
        backup_path: the copy made before this open's migrations, if any.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, backup_path: Path | None = None) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self.backup_path = backup_path

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, clock: Clock = time.time) -> Database:
        """Open (creating if needed), check and migrate the database at `path`.

        Raises:
            DatabaseCorrupt, DatabaseTooNew: the file was moved aside; calling
                `open` again starts a fresh database (see `open_or_recover`).
            DatabaseUnavailable: cannot open or set aside the file; nothing changed.
            MigrationFailed: an upgrade step failed; the file is left at its old version.
        """
        path = Path(path).absolute()
        problem = _header_problem(path)
        if problem is not None:
            # Caught before SQLite opens it, so not even its -shm is touched.
            raise cls._set_aside_corrupt(path, problem, clock)
        try:
            conn = _raw_connect(path, check_same_thread=False)
        except sqlite3.Error as error:
            raise DatabaseUnavailable(path, str(error)) from error
        try:
            configure(conn)
            version, problem = cls._check(conn)
            if problem is not None:
                conn.close()
                raise cls._set_aside_corrupt(path, problem, clock)
            if version > LATEST:
                conn.close()
                raise cls._set_aside_too_new(path, version, clock)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("Database %s stays in %s journal mode (WAL not available here)", path, mode)
            backup = cls._migrate(conn, path, version, clock)
        except StorageError:
            conn.close()
            raise
        except sqlite3.Error as error:
            conn.close()
            if is_corruption(error):
                raise cls._set_aside_corrupt(path, str(error), clock) from error
            raise DatabaseUnavailable(path, str(error)) from error
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, backup)

    @classmethod
    def open_or_recover(
        cls, path: str | os.PathLike[str], *, clock: Clock = time.time
    ) -> tuple[Database, StorageError | None]:
        """Open the database; if it was damaged or too new, set it aside and start a fresh one.

        Returns the open database and the error to show the user (None when all was well).
        DatabaseUnavailable and MigrationFailed are raised: a fresh file would not fix them.
        """
        try:
            return cls.open(path, clock=clock), None
        except (DatabaseCorrupt, DatabaseTooNew) as error:
            log.warning("%s", error)
            return cls.open(path, clock=clock), error

    @staticmethod
    def _check(conn: sqlite3.Connection) -> tuple[int, str | None]:
        """(user_version, None) for a sound file, (0, what is wrong) for a damaged one."""
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            result = [row[0] for row in conn.execute("PRAGMA quick_check(1)")]
        except sqlite3.DatabaseError as error:
            if is_corruption(error):
                return 0, str(error)
            raise
        if result != ["ok"]:
            return 0, "; ".join(str(r) for r in result) or "integrity check failed"
        return int(version), None

    @staticmethod
    def _set_aside_corrupt(path: Path, detail: str, clock: Clock) -> StorageError:
        try:
            moved_to = move_aside(path, "corrupt", clock)
        except OSError as error:
            return DatabaseUnavailable(path, f"the file is damaged ({detail}) and could not be set aside: {error}")
        return DatabaseCorrupt(path, moved_to, detail)

    @staticmethod
    def _set_aside_too_new(path: Path, version: int, clock: Clock) -> StorageError:
        try:
            moved_to = move_aside(path, f"newer-v{version}", clock)
        except OSError as error:
            return DatabaseUnavailable(
                path, f"the file is from a newer Earmuff (format {version}) and could not be set aside: {error}"
            )
        return DatabaseTooNew(path, version, LATEST, moved_to)

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, version: int, clock: Clock) -> Path | None:
        if version >= LATEST:
            return None
        backup = None
        if version >= 1:
            try:
                backup = backup_copy(conn, path, version, clock)
            except (OSError, sqlite3.Error) as error:
                if is_corruption(error):
                    raise
                raise MigrationFailed(path, version, LATEST, None, f"could not back it up first: {error}") from error
        for step in range(version, LATEST):
            try:
                with transaction(conn):
                    # Another Earmuff may have upgraded it while we waited for the lock.
                    if conn.execute("PRAGMA user_version").fetchone()[0] > step:
                        continue
                    apply_migration(conn, MIGRATIONS[step])
                    conn.execute(f"PRAGMA user_version = {step + 1}")
            except sqlite3.Error as error:
                if is_corruption(error):
                    raise
                raise MigrationFailed(path, step, step + 1, backup, str(error)) from error
            log.info("Upgraded database %s to version %d", path, step + 1)
        return backup

    @property
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError(f"database {self.path} is closed")
        return self._conn

    @property
    def schema_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    @property
    def closed(self) -> bool:
        return self._conn is None

    def connect(self, *, check_same_thread: bool = True) -> sqlite3.Connection:
        """A new connection to the same file with the same settings (the writer thread uses one).

        The caller owns it and must close it.
        """
        conn = _raw_connect(self.path, check_same_thread)
        try:
            return configure(conn)
        except BaseException:
            conn.close()
            raise

    def transaction(self, conn: sqlite3.Connection | None = None):
        """`transaction(conn)` on `conn`, or on the main connection."""
        return transaction(conn if conn is not None else self.connection)

    def close(self) -> None:
        """Close the main connection. Safe to call twice."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<Database {self.path} {state}>"
