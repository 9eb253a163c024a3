"""The bridge's event stream (GET /v1/events, NDJSON) read on a thread that survives a flaky link.

One `EventStream` per paired bridge. Its thread connects, tells the handler
(which fetches a fresh snapshot over the same pin), then passes on each event
and heartbeat. When the link drops it reports the error and tries again after
an exponential backoff (1 s .. 30 s with jitter), resuming with
`since=<last seq>`. With `samples_backfill_s`, the stream also asks for the bridge's 10 Hz traffic
samples and microphone readings (`samples=1`), first replaying its ring from `samples_backfill_s` ago
and, after a drop, from the last sample seen, so graphs have no hole where the link was down. The bridge sends a heartbeat every 5 s of silence; a read
timeout of 15 s therefore means the link is dead. A changed certificate or a
refused token ends the thread: retrying cannot fix those.

`stop()` wakes a thread blocked in a read by shutting the socket down (closing
alone does not wake a blocked recv on Linux) and joins it.
"""

from __future__ import annotations

import json
import logging
import math
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import requests

from app.bridge_client.errors import BridgeError, BridgeFailed, BridgeUnreachable, CertificateChanged, NotAuthorized
from app.bridge_client.session import BridgeSession, translate

log = logging.getLogger(__name__)

#: Connect and read timeouts for the stream; the read timeout must exceed the bridge's 5 s heartbeat.
STREAM_TIMEOUT = (3.0, 15.0)
FATAL = (CertificateChanged, NotAuthorized)
#: Stream lines that are measurements, not events: no seq, not stored by the bridge, passed on as dicts.
SAMPLE_TYPES = frozenset({"sample", "mic"})


@dataclass(frozen=True)
class StreamEvent:
    """One line of the stream (heartbeats included)."""

    seq: int
    time: float
    type: str
    speaker_id: str | None = None
    data: dict = field(default_factory=dict)

    @classmethod
    def from_line(cls, line: bytes | str) -> StreamEvent:
        """Parse one NDJSON line; raises ValueError for anything that is not an event object."""
        return cls.from_json(json.loads(line))

    @classmethod
    def from_json(cls, body: object) -> StreamEvent:
        """An event from a parsed line; raises ValueError for anything that is not an event object."""
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise ValueError("event without a type")
        seq = body.get("seq")
        time_ = body.get("time")
        data = body.get("data")
        speaker_id = body.get("speaker_id")
        return cls(
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else 0,
            time=float(time_) if isinstance(time_, (int, float)) and not isinstance(time_, bool) else 0.0,
            type=body["type"],
            speaker_id=speaker_id if isinstance(speaker_id, str) else None,
            data=data if isinstance(data, dict) else {},
        )


class Backoff:
    """Exponential delays with jitter: initial, 2x, 4x ... up to maximum; `reset()` after a success."""

    def __init__(self, initial: float = 1.0, maximum: float = 30.0, *, factor: float = 2.0, jitter: float = 0.25,
                 rand: Callable[[], float] = random.random) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rand = rand
        self._attempt = 0

    def next(self) -> float:
        base = min(self.maximum, self.initial * self.factor ** self._attempt)
        self._attempt += 1
        spread = base * self.jitter
        return max(0.0, min(self.maximum, base - spread + 2 * spread * self._rand()))

    def reset(self) -> None:
        self._attempt = 0


class StreamHandler(Protocol):
    """What an EventStream reports, on its own thread."""

    def connected(self, session: BridgeSession) -> None:
        """The stream is open; fetch a snapshot with `session` (raising BridgeError counts as a drop)."""

    def event(self, event: StreamEvent) -> None: ...

    def heartbeat(self, event: StreamEvent) -> None: ...

    def sample(self, record: dict) -> None:
        """One measurement line (a `SAMPLE_TYPES` record); only when the stream asked for samples."""

    def disconnected(self, error: BridgeError, retry_in: float | None) -> None:
        """The link is down; the next attempt is in `retry_in` s, or never (None) for a fatal error."""


