"""Helpers for the bridge API tests: a controllable clock, recording mock pins, pinned HTTPS clients."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from gpiozero.pins.mock import MockFactory, MockPin
from requests.adapters import HTTPAdapter

from device_bridge.config import BridgeConfig, SpeakerConfig
from device_bridge.service import BridgeService

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(
    r"^bridge ready: url=(?P<url>https://127\.0\.0\.1:(?P<port>\d+)) fingerprint=(?P<fingerprint>[0-9a-f]{64}) "
    r"code=(?P<code>\d{6}) id=(?P<id>[0-9a-f]{32})$"
)


def bridge_env() -> dict[str, str]:
    """The environment a `python -m device_bridge` child runs in: this checkout, unbuffered, gpiozero's default pins."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    environment.pop("GPIOZERO_PIN_FACTORY", None)
    return environment


class BridgeProcess:
    """`python -m device_bridge ...` with its output read by a thread (so waits have deadlines)."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "device_bridge", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
        )
        self.output: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="test-bridge-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.output.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.output.append("<EOF>")
            self._changed.notify_all()

    def wait_ready(self, timeout: float = 30.0) -> re.Match:
        def ready():
            return next((m for line in self.output if (m := READY.match(line))), None) or (
                "<EOF>" in self.output and "eof")

        with self._changed:
            found = self._changed.wait_for(ready, timeout)
        assert found and found != "eof", "bridge did not become ready:\n" + "\n".join(self.output)
        return found

    def finish(self, timeout: float = 30.0) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5.0)
        self.process.stdout.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.finish()


TIMEOUT = (3.0, 10.0)
KITCHEN_PIN, KITCHEN_SENSE = 17, 27
BEDROOM_PIN, BEDROOM_SENSE = 22, 23
LIVING_PIN = 24


class Clock:
    """A clock tests move by hand; starts at the real time so certificates and mtimes stay plausible."""

    def __init__(self) -> None:
        self._now = time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now


class RecordingPin(MockPin):
    """A mock pin that notes when (time.monotonic) it changed, and lets a test wait for a change."""

    def __init__(self, factory, info) -> None:
        self.changes: list[tuple[float, bool]] = []
        self.changed = threading.Condition()
        super().__init__(factory, info)

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            with self.changed:
                self.changes.append((time.monotonic(), bool(value)))
                self.changed.notify_all()
        return changed


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        pause.wait(interval)


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, fingerprint: str, **kwargs: Any) -> None:
        self._fingerprint = fingerprint
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, False, cert)  # the pin replaces CA and host name checks


class Client:
    """A pinned HTTPS session to one bridge (the way the desktop app talks to it).

    Attributes:
        base: "https://127.0.0.1:<port>".
        session: the requests.Session (trust_env off: this machine sets REQUESTS_CA_BUNDLE).
    """

    def __init__(self, base: str, fingerprint: str, token: str | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = False
        self.session.mount("https://", _PinnedAdapter(fingerprint, max_retries=0))
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.session.close()


def bridge_config(**overrides: Any) -> BridgeConfig:
    """Three speakers, one per driver, on 127.0.0.1; no settle waits so tests stay quick."""
    config = BridgeConfig(
        name=f"Test bridge {uuid.uuid4().hex[:8]}",
        timezone="UTC",
        listen="127.0.0.1",
        port=8443,
        speakers=(
            SpeakerConfig(id="kitchen", name="Kitchen Echo", driver="relay", pin=KITCHEN_PIN,
                          sense_pin=KITCHEN_SENSE, settle_ms=0),
            SpeakerConfig(id="bedroom", name="Bedroom Nest", driver="button", pin=BEDROOM_PIN,
                          sense_pin=BEDROOM_SENSE, pulse_ms=20, settle_ms=0),
            SpeakerConfig(id="living-room", name="Living room HomePod", driver="power", pin=LIVING_PIN, settle_ms=0),
        ),
    )
    return dataclasses.replace(config, **overrides)


def pin(factory: MockFactory, number: int) -> RecordingPin:
    return factory.pin(number)


def pair(client: Client, service: BridgeService, name: str = "Anna's laptop") -> dict:
    response = client.post("/v1/pair", json={"code": service.pairing_code(), "client_name": name})
    assert response.status_code == 200, response.text
    return response.json()


STREAM_TIMEOUT = (3.0, 10.0)


class EventStream:
    """GET /v1/events read by a thread into a queue, so a test can wait for lines with a deadline.

    Attributes:
        status: the HTTP status of the response (the reader runs only on 200).
        lines: parsed lines; None marks the end of the stream.
    """

    def __init__(self, client: "Client", **params: Any) -> None:
        params = {key: value for key, value in params.items() if value is not None}
        self.response = client.get("/v1/events", params=params, stream=True, timeout=STREAM_TIMEOUT,
                                   headers={"Connection": "close"})
        self.status = self.response.status_code
        self.lines: queue.Queue[dict | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="test-event-stream", daemon=True)
        if self.status == 200:
            self._reader.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines():
                if line:
                    self.lines.put(json.loads(line))
        except Exception:  # noqa: BLE001 - the connection closed under us: the end of the stream
            pass
        finally:
            self.lines.put(None)

    def next(self, timeout: float = 5.0) -> dict | None:
        return self.lines.get(timeout=timeout)

    def wait_for(self, predicate, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.next(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"nothing matching arrived within {timeout} s") from None
            if line is None:
                raise AssertionError("the stream ended")
            if predicate(line):
                return line

    def collect(self, predicate, count: int, timeout: float = 5.0) -> list[dict]:
        return [self.wait_for(predicate, timeout) for _ in range(count)]

    def ended(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.next(max(0.01, deadline - time.monotonic())) is None:
                    return True
            except queue.Empty:
                return False
        return False

    def close(self) -> None:
        # Closing the response alone does not wake a thread blocked reading it; shutting the socket down does.
        try:
            with socket.fromfd(self.response.raw.fileno(), socket.AF_INET, socket.SOCK_STREAM) as dup:
                dup.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError, AttributeError):
            pass  # already closed
        if self._reader.is_alive():
            self._reader.join(5.0)
        self.response.close()
