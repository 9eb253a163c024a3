"""Everything the desktop app runs on, built once at start and handed to the UI (no globals)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from app.discovery.browser import Discovery
from app.discovery.fingerprints import Fingerprinter
from app.discovery.session import build_discovery
from app.logging_setup import setup_logging
from app.paths import resolve_data_dir
from app.registry import DeviceRegistry
from app.settings import Settings, SettingsStore
from app.storage import (
    DATABASE_FILENAME,
    BackgroundWriter,
    Database,
    DevicePersister,
    DeviceRepository,
    RoomRepository,
    StorageError,
)

log = logging.getLogger(__name__)

DEMO_INTERFACES = ("127.0.0.1",)


class SimulatedHomeProcess:
    """The demo's simulated speakers, in a child process with its own zeroconf on loopback."""

    def __init__(self, extra_args: tuple[str, ...] = ("--churn",)) -> None:
        self._process: subprocess.Popen | None = None
        self._extra_args = extra_args

    def start(self) -> None:
        if self._process is not None:
            return
        root = Path(__file__).resolve().parent.parent
        env = dict(os.environ)
        env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "device_bridge", "simulate-home", *self._extra_args],
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        log.info("simulated home started (pid %d)", self._process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("simulated home did not exit in %.0f s; killing it", timeout)
            process.kill()
            process.wait(timeout)


class AppContext:
    """The running app's parts.

    Attributes:
        data_dir: where the database and logs live.
        log_path: the current log file.
        demo: running against the simulated home.
        settings: the current Settings (replace through `save_settings`).
        registry: every device and group.
        discovery: the running mDNS browser (replaced when its settings change).
        rooms: the user's rooms.
        startup_error: a storage problem met at start (the old file was moved aside), for the UI to show once.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        log_path: Path,
        database: Database,
        startup_error: StorageError | None,
        demo: bool,
        interfaces: tuple[str, ...] | None = None,
        simulator: SimulatedHomeProcess | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.demo = demo
        self.database = database
        self.startup_error = startup_error
        self._settings_store = SettingsStore(database)
        self.settings: Settings = self._settings_store.load()
        self._interfaces_override = interfaces
        self._simulator = simulator
        self.rooms = RoomRepository(database)
        self._devices_repo = DeviceRepository(database)
        self.writer = BackgroundWriter(database, on_error=lambda exc: log.error("saving failed: %s", exc))
        self.fingerprinter = Fingerprinter.from_resources()
        self.registry = DeviceRegistry(self.fingerprinter)
        self.registry.load_known(self._devices_repo.load_all())
        self.registry.add_listener(DevicePersister(self.writer, self._devices_repo))
        self.discovery = self._make_discovery()
        self._closed = False

    @classmethod
    def create(
        cls,
        data_dir: str | os.PathLike | None = None,
        *,
        demo: bool = False,
        verbose: bool = False,
        interfaces: tuple[str, ...] | None = None,
        simulator: SimulatedHomeProcess | None = None,
    ) -> AppContext:
        """Resolve the data dir, start logging, open (or recover) the database.

        Demo data lives in a `demo` folder of the user's data dir unless --data-dir is given,
        so the simulated speakers never mix with the real ones.
        """
        base = resolve_data_dir(data_dir)
        if demo and data_dir is None:
            base = resolve_data_dir(base / "demo")
        log_path = setup_logging(base, verbose)
        database, error = Database.open_or_recover(base / DATABASE_FILENAME)
        if error is not None:
            log.error("%s", error.user_message)
        if demo:
            interfaces = interfaces or DEMO_INTERFACES
            simulator = simulator or SimulatedHomeProcess()
        return cls(
            data_dir=base,
            log_path=log_path,
            database=database,
            startup_error=error,
            demo=demo,
            interfaces=interfaces,
            simulator=simulator,
        )

    def _make_discovery(self) -> Discovery:
        interfaces = self._interfaces_override or self.settings.discovery_interfaces
        _, discovery = build_discovery(
            interfaces=interfaces,
            requery_interval_s=self.settings.requery_interval_s,
            resolve_timeout_s=self.settings.resolve_timeout_s,
            fingerprinter=self.fingerprinter,
            registry=self.registry,
        )
        return discovery

    def start(self) -> None:
        """Start the simulated home (demo) and discovery. Raises DiscoveryError with a plain message."""
        if self._simulator is not None:
            self._simulator.start()
        self.discovery.start()

    def describe_discovery(self) -> str:
        if self.demo:
            return "Demo: simulated home on " + ", ".join(self._interfaces_override or DEMO_INTERFACES)
        return self.discovery.describe()

    def save_settings(self, settings: Settings) -> None:
        """Validate, store and apply new settings; discovery restarts if its settings changed."""
        settings.validate()
        old = self.settings
        self._settings_store.save(settings)
        self.settings = settings
        discovery_changed = (
            old.discovery_interfaces != settings.discovery_interfaces
            or old.requery_interval_s != settings.requery_interval_s
            or old.resolve_timeout_s != settings.resolve_timeout_s
        )
        if discovery_changed:
            was_running = self.discovery.running
            self.discovery.stop()
            self.discovery = self._make_discovery()
            if was_running:
                self.discovery.start()

    def update_settings(self, **changes: object) -> None:
        """Store UI state (window geometry, last page) without touching discovery."""
        self.save_settings(replace(self.settings, **changes))

    def rename_room(self, old: str, new: str) -> str:
        """Rename a room everywhere: the room list and every device in it."""
        name = self.rooms.rename(old, new)
        self._move_devices_between_rooms(old, name)
        return name

    def remove_room(self, name: str) -> None:
        """Delete a room; its devices become unassigned."""
        self.rooms.remove(name)
        self._move_devices_between_rooms(name, None)

    def _move_devices_between_rooms(self, old: str, new: str | None) -> None:
        for device in self.registry.devices():
            if device.room and device.room.casefold() == old.casefold():
                self.registry.set_user_fields(device.device_id, user_name=device.user_name, room=new)

    def close(self) -> None:
        """Stop everything and write what is pending. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.discovery.stop()
        if self._simulator is not None:
            self._simulator.stop()
        self.writer.close()
        self.database.close()
        log.info("Earmuff closed")
