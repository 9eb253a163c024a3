"""The desktop app's SQLite storage: the database file, its schema, repositories and the writer thread."""

from app.storage.database import (
    DATABASE_FILENAME,
    Database,
    DatabaseCorrupt,
    DatabaseTooNew,
    DatabaseUnavailable,
    MigrationFailed,
    StorageError,
    transaction,
)
from app.storage.devices_repo import DeviceRepository, RoomRepository
from app.storage.migrations import LATEST as SCHEMA_VERSION
from app.storage.persistence import DevicePersister
from app.storage.writer import BackgroundWriter, WriterClosed

__all__ = [
    "DATABASE_FILENAME",
    "SCHEMA_VERSION",
    "BackgroundWriter",
    "Database",
    "DatabaseCorrupt",
    "DatabaseTooNew",
    "DatabaseUnavailable",
    "DevicePersister",
    "DeviceRepository",
    "MigrationFailed",
    "RoomRepository",
    "StorageError",
    "WriterClosed",
    "transaction",
]
