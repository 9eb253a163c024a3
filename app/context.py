"""Everything the desktop app runs on, built once at start and handed to the UI (no globals)."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from app.bridge_client import BridgeManager, Outcome
from app.deletions.portal import PortalTracker, load_guides
from app.discovery.browser import Discovery
from app.discovery.fingerprints import Fingerprinter
from app.discovery.session import build_discovery
from app.logging_setup import setup_logging
from app.optouts.account_secrets import AccountSecrets
from app.optouts.catalog import load_catalog
from app.optouts.tracker import OptOutTracker
from app.paths import resolve_data_dir
from app.registry import DeviceRegistry
from app.secrets import KeyringSecretStore, MemorySecretStore, SecretStore
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
from app.storage.activation_recorder import APP_RETENTION_S, ActivationRecorder
from app.storage.activations_repo import ActivationRepository
from app.storage.bridges_repo import BridgeRepository
from app.storage.deletions_repo import VoiceRunRepository
from app.storage.voice_run_recorder import VoiceRunRecorder

log = logging.getLogger(__name__)

DEMO_INTERFACES = ("127.0.0.1",)
#: The Live page opens with this much of each bridge's recent traffic (the bridge keeps 10 minutes).
SAMPLES_BACKFILL_S = 600.0


def _child_env() -> dict[str, str]:
    """The environment for a demo child process: this checkout importable, output unbuffered."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _terminate(process: subprocess.Popen | None, what: str, timeout: float) -> None:
    """SIGTERM, wait, and kill only if it does not exit in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not exit in %.0f s; killing it", what, timeout)
        process.kill()
        process.wait(timeout)


class SimulatedHomeProcess:
    """The demo's simulated speakers, in a child process with its own zeroconf on loopback."""

    def __init__(self, extra_args: tuple[str, ...] = ("--churn",)) -> None:
        self._process: subprocess.Popen | None = None
        self._extra_args = extra_args

    def start(self) -> None:
        if self._process is not None:
            return
        self._process = subprocess.Popen(
            [sys.executable, "-m", "device_bridge", "simulate-home", *self._extra_args],
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=_child_env(),
        )
        log.info("simulated home started (pid %d)", self._process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        _terminate(process, "simulated home", timeout)


@dataclass(frozen=True)
class DemoBridgeReady:
    """What the demo bridge printed when it was ready: where it is, its certificate and its pairing code."""

    url: str
    host: str
    port: int
    fingerprint: str
    code: str
    bridge_id: str


_READY = re.compile(
    r"bridge ready: url=https://(?:\[(?P<host6>[^\]]+)\]|(?P<host>[^:/\s]+)):(?P<port>\d+)\S*"
    r"\s+fingerprint=(?P<fp>[0-9A-Fa-f:]+)\s+code=(?P<code>\d{6})\s+id=(?P<id>\S+)")


def parse_ready_line(line: str) -> DemoBridgeReady | None:
    """The `bridge ready: url=... fingerprint=... code=... id=...` line of `earmuff-bridge serve`, or None."""
    match = _READY.search(line)
    if match is None:
        return None
    host, port = match["host6"] or match["host"], int(match["port"])
    shown = f"[{host}]" if ":" in host else host
    return DemoBridgeReady(url=f"https://{shown}:{port}", host=host, port=port,
                           fingerprint=match["fp"].replace(":", "").lower(), code=match["code"],
                           bridge_id=match["id"])


class DemoBridgeProcess:
    """The demo's simulated bridge (`earmuff-bridge serve --simulate`) in a child process.

    Its output is read on a thread (joined in `stop`) so the app never waits for it; the
    ready line goes to `on_ready`, on that thread.

    Attributes:
        data_dir: the bridge's own data directory.
        on_ready: called once with a DemoBridgeReady.
        ready: the parsed ready line, once seen.
    """

    def __init__(self, data_dir: Path, on_ready: Callable[[DemoBridgeReady], None] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.on_ready = on_ready
        self.ready: DemoBridgeReady | None = None
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        if self._process is not None:
            return
        self._process = subprocess.Popen(
            [sys.executable, "-m", "device_bridge", "serve", "--simulate", "--tour", "--data-dir",
             str(self.data_dir), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_child_env(),
        )
        log.info("demo bridge started (pid %d)", self._process.pid)
        self._reader = threading.Thread(target=self._read, args=(self._process,), name="earmuff-demo-bridge-output",
                                        daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            text = line.rstrip()
            if "pairing code" in text or "code=" in text:
                log.debug("demo bridge: (a line with its pairing code)")
            else:
                log.info("demo bridge: %s", text)
            if self.ready is None:
                ready = parse_ready_line(text)
                if ready is not None:
                    self.ready = ready
                    if self.on_ready is not None:
                        try:
                            self.on_ready(ready)
                        except Exception:  # noqa: BLE001 - keep draining the pipe
                            log.exception("handling the demo bridge's ready line failed")
        code = process.wait()
        if code not in (0, -signal.SIGTERM):
            log.warning("demo bridge exited with status %s", code)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        _terminate(process, "demo bridge", timeout)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.join(timeout)
        if process is not None and process.stdout is not None:
            process.stdout.close()


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
        bridges: the BridgeManager (paired bridges, their links and commands).
        activations: the cache of every bridge's activations (reads; writes go through the recorder).
        activation_recorder: keeps that cache in step with the bridges; tells its listeners of changes.
        optouts: the OptOutTracker (vendor accounts, confirmed privacy settings, history; the Opt-outs page).
        voice_runs: the cache of every bridge's voice deletion runs (reads; writes go through the recorder).
        voice_run_recorder: keeps that cache in step with the bridges; tells its listeners of new or changed runs.
        portal: the PortalTracker (reminders to delete recordings in vendors' apps and portals).
        account_secrets: the accounts' e-mail addresses, in the keyring (memory in the demo).
        demo_bridge: the demo's bridge process (None outside the demo).
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
        secrets: SecretStore | None = None,
        demo_bridge: DemoBridgeProcess | None = None,
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
        self.activations = ActivationRepository(database)
        self.voice_runs = VoiceRunRepository(database)
        self.bridges = BridgeManager(
            secrets if secrets is not None else (MemorySecretStore() if demo else KeyringSecretStore()),
            bridges=BridgeRepository(database).load_all(),
            store=self._store_bridge_change,
            samples_backfill_s=SAMPLES_BACKFILL_S,
            sync_from=self.activations.latest_start,
            runs_after=self.voice_runs.sync_after,
        )
        self.activation_recorder = ActivationRecorder(self.writer, self.bridges.speaker_name)
        self.bridges.add_listener(self.activation_recorder)
        self.voice_run_recorder = VoiceRunRecorder(self.writer)
        self.bridges.add_listener(self.voice_run_recorder)
        self.writer.submit(lambda conn: ActivationRepository(conn).prune(time.time() - APP_RETENTION_S, conn))
        self.writer.submit(lambda conn: VoiceRunRepository(conn).prune(time.time() - APP_RETENTION_S, conn))
        self.portal = PortalTracker(database, load_guides())
        self.optouts = OptOutTracker(database, load_catalog())
        self.account_secrets = AccountSecrets(MemorySecretStore() if demo else None)
        self.demo_bridge = demo_bridge
        if demo_bridge is not None:
            demo_bridge.on_ready = self._demo_bridge_ready
        self._closed = False

    def _store_bridge_change(self, job: Callable[[BridgeRepository], None]) -> None:
        self.writer.submit(lambda conn: job(BridgeRepository(conn)))

    def _demo_bridge_ready(self, ready: DemoBridgeReady) -> None:
        """Pair with the demo bridge using the code and fingerprint it printed (token in memory only)."""
        def done(outcome: Outcome) -> None:
            if outcome.ok:
                log.info("paired with the demo bridge")
            else:
                log.error("could not pair with the demo bridge: %s", outcome.message)

        self.bridges.pair_known(ready.host, ready.port, ready.code, ready.fingerprint, persist=False, callback=done)

    @classmethod
    def create(
        cls,
        data_dir: str | os.PathLike | None = None,
        *,
        demo: bool = False,
        verbose: bool = False,
        interfaces: tuple[str, ...] | None = None,
        simulator: SimulatedHomeProcess | None = None,
        secrets: SecretStore | None = None,
        demo_bridge: DemoBridgeProcess | None = None,
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
            demo_bridge = demo_bridge or DemoBridgeProcess(base / "demo-bridge")
        return cls(
            data_dir=base,
            log_path=log_path,
            database=database,
            startup_error=error,
            demo=demo,
            interfaces=interfaces,
            simulator=simulator,
            secrets=secrets,
            demo_bridge=demo_bridge,
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
        """Start the simulated home and bridge (demo), the bridge links and discovery.

        Raises DiscoveryError with a plain message (the bridge links run regardless).
        """
        if self._simulator is not None:
            self._simulator.start()
        if self.demo_bridge is not None:
            self.demo_bridge.start()
        self.bridges.start()
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
        self.bridges.close()
        if self.demo_bridge is not None:
            self.demo_bridge.stop()
        if self._simulator is not None:
            self._simulator.stop()
        self.account_secrets.close()
        self.writer.close()
        self.database.close()
        log.info("Earmuff closed")
