"""Discovery: one python-zeroconf instance browsing the service types speakers use.

The browser's callbacks run on zeroconf's browser thread. A service whose records
are already in zeroconf's cache (the usual case: responders send SRV, TXT and
addresses along with the PTR) is reported at once; otherwise it is resolved on
zeroconf's own event loop with a timeout, so no thread ever blocks waiting for
an answer. A stoppable thread re-asks the network every `requery_interval_s`, so
devices that only answer queries, or only announce at boot, are found too.

Devices that vanish without a goodbye (power cut) are noticed by TTL: zeroconf
keeps PTR records for at least 1125 s whatever their TTL, but a service's SRV,
TXT and address records expire on time (120 s by default). The same thread
checks every few seconds whether each service still resolves from the cache and,
when it does not, asks once more; no answer means the service is gone.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

from zeroconf import (
    DNSOutgoing,
    DNSQuestion,
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)
from zeroconf.const import _CLASS_IN, _FLAGS_QR_QUERY, _TYPE_PTR

from app.discovery.records import ServiceRecord

log = logging.getLogger(__name__)


class DiscoveryError(Exception):
    """Discovery could not start; the message says why in plain words."""


class ServiceSink(Protocol):
    """Where discovery reports services (the DeviceRegistry)."""

    def service_seen(self, record: ServiceRecord) -> None: ...

    def service_gone(self, service_type: str, name: str) -> None: ...


def parse_interfaces(text: str | Sequence[str] | None) -> list[str] | None:
    """'all' / None -> None (every interface); '127.0.0.1, 10.0.0.2' -> the addresses. Raises ValueError."""
    if text is None:
        return None
    items = [part.strip() for part in text.split(",")] if isinstance(text, str) else [p.strip() for p in text]
    items = [item for item in items if item]
    if not items or items == ["all"]:
        return None
    for item in items:
        try:
            ipaddress.ip_address(item)
        except ValueError:
            raise ValueError(f"“{item}” is not an interface address (use 'all' or addresses like 192.168.1.10)") from None
    return items


def record_from_info(info: ServiceInfo, seen_at: float | None = None) -> ServiceRecord:
    addresses = sorted(set(info.parsed_scoped_addresses()), key=lambda a: (":" in a, a))
    return ServiceRecord(
        service_type=info.type,
        name=info.name,
        server=info.server,
        port=info.port,
        addresses=tuple(addresses),
        txt=info.text or b"",
        seen_at=time.time() if seen_at is None else seen_at,
    )


def _same_advert(a: ServiceRecord, b: ServiceRecord) -> bool:
    return (a.server, a.port, a.addresses, a.txt) == (b.server, b.port, b.addresses, b.txt)


class Discovery:
    """Browses mDNS and feeds a ServiceSink.

    Attributes:
        service_types: the DNS-SD types browsed.
        interfaces: None for every interface, else the addresses bound.
    """

    def __init__(
        self,
        sink: ServiceSink,
        service_types: Sequence[str],
        *,
        interfaces: str | Sequence[str] | None = None,
        requery_interval_s: float = 60.0,
        resolve_timeout_s: float = 3.0,
        liveness_interval_s: float = 5.0,
        zeroconf: Zeroconf | None = None,
    ) -> None:
        self._sink = sink
        self.service_types = tuple(service_types)
        self.interfaces = parse_interfaces(interfaces)
        self._requery_interval_s = requery_interval_s
        self._resolve_timeout_ms = int(resolve_timeout_s * 1000)
        self._liveness_interval_s = min(liveness_interval_s, requery_interval_s)
        self._tracked: set[tuple[str, str]] = set()   # (type, name) of services reported as seen
        self._confirming: set[tuple[str, str]] = set()
        self._last_reported: dict[tuple[str, str], ServiceRecord] = {}
        self._zeroconf = zeroconf
        self._owns_zeroconf = zeroconf is None
        self._browser: ServiceBrowser | None = None
        self._stop = threading.Event()
        self._requery_now = threading.Event()
        self._requery_thread: threading.Thread | None = None
        self._pending: set[Future] = set()
        self._pending_lock = threading.Lock()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._browser is not None

    @property
    def zeroconf(self) -> Zeroconf | None:
        return self._zeroconf

    def describe(self) -> str:
        if self.interfaces is None:
            return "Listening on all network interfaces"
        return "Listening on " + ", ".join(self.interfaces)

    def start(self) -> None:
        with self._lock:
            if self._browser is not None:
                return
            if self._zeroconf is None:
                try:
                    if self.interfaces is None:
                        self._zeroconf = Zeroconf(interfaces=InterfaceChoice.All)
                    else:
                        version = IPVersion.V4Only if all(":" not in a for a in self.interfaces) else IPVersion.All
                        self._zeroconf = Zeroconf(interfaces=list(self.interfaces), ip_version=version)
                except OSError as exc:
                    raise DiscoveryError(f"Cannot listen for mDNS on {self._where()}: {exc.strerror or exc}") from exc
            self._stop.clear()
            self._browser = ServiceBrowser(self._zeroconf, list(self.service_types), handlers=[self._on_change])
            self._requery_thread = threading.Thread(target=self._requery_loop, name="earmuff-requery", daemon=True)
            self._requery_thread.start()
            log.info("discovery started (%s), %d service types", self._where(), len(self.service_types))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop browsing and close the zeroconf instance if this object made it. Idempotent."""
        with self._lock:
            browser, self._browser = self._browser, None
            thread, self._requery_thread = self._requery_thread, None
            self._stop.set()
            self._requery_now.set()
            if browser is not None:
                browser.cancel()
            if thread is not None:
                thread.join(timeout)
                if thread.is_alive():
                    log.warning("re-query thread did not stop within %.1f s", timeout)
            with self._pending_lock:
                pending, self._pending = self._pending, set()
            for future in pending:
                future.cancel()
            if self._owns_zeroconf and self._zeroconf is not None:
                self._zeroconf.close()
                self._zeroconf = None
            if browser is not None:
                log.info("discovery stopped")

    def requery_now(self) -> None:
        """Ask the network again right away (the user pressed Refresh)."""
        self._requery_now.set()

    def _where(self) -> str:
        return "all interfaces" if self.interfaces is None else ", ".join(self.interfaces)

    # -- zeroconf callbacks (browser thread) ------------------------------------------------------

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            log.debug("service gone: %s", name)
            with self._pending_lock:
                self._tracked.discard((service_type, name))
                self._last_reported.pop((service_type, name), None)
            self._sink.service_gone(service_type, name)
            return
        info = ServiceInfo(service_type, name)
        if info.load_from_cache(zeroconf):
            self._report(info)
            return
        try:
            future = asyncio.run_coroutine_threadsafe(self._resolve(zeroconf, info), zeroconf.loop)
        except RuntimeError:  # the loop is closing: we are shutting down
            return
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._resolved)

    async def _resolve(self, zeroconf: Zeroconf, info: ServiceInfo) -> ServiceInfo | None:
        if await info.async_request(zeroconf, self._resolve_timeout_ms):
            return info
        log.info("no complete answer for %s within %d ms", info.name, self._resolve_timeout_ms)
        return None

    def _resolved(self, future: Future) -> None:
        with self._pending_lock:
            self._pending.discard(future)
        if future.cancelled() or self._stop.is_set():
            return
        error = future.exception()
        if error is not None:
            log.warning("resolving a service failed: %r", error)
            return
        info = future.result()
        if info is not None:
            self._report(info)

    def _report(self, info: ServiceInfo) -> None:
        try:
            record = record_from_info(info)
        except Exception:  # a record zeroconf accepted but we cannot read: keep going, say so
            log.exception("cannot read service %r", info.name)
            return
        key = (info.type, info.name)
        with self._pending_lock:
            self._tracked.add(key)
            previous = self._last_reported.get(key)
            # zeroconf fires Added then Updated as a device's records trickle in; an unchanged record
            # is passed on only to refresh "last seen", at most once per re-query interval.
            if previous is not None and _same_advert(previous, record) and (
                record.seen_at - previous.seen_at < self._requery_interval_s
            ):
                return
            self._last_reported[key] = record
        log.debug("service seen: %s at %s", record.name, record.server)
        self._sink.service_seen(record)

    # -- re-query thread ------------------------------------------------------------------------

    def _requery_loop(self) -> None:
        next_query = time.monotonic() + self._requery_interval_s
        while not self._stop.is_set():
            woken = self._requery_now.wait(max(0.0, min(self._liveness_interval_s, next_query - time.monotonic())))
            if self._stop.is_set():
                return
            if woken or time.monotonic() >= next_query:
                self._requery_now.clear()
                self._send_queries()
                next_query = time.monotonic() + self._requery_interval_s
            self._check_liveness()

    def _check_liveness(self) -> None:
        """Ask again for services whose records expired from the cache; no answer means gone."""
        zeroconf = self._zeroconf
        if zeroconf is None or zeroconf.done:
            return
        with self._pending_lock:
            candidates = self._tracked - self._confirming
        for service_type, name in candidates:
            info = ServiceInfo(service_type, name)
            if info.load_from_cache(zeroconf):
                continue
            with self._pending_lock:
                self._confirming.add((service_type, name))
            try:
                future = asyncio.run_coroutine_threadsafe(self._confirm(zeroconf, info), zeroconf.loop)
            except RuntimeError:
                return
            with self._pending_lock:
                self._pending.add(future)
            future.add_done_callback(self._confirmed)

    async def _confirm(self, zeroconf: Zeroconf, info: ServiceInfo) -> tuple[ServiceInfo, bool]:
        return info, await info.async_request(zeroconf, self._resolve_timeout_ms)

    def _confirmed(self, future: Future) -> None:
        with self._pending_lock:
            self._pending.discard(future)
        if future.cancelled() or self._stop.is_set() or future.exception() is not None:
            return
        info, answered = future.result()
        key = (info.type, info.name)
        with self._pending_lock:
            self._confirming.discard(key)
            if not answered:
                self._tracked.discard(key)
                self._last_reported.pop(key, None)
        if answered:
            self._report(info)
        else:
            log.info("%s expired and did not answer: gone", info.name)
            self._sink.service_gone(info.type, info.name)

    def _send_queries(self) -> None:
        zeroconf = self._zeroconf
        if zeroconf is None or zeroconf.done:
            return
        out = DNSOutgoing(_FLAGS_QR_QUERY)
        for service_type in self.service_types:
            out.add_question(DNSQuestion(service_type, _TYPE_PTR, _CLASS_IN))
        try:
            zeroconf.send(out)
            log.debug("re-queried %d service types", len(self.service_types))
        except OSError as exc:
            log.warning("re-query failed: %s", exc)
