"""Shared by the desktop-side bridge tests (tests/bridge_client and the Bridges GUI tests):
an in-memory keyring backend, real bridges on 127.0.0.1, and a listener that lets a test wait for news."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keyring
import pytest
import keyring.backend
import keyring.errors
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from device_bridge.config import simulated_config
from device_bridge.service import BridgeService

KITCHEN_PIN, KITCHEN_SENSE = 17, 27
WAIT_S = 15.0


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in this process: the test's stand-in for the Secret Service."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


@contextmanager
def keyring_backend(backend: keyring.backend.KeyringBackend) -> Iterator[keyring.backend.KeyringBackend]:
    """Use `backend` as keyring's backend for the block, then put the previous one back."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def second_bridge_config(name: str = "Hall bridge"):
    """The demo config on other GPIO pins, for a second bridge in the same process (one pin factory)."""
    import dataclasses

    config = simulated_config("UTC")
    moved = {17: 5, 27: 6, 22: 12, 23: 13, 24: 16}
    speakers = tuple(
        dataclasses.replace(s, pin=moved[s.pin], sense_pin=moved.get(s.sense_pin) if s.sense_pin else None)
        for s in config.speakers)
    return dataclasses.replace(config, name=name, speakers=speakers)


class Bridges:
    """Starts real bridges (BridgeService, TLS on 127.0.0.1, MockFactory pins) and stops them all at the end."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.factory = MockFactory()
        self._started: list[BridgeService] = []

    def start(self, name: str = "bridge", *, port: int = 0, **kwargs: Any) -> BridgeService:
        kwargs.setdefault("advertise", False)
        kwargs.setdefault("simulate_speakers", True)
        config = kwargs.pop("config", None) or simulated_config("UTC")
        service = BridgeService(config, self.base / name, port=port, pin_factory=self.factory, **kwargs)
        self._started.append(service)
        service.start()
        return service

    def restart(self, service: BridgeService, **kwargs: Any) -> BridgeService:
        """Stop `service` and start a new one on the same data dir and port (same certificate and id)."""
        service.stop()
        return self.start(service.data_dir.name, port=service.port, **kwargs)

    def pin(self, number: int):
        return self.factory.pin(number)

    def close(self) -> None:
        for service in reversed(self._started):
            service.stop()
        self.factory.reset()
        Device.pin_factory = None


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring backend for the test (never keyrings.alt's plaintext file)."""
    with keyring_backend(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture
def bridges(tmp_path) -> Iterator[Bridges]:
    """Real bridges (BridgeService, TLS on 127.0.0.1, MockFactory pins), stopped after the test."""
    started = Bridges(tmp_path / "bridges")
    yield started
    started.close()


class Recorder:
    """A BridgeListener that keeps everything it is told and lets a test wait for a condition."""

    def __init__(self) -> None:
        self.statuses: list[Any] = []
        self.states: list[tuple[str, Any]] = []
        self.removed: list[str] = []
        self.alarms: list[Any] = []
        self.failures: list[Any] = []
        self.schedule_changes: list[str] = []
        self.samples: list[tuple[str, dict]] = []
        self.activations: list[tuple[str, str, dict]] = []
        self.synced: list[tuple[str, list[dict]]] = []
        self._cond = threading.Condition()

    def _add(self, target: list, item: Any) -> None:
        with self._cond:
            target.append(item)
            self._cond.notify_all()

    def bridge_updated(self, status) -> None:
        self._add(self.statuses, status)

    def bridge_removed(self, bridge_id: str) -> None:
        self._add(self.removed, bridge_id)

    def speaker_state(self, bridge_id: str, state) -> None:
        self._add(self.states, (bridge_id, state))

    def schedules_changed(self, bridge_id: str) -> None:
        self._add(self.schedule_changes, bridge_id)

    def alarm(self, alarm) -> None:
        self._add(self.alarms, alarm)

    def command_failed(self, failure) -> None:
        self._add(self.failures, failure)

    def sample(self, bridge_id: str, record: dict) -> None:
        self._add(self.samples, (bridge_id, record))

    def activation(self, bridge_id: str, kind: str, data: dict) -> None:
        self._add(self.activations, (bridge_id, kind, data))

    def activations_synced(self, bridge_id: str, records: list[dict]) -> None:
        self._add(self.synced, (bridge_id, records))

    def wait_for(self, predicate: Callable[[], Any], timeout: float = WAIT_S) -> Any:
        """Wait (on a condition, no sleeping) until `predicate()` is truthy; return its value."""
        with self._cond:
            result = self._cond.wait_for(predicate, timeout)
        assert result, f"timed out after {timeout} s waiting for {predicate}"
        return result

    def last_status(self, bridge_id: str | None = None):
        for status in reversed(self.statuses):
            if bridge_id is None or status.bridge_id == bridge_id:
                return status
        return None


class Relay:
    """A TCP relay between the app and a bridge that a test can cut or freeze, to play a bad network.

    `cut()` drops every connection and refuses new ones (as a bridge that went away would);
    `freeze()` keeps connections open but passes nothing (a dead Wi-Fi link); `restore()` heals.
    One thread, stopped and joined by `close()`.
    """

    def __init__(self, target_port: int) -> None:
        import selectors
        import socket

        self._socket_module = socket
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._pairs: dict = {}  # socket -> its peer
        self._mode = "open"
        self._commands: list[str] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-relay")
        self._thread.start()

    def _command(self, command: str) -> None:
        with self._lock:
            self._commands.append(command)
        self._wake_w.send(b"x")

    def cut(self) -> None:
        self._command("cut")

    def freeze(self) -> None:
        self._command("freeze")

    def restore(self) -> None:
        self._command("open")

    def close(self) -> None:
        self._command("close")
        self._thread.join(5)
        self._wake_w.close()

    def _drop_all(self) -> None:
        for sock in list(self._pairs):
            self._drop(sock)

    def _drop(self, sock) -> None:
        peer = self._pairs.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._pairs.pop(s, None)
            try:
                self._selector.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()

    def _run(self) -> None:
        import selectors

        try:
            while True:
                for key, _ in self._selector.select(1.0):
                    if key.data == "wake":
                        self._wake_r.recv(64)
                        with self._lock:
                            commands, self._commands = self._commands, []
                        for command in commands:
                            if command == "close":
                                return
                            if command == "cut":
                                self._drop_all()
                                self._mode = "refuse"
                            elif command == "freeze":
                                self._mode = "frozen"
                                for sock in self._pairs:
                                    self._selector.unregister(sock)
                            elif command == "open":
                                if self._mode == "frozen":
                                    for sock in self._pairs:
                                        self._selector.register(sock, selectors.EVENT_READ, "pipe")
                                self._mode = "open"
                    elif key.data == "accept":
                        try:
                            client, _ = self._listener.accept()
                        except BlockingIOError:
                            continue
                        if self._mode != "open":
                            client.close()
                            continue
                        try:
                            upstream = self._socket_module.create_connection(("127.0.0.1", self.target_port), 3)
                        except OSError:
                            client.close()
                            continue
                        self._pairs[client] = upstream
                        self._pairs[upstream] = client
                        for s in (client, upstream):
                            s.setblocking(True)
                            self._selector.register(s, selectors.EVENT_READ, "pipe")
                    else:
                        sock = key.fileobj
                        try:
                            data = sock.recv(65536)
                        except OSError:
                            data = b""
                        peer = self._pairs.get(sock)
                        if not data or peer is None:
                            self._drop(sock)
                            continue
                        try:
                            peer.sendall(data)
                        except OSError:
                            self._drop(sock)
        finally:
            self._drop_all()
            self._selector.close()
            self._listener.close()
            self._wake_r.close()
