"""Reads the speaker-facing interface through an AF_PACKET socket with the observer's kernel filter (bpf.py).

The socket sees the interface's packets in both directions: a speaker's ClientHellos as they arrive, and
the DNS answers the bridge sends it (forwarded from upstream, or from the bridge's own dnsmasq). It is
opened with protocol 0, so it receives nothing until the filter is attached and it is bound to the
interface: no unfiltered packet ever reaches user space.

One thread (`earmuff-destinations-capture`) waits on the socket and a wake-up pipe, reads everything that
is queued in one go, and hands each frame to `on_frame(bytes)`. `stop()` wakes and joins it.
`statistics()` returns the kernel's count of packets that passed the filter and those it dropped because
this process fell behind (PACKET_STATISTICS, reset by each call).

Needs CAP_NET_RAW. The tests open it inside a named network namespace (`netns`), the way libnft.py does.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import struct
import threading
from collections.abc import Callable

from device_bridge.destinations.bpf import attach, observer_program
from device_bridge.traffic.libnft import in_namespace

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
RECEIVE_BUFFER = 1 << 20
_FRAME = 1 << 16
_JOIN_TIMEOUT_S = 5.0


class CaptureUnavailable(OSError):
    """The interface cannot be read (no CAP_NET_RAW, no such interface); the message says what to do."""


class PacketCapture:
    """The observer's packet source on one interface.

    Attributes:
        interface: the speaker-facing interface ("wlan0", "eth1").
        netns: the named network namespace it lives in (tests), or None.
        frames: frames handed on so far.
        failed: frames whose handler raised (logged once each kind, never fatal).
    """

    def __init__(self, interface: str, on_frame: Callable[[bytes], None], *, netns: str | None = None) -> None:
        self.interface = interface
        self.netns = netns
        self._on_frame = on_frame
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._stopping = threading.Event()
        self.frames = 0
        self.failed = 0

    def start(self) -> None:
        """Open the socket (CaptureUnavailable if it cannot) and start reading."""
        if self._thread is not None:
            raise RuntimeError("a PacketCapture starts once")
        try:
            sock = self._open() if self.netns is None else in_namespace(self.netns, self._open)
        except PermissionError as error:
            raise CaptureUnavailable(error.errno, "reading DNS answers and TLS server names needs CAP_NET_RAW "
                                                  f"(run the bridge as root or give it that capability): {error}") from None
        except OSError as error:
            raise CaptureUnavailable(error.errno, f"cannot read interface {self.interface!r}: "
                                                  f"{error.strerror or error}") from None
        self._socket = sock
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="earmuff-destinations-capture", daemon=True)
        self._thread.start()

    def _open(self) -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: nothing arrives yet
        try:
            attach(sock, observer_program())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind((self.interface, ETH_P_ALL))
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def stop(self) -> None:
        """Stop reading, join the thread and close the socket. Idempotent."""
        self._stopping.set()
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.error("The destination capture thread did not stop in time")
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def statistics(self) -> tuple[int, int]:
        """(packets that passed the filter, packets dropped for lack of buffer) since the last call."""
        if self._socket is None:
            return 0, 0
        raw = self._socket.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        packets, drops = struct.unpack("II", raw)
        return packets, drops

    def _run(self) -> None:
        sock = self._socket
        assert sock is not None
        buffer = bytearray(_FRAME)
        view = memoryview(buffer)
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                selector.select()
                while not self._stopping.is_set():
                    try:
                        size = sock.recv_into(buffer)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as error:  # the interface went away: wait for it to come back
                        log.warning("Reading %s failed: %s", self.interface, error)
                        self._stopping.wait(1.0)
                        break
                    self.frames += 1
                    try:
                        self._on_frame(bytes(view[:size]))
                    except Exception:  # noqa: BLE001 - one bad frame must not stop the observer
                        self.failed += 1
                        if self.failed == 1 or self.failed % 1000 == 0:
                            log.exception("Handling a captured frame failed (%d so far)", self.failed)
