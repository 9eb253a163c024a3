"""Everything the user can set, as one typed object, and where it is kept.

`Settings` is a frozen snapshot: change it with `dataclasses.replace` and
`SettingsStore.save` it. The store keeps one row per field in the database's
`settings` table (values as JSON) plus `settings_version`. Loading never fails
on content: an unknown key is ignored, a bad value falls back to that field's
default, and both are logged. When the stored version is older than
`CURRENT_SETTINGS_VERSION`, the old rows are copied into a
`settings.backup-v<n>` row and the `UPGRADES` run in order before anything is read.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import ipaddress
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.storage.database import Database

log = logging.getLogger(__name__)

CURRENT_SETTINGS_VERSION = 2
VERSION_KEY = "settings_version"
BACKUP_PREFIX = "settings.backup-v"

REQUERY_RANGE_S = (5, 3600)
RESOLVE_TIMEOUT_RANGE_S = (0.5, 30.0)
ALERT_INTERVAL_RANGE_S = (10, 3600)


@dataclass(frozen=True)
class Settings:
    """The user's preferences, with the defaults a new install starts from."""

    requery_interval_s: int = 60
    """How often, in seconds, discovery asks the network again who is there (5 to 3600)."""

    resolve_timeout_s: float = 3.0
    """How long, in seconds, to wait for a device to answer details about a service (0.5 to 30)."""

    discovery_interfaces: str = "all"
    """Which network interfaces discovery listens on: "all", or IPv4 addresses separated by commas."""

    show_other_devices: bool = True
    """List devices that are not speakers (TVs, media players) as well."""

    close_to_tray: bool = True
    """Closing the window keeps Earmuff running in the system tray."""

    notify_new_speakers: bool = True
    """Show a notification when a speaker appears that Earmuff has not seen before."""

    window_geometry: str = ""
    """The main window's size and place: base64 of Qt's saveGeometry(); empty for the default."""

    window_state: str = ""
    """The main window's toolbars and docks: base64 of Qt's saveState(); empty for the default."""

    last_page: str = "overview"
    """The page that was open when Earmuff was last closed."""

    speakers_sort_column: int = 0
    """The column the speaker list is sorted by."""

    speakers_sort_order: int = 0
    """0 sorts ascending, 1 descending (Qt.SortOrder's values)."""

    desktop_mic_enabled: bool = False
    """Meter this computer's microphone for the Live page (levels and speech flags only; no audio is kept)."""

    desktop_mic_device: str = ""
    """The input device to meter, by name; empty for the system's default input."""

    live_speakers: str = ""
    """Which speakers the Live page shows: "bridge_id/speaker_id" keys separated by commas; empty for all."""

    live_show_downlink: bool = False
    """Draw each speaker's downlink beside its uplink on the Live page."""

    alert_while_muted: bool = True
    """Notify when a muted speaker uploads anyway (the mute did not hold). Critical."""

    alert_during_schedule: bool = True
    """Notify when a speaker uploads during one of its quiet-time schedules."""

    alert_no_speech_nearby: bool = True
    """Notify when a speaker uploads while its room microphone heard nobody speak."""

    alert_min_interval_s: int = 60
    """At most one notification per speaker and flag in this many seconds (10 to 3600); the rest are counted."""

    def validate(self) -> None:
        """Raise ValueError naming the first field whose value is not acceptable."""
        for field in dataclasses.fields(self):
            problem = field_problem(field.name, getattr(self, field.name))
            if problem:
                raise ValueError(f"{field.name}: {problem}")

    @property
    def interface_addresses(self) -> tuple[str, ...] | None:
        """The IPv4 addresses to listen on, or None for all interfaces."""
        return parse_interfaces(self.discovery_interfaces)