class EventStream:
    """A stoppable thread reading one bridge's events, reconnecting with backoff.

    Attributes:
        name: the thread's name.
        last_seq: the newest event seq handled (sent as `since` when reconnecting).
        last_sample_time: the bridge time of the newest sample handled (sent as `samples_since`).
    """

    def __init__(
        self,
        open_session: Callable[[], BridgeSession],
        handler: StreamHandler,
        *,
        since: int | None = None,
        backoff: Backoff | None = None,
        timeout: tuple[float, float] = STREAM_TIMEOUT,
        name: str = "earmuff-bridge-stream",
        samples_backfill_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.last_seq = since
        self.last_sample_time: float | None = None
        self._samples_backfill_s = samples_backfill_s
        self._clock = clock
        self._open_session = open_session
        self._handler = handler
        self._backoff = backoff or Backoff()
        self._timeout = timeout
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by stop() and retry_now(): ends a backoff wait early
        self._lock = threading.Lock()
        self._session: BridgeSession | None = None
        self._response: requests.Response | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 8.0) -> bool:
        """Stop and join the thread; True when it ended. Safe to call twice or before start."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            response, session = self._response, self._session
        if response is not None:
            _abort(response)
        if session is not None:
            session.close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("%s did not stop within %.0f s", self.name, timeout)
            return False
        return True

    def retry_now(self) -> None:
        """Skip the rest of the current backoff wait (used when the user asks to retry)."""
        self._backoff.reset()
        self._wake.set()

    # -- the thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._connect_and_read()
                error: BridgeError = BridgeUnreachable("The bridge closed the event stream.")
            except BridgeError as caught:
                error = caught
            except Exception as caught:  # noqa: BLE001 - the thread must report, not die
                if self._stop.is_set():
                    break
                log.exception("%s: unexpected error reading the stream", self.name)
                error = BridgeFailed(f"Reading the bridge's events failed: {caught}", str(caught))
            finally:
                self._forget_connection()
            if self._stop.is_set():
                break
            if isinstance(error, FATAL) or getattr(error, "fatal", False):
                self._report_down(error, None)
                break
            delay = self._backoff.next()
            log.info("%s: link down (%s); retrying in %.1f s", self.name, error, delay)
            self._report_down(error, delay)
            self._wake.wait(delay)
            self._wake.clear()

    def _report_down(self, error: BridgeError, retry_in: float | None) -> None:
        try:
            self._handler.disconnected(error, retry_in)
        except Exception:  # noqa: BLE001
            log.exception("%s: disconnected handler failed", self.name)

    def _connect_and_read(self) -> None:
        session = self._open_session()
        with self._lock:
            if self._stop.is_set():
                session.close()
                return
            self._session = session
        params = self._params()
        response = session.request("GET", "/v1/events", params=params, stream=True, timeout=self._timeout,
                                   headers={"Accept": "application/x-ndjson", "Connection": "close"})
        with self._lock:
            self._response = response
            stopping = self._stop.is_set()
        if stopping:
            return
        self._handler.connected(session)
        self._backoff.reset()
        try:
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if not line.strip():
                    continue
                try:
                    body = json.loads(line)
                    if isinstance(body, dict) and body.get("type") in SAMPLE_TYPES:
                        self._sample(body)
                        continue
                    event = StreamEvent.from_json(body)
                except ValueError as error:
                    log.warning("%s: ignoring a line that is not an event (%s): %.200r", self.name, error, line)
                    continue
                self._dispatch(event)
        except (requests.RequestException, OSError, ValueError) as error:
            if self._stop.is_set():
                return
            raise _as_bridge_error(error, session) from error

    def _params(self) -> dict[str, object] | None:
        params: dict[str, object] = {}
        if self.last_seq is not None:
            params["since"] = self.last_seq
        if self._samples_backfill_s is not None:
            params["samples"] = 1
            if self.last_sample_time is not None:
                params["samples_since"] = self.last_sample_time
            elif self._samples_backfill_s > 0:
                params["samples_since"] = round(self._clock() - self._samples_backfill_s, 3)
        return params or None

    def _sample(self, record: dict) -> None:
        when = record.get("time")
        if not isinstance(when, (int, float)) or isinstance(when, bool) or not math.isfinite(when):
            raise ValueError("a sample without a time")
        if record.get("type") == "sample":
            # Only traffic samples move the resume point: the bridge replays its traffic ring, not its mic's.
            self.last_sample_time = when if self.last_sample_time is None else max(self.last_sample_time, when)
        self._handler.sample(record)

    def _dispatch(self, event: StreamEvent) -> None:
        if event.type == "heartbeat":
            if self.last_seq is None or event.seq < self.last_seq:
                # The bridge's numbering is behind ours: its store was reset. Follow it from here.
                self.last_seq = event.seq
            self._handler.heartbeat(event)
            return
        if event.seq:
            self.last_seq = event.seq if self.last_seq is None else max(self.last_seq, event.seq)
        self._handler.event(event)

    def _forget_connection(self) -> None:
        with self._lock:
            response, self._response = self._response, None
            session, self._session = self._session, None
        if response is not None:
            response.close()
        if session is not None:
            session.close()


def _abort(response: requests.Response) -> None:
    """Wake a thread blocked reading `response`: shut its socket down, then close it."""
    sock = _socket_of(response)
    if sock is not None:
        try:
            # The plain socket's shutdown: SSLSocket.shutdown would also drop the TLS object
            # under the reading thread's feet.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing from another thread may race the reader; it is ending anyway
        log.debug("closing the event stream response raised", exc_info=True)


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket a streaming response reads from.

    urllib3 keeps it on the connection while the connection is reusable; with "Connection: close"
    http.client hands it to the response's file object instead.
    """
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:
        file = getattr(getattr(raw, "_fp", None), "fp", None)  # http.client.HTTPResponse.fp: a BufferedReader
        sock = getattr(getattr(file, "raw", None), "_sock", None)  # its SocketIO's socket
    return sock if isinstance(sock, socket.socket) else None


def _as_bridge_error(error: BaseException, session: BridgeSession) -> BridgeError:
    if isinstance(error, requests.exceptions.ConnectionError) and "Read timed out" in str(error):
        return BridgeUnreachable(f"The bridge at {session.where} stopped answering (no heartbeat).", str(error))
    return translate(error, where=session.where, fingerprint=session.fingerprint)