def parse_interfaces(text: str) -> tuple[str, ...] | None:
    """"all" -> None; "192.168.1.2, 10.0.0.5" -> the addresses. ValueError for anything else."""
    if text.strip().lower() == "all":
        return None
    parts = [part.strip() for part in text.split(",")]
    if not any(parts) or not all(parts):
        raise ValueError(f'{text!r} is neither "all" nor a comma-separated list of IPv4 addresses')
    return tuple(str(ipaddress.IPv4Address(part)) for part in parts)


def _type_problem(name: str, value: Any) -> str | None:
    expected = _FIELD_TYPES[name]
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    return None if ok else f"expected {expected.__name__}, got {type(value).__name__} {value!r}"


def _in_range(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"{value!r} is outside {low}..{high}"

    return check


def _interfaces_problem(value: str) -> str | None:
    try:
        parse_interfaces(value)
    except ValueError as error:
        return str(error)
    return None


def _base64_problem(value: str) -> str | None:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "not base64 text"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "requery_interval_s": _in_range(*REQUERY_RANGE_S),
    "resolve_timeout_s": _in_range(*RESOLVE_TIMEOUT_RANGE_S),
    "discovery_interfaces": _interfaces_problem,
    "window_geometry": _base64_problem,
    "window_state": _base64_problem,
    "last_page": lambda v: None if v.strip() else "must not be empty",
    "speakers_sort_column": lambda v: None if v >= 0 else "must not be negative",
    "speakers_sort_order": lambda v: None if v in (0, 1) else "must be 0 (ascending) or 1 (descending)",
    "alert_min_interval_s": _in_range(*ALERT_INTERVAL_RANGE_S),
}

_FIELD_TYPES: dict[str, type] = {
    "requery_interval_s": int,
    "resolve_timeout_s": float,
    "discovery_interfaces": str,
    "show_other_devices": bool,
    "close_to_tray": bool,
    "notify_new_speakers": bool,
    "window_geometry": str,
    "window_state": str,
    "last_page": str,
    "speakers_sort_column": int,
    "speakers_sort_order": int,
    "desktop_mic_enabled": bool,
    "desktop_mic_device": str,
    "live_speakers": str,
    "live_show_downlink": bool,
    "alert_while_muted": bool,
    "alert_during_schedule": bool,
    "alert_no_speech_nearby": bool,
    "alert_min_interval_s": int,
}

_DEFAULTS = Settings()
FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Settings))
assert set(FIELD_NAMES) == set(_FIELD_TYPES), "every Settings field needs a type entry"


def field_problem(name: str, value: Any) -> str | None:
    """What is wrong with `value` for field `name`, or None if it is fine."""
    problem = _type_problem(name, value)
    if problem is None and name in _CHECKS:
        problem = _CHECKS[name](value)
    return problem


def _upgrade_1_to_2(values: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept the re-query interval in minutes under "requery_minutes"."""
    values = dict(values)
    minutes = values.pop("requery_minutes", None)
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool):
        low, high = REQUERY_RANGE_S
        values["requery_interval_s"] = int(min(max(round(minutes * 60), low), high))
    elif minutes is not None:
        log.warning("Settings upgrade: requery_minutes=%r is not a number; using the default interval", minutes)
    return values


# UPGRADES[n] turns the stored values of version n into those of version n + 1.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _upgrade_1_to_2,
}
assert all(v in UPGRADES for v in range(1, CURRENT_SETTINGS_VERSION)), "missing a settings upgrade"


class SettingsStore:
    """Reads and writes `Settings` in the database. Small and quick: fine on the GUI thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self) -> Settings:
        """The stored settings, upgraded if needed; defaults for anything missing or bad."""
        values, version, as_found = self._read()
        if version < CURRENT_SETTINGS_VERSION:
            values = self._upgrade(values, version, as_found)
        elif version > CURRENT_SETTINGS_VERSION:
            log.warning(
                "Settings were saved by a newer Earmuff (version %d, this one knows %d); reading what is known",
                version, CURRENT_SETTINGS_VERSION,
            )
        chosen: dict[str, Any] = {}
        for key, value in values.items():
            if key not in _FIELD_TYPES:
                log.info("Ignoring unknown setting %r", key)
                continue
            if isinstance(value, int) and not isinstance(value, bool) and _FIELD_TYPES[key] is float:
                value = float(value)
            elif isinstance(value, float) and value.is_integer() and _FIELD_TYPES[key] is int:
                value = int(value)
            problem = field_problem(key, value)
            if problem:
                log.warning(
                    "Setting %s: stored value unusable (%s); using the default %r", key, problem, getattr(_DEFAULTS, key)
                )
                continue
            chosen[key] = value
        return Settings(**chosen)

    def save(self, settings: Settings) -> None:
        """Write every field and the settings version in one transaction. ValueError if invalid."""
        settings.validate()
        rows = [(name, json.dumps(getattr(settings, name))) for name in FIELD_NAMES]
        rows.append((VERSION_KEY, json.dumps(CURRENT_SETTINGS_VERSION)))
        with self._db.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", rows)

    def _read(self) -> tuple[dict[str, Any], int, dict[str, Any]]:
        """The stored values (bad JSON left out, logged), their version, and every row as found."""
        values: dict[str, Any] = {}
        as_found: dict[str, Any] = {}
        rows = self._db.connection.execute("SELECT key, value FROM settings").fetchall()
        for key, text in rows:
            if key.startswith(BACKUP_PREFIX):
                continue
            try:
                values[key] = as_found[key] = json.loads(text)
            except (TypeError, ValueError) as error:
                as_found[key] = text
                log.warning("Setting %s: stored text %r is not JSON (%s); using the default", key, text, error)
        version = values.pop(VERSION_KEY, None)
        if version is None:
            # Nothing stored yet means a new install, not an old one.
            version = CURRENT_SETTINGS_VERSION if not as_found else 1
        elif not isinstance(version, int) or isinstance(version, bool) or version < 1:
            log.warning("Stored settings version %r is not usable; treating the settings as version 1", version)
            version = 1
        return values, version, as_found

    def _upgrade(self, values: dict[str, Any], version: int, as_found: dict[str, Any]) -> dict[str, Any]:
        """Back up the old rows, run the upgrades and store the result.

        If an upgrade raises, the old rows are still backed up and left in place,
        and this session uses defaults (old values may mean something else now).
        """
        start = version
        try:
            while version < CURRENT_SETTINGS_VERSION:
                values = UPGRADES[version](values)
                version += 1
        except Exception:  # noqa: BLE001 - a failed upgrade must not stop Earmuff from starting
            log.exception("Upgrading settings from version %d failed; using the defaults", start)
            values, upgraded = {}, False
        else:
            upgraded = True
        try:
            with self._db.transaction() as conn:
                self._store_backup(conn, start, as_found)
                if upgraded:
                    conn.execute(
                        "DELETE FROM settings WHERE substr(key, 1, ?) != ?", (len(BACKUP_PREFIX), BACKUP_PREFIX)
                    )
                    conn.executemany(
                        "INSERT INTO settings (key, value) VALUES (?, ?)",
                        [(key, json.dumps(value)) for key, value in values.items()]
                        + [(VERSION_KEY, json.dumps(CURRENT_SETTINGS_VERSION))],
                    )
        except sqlite3.Error:
            log.exception("Could not store the upgraded settings; using them for this session only")
            return values
        if upgraded:
            log.info("Upgraded settings from version %d to %d", start, CURRENT_SETTINGS_VERSION)
        return values

    @staticmethod
    def _store_backup(conn: sqlite3.Connection, version: int, as_found: dict[str, Any]) -> None:
        """Keep the rows as found under `settings.backup-v<version>[-n]`; never replaces a backup."""
        text = json.dumps(as_found, sort_keys=True)
        base = f"{BACKUP_PREFIX}{version}"
        key, n = base, 1
        while (row := conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()) is not None:
            if row[0] == text:
                return  # this very backup is already kept
            n += 1
            key = f"{base}-{n}"
        conn.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, text))
