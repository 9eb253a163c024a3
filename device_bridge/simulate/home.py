"""A simulated home: speakers advertising over real mDNS, on loopback only.

One `Zeroconf` instance answers for every simulated device. Each device host
gets its own 127.0.0.x address in its A record (Linux routes all of 127/8 to
`lo`), so discovery sees distinct devices. Registrations run concurrently on
zeroconf's own event loop as cooperating responders (no name probing): the
whole home is announced in about the time one service takes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zeroconf import IPVersion, ServiceInfo, Zeroconf

from app.discovery.records import parse_txt
from device_bridge.simulate.adverts import SimService, SimSpeaker

log = logging.getLogger(__name__)

# Generous ceilings for work on zeroconf's loop; normal runs take well under a second.
_OPERATION_TIMEOUT_S = 30.0
_CHURN_JOIN_TIMEOUT_S = 10.0
_NAME_TXT_KEYS = ("fn", "n", "name")  # Cast friendly name, Fire TV name, Earmuff bridge name
_CHURN_NAMES = ("Guest Room", "Study", "Hallway")


@dataclass
class _Running:
    """A registered device: its current adverts (after renames) and their zeroconf records, index for index."""

    speaker: SimSpeaker
    infos: list[ServiceInfo]


class SimulatedHome:
    """Simulated speakers that advertise themselves over mDNS on loopback.

    Thread-safe; every public method blocks until zeroconf has sent the
    announcements or goodbyes (well under a second).

    Attributes:
        interfaces: the addresses zeroconf binds to (127.0.0.1 by default).
    """

    def __init__(
        self,
        interfaces: Sequence[str] = ("127.0.0.1",),
        ip_version: IPVersion = IPVersion.V4Only,
        *,
        first_host_address: str = "127.0.0.2",
        allow_non_loopback: bool = False,
    ) -> None:
        """Bind zeroconf, on loopback only unless `allow_non_loopback` (network-namespace tests).

        Raises:
            ValueError: an interface is not an IP address, or not a loopback one.
            OSError: the mDNS sockets cannot be opened.
        """
        self.interfaces = tuple(interfaces)
        if not self.interfaces:
            raise ValueError("interfaces: give at least one address, e.g. '127.0.0.1'")
        for address in self.interfaces:
            try:
                parsed = ipaddress.ip_address(address)
            except ValueError as err:
                raise ValueError(f"interfaces: {address!r} is not an IP address") from err
            if not parsed.is_loopback and not allow_non_loopback:
                raise ValueError(
                    f"interfaces: {address} is not a loopback address; the simulated home never "
                    "advertises on a real network (pass allow_non_loopback=True inside a network namespace)"
                )
        self._next_address = ipaddress.IPv4Address(first_host_address)
        self._host_addresses: dict[str, str] = {}
        self._lock = threading.RLock()
        self._running: dict[str, _Running] = {}
        self._closed = False
        self._churn_thread: threading.Thread | None = None
        self._churn_stop = threading.Event()
        self._zc = Zeroconf(interfaces=list(self.interfaces), ip_version=ip_version)

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SimulatedHome:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the churn, say goodbye for every service, close zeroconf and join its thread. Idempotent."""
        self.stop_churn()  # first, so a life event under way finishes while the home is still open
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._running.clear()
            self._zc.close()  # sends goodbyes for everything still registered, then joins its loop thread

    # --- what runs -----------------------------------------------------------------------------

    def running_ids(self) -> tuple[str, ...]:
        """The advert ids currently advertised, in the order they were added."""
        with self._lock:
            return tuple(self._running)

    def speaker(self, advert_id: str) -> SimSpeaker:
        """The device as it advertises itself now (after renames and TXT updates)."""
        return self._get(advert_id).speaker

    def address_of(self, host: str) -> str:
        """The address a simulated host's A record carries."""
        with self._lock:
            try:
                return self._host_addresses[host.lower()]
            except KeyError:
                raise KeyError(f"no simulated host named {host!r}") from None

    # --- changes -------------------------------------------------------------------------------

    def start(self, speakers: Iterable[SimSpeaker]) -> None:
        """Register every service of every speaker, all at once.

        Raises:
            ValueError: an advert id, service name or host is already used in this home.
            RuntimeError: the home is closed, or zeroconf refused a registration
                (the speakers registered before the failure stay up).
        """
        speakers = list(speakers)
        with self._lock:
            self._check_open()
            self._check_new(speakers)
            batches = [(speaker, [self._info(service) for service in speaker.services]) for speaker in speakers]
            results = self._run(self._async_register_many([infos for _, infos in batches]))
            failure: tuple[str, BaseException] | None = None
            for (speaker, infos), result in zip(batches, results):
                if isinstance(result, BaseException):
                    failure = failure or (speaker.advert_id, result)
                    continue
                self._running[speaker.advert_id] = _Running(speaker, infos)
        if failure:
            advert_id, err = failure
            raise RuntimeError(f"advert {advert_id!r}: zeroconf refused to register it: {err!r}") from err

    def add(self, speaker: SimSpeaker) -> None:
        """Register one more speaker (see `start`)."""
        self.start([speaker])

    def remove(self, advert_id: str) -> None:
        """Unregister a speaker's services, sending goodbye packets (the device left)."""
        with self._lock:
            self._check_open()
            running = self._get(advert_id)
            del self._running[advert_id]
            self._run(self._async_unregister(running.infos))

    def rename(self, advert_id: str, new_name: str) -> None:
        """Give a speaker a new friendly name, the way the device itself would.

        A name carried in TXT (Cast `fn`, Fire TV `n`, bridge `name`) is updated in
        place; an instance name that is the name ("Kitchen") or ends in it
        ("MAC@Kitchen", "Sonos-...@Kitchen") is withdrawn and registered anew.

        Raises:
            KeyError: no such advert is running.
            ValueError: the device advertises no name, or the new name is unusable.
        """
        if not new_name or len(new_name.encode("utf-8")) > 63 or "\x00" in new_name:
            raise ValueError(f"new_name: expected 1-63 bytes of text, got {new_name!r}")
        with self._lock:
            self._check_open()
            running = self._get(advert_id)
            old_name = running.speaker.name
            if not old_name:
                raise ValueError(f"advert {advert_id!r}: advertises no friendly name to rename")
            in_place: list[int] = []
            moved: list[int] = []
            services = list(running.speaker.services)
            for index, service in enumerate(services):
                txt = _replace_txt_values(service.txt, _NAME_TXT_KEYS, old_name, new_name)
                instance = _renamed_instance(service.instance, old_name, new_name)
                if instance is None and txt == service.txt:
                    continue
                services[index] = dataclasses.replace(service, instance=instance or service.instance, txt=txt)
                (moved if instance is not None else in_place).append(index)
            if not in_place and not moved:
                raise ValueError(f"advert {advert_id!r}: no service carries the name {old_name!r}")
            new_names = {services[i].name.lower() for i in moved}
            for other_id, other in self._running.items():
                if other_id != advert_id and new_names & {s.name.lower() for s in other.speaker.services}:
                    raise ValueError(f"advert {advert_id!r}: the new name collides with advert {other_id!r}")
            new_infos = list(running.infos)
            for index in in_place + moved:
                new_infos[index] = self._info(services[index])
            self._run(self._async_change(
                updated=[new_infos[i] for i in in_place],
                withdrawn=[running.infos[i] for i in moved],
                added=[new_infos[i] for i in moved],
            ))
            running.speaker = dataclasses.replace(
                running.speaker, services=tuple(services), expect={**running.speaker.expect, "name": new_name}
            )
            running.infos = new_infos

    def update_txt(self, advert_id: str, service_type: str, txt: bytes) -> None:
        """Replace the TXT rdata of the speaker's first service of `service_type` (its own record, not a group's).

        Raises:
            KeyError: no such advert is running, or it has no service of that type.
        """
        with self._lock:
            self._check_open()
            running = self._get(advert_id)
            for index, service in enumerate(running.speaker.services):
                if service.service_type.lower() == service_type.lower():
                    break
            else:
                raise KeyError(f"advert {advert_id!r} advertises no {service_type}")
            updated = dataclasses.replace(service, txt=bytes(txt))
            info = self._info(updated)
            self._run(self._async_change(updated=[info], withdrawn=[], added=[]))
            services = list(running.speaker.services)
            services[index] = updated
            running.speaker = dataclasses.replace(running.speaker, services=tuple(services))
            running.infos[index] = info

    # --- scripted life events for the demo ---------------------------------------------------

    def start_churn(self, interval_s: float = 20.0, on_event: Callable[[str], None] | None = None) -> None:
        """Every `interval_s`, play the next life event: one speaker leaves, later comes back;
        another renames itself, later renames itself back. Repeats until `close()`.

        `on_event` is called (on the churn thread, with no lock held) with a short
        description after each event. Calling this again while churning does nothing.
        """
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        with self._lock:
            self._check_open()
            if self._churn_thread is not None and self._churn_thread.is_alive():
                return
            self._churn_stop = threading.Event()
            self._churn_thread = threading.Thread(
                target=self._churn,
                args=(interval_s, self._churn_stop, on_event),
                name="earmuff-sim-churn",
                daemon=True,
            )
            self._churn_thread.start()

    def stop_churn(self) -> None:
        """Stop the life events (the current one finishes first). Does nothing when not churning."""
        self._churn_stop.set()
        thread = self._churn_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_CHURN_JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("simulated home: churn thread did not stop within %.0f s", _CHURN_JOIN_TIMEOUT_S)
        self._churn_thread = None

    def _churn(self, interval_s: float, stop: threading.Event, on_event: Callable[[str], None] | None) -> None:
        while not stop.is_set():
            for description, action in self._life_events():
                if stop.wait(interval_s):
                    return
                try:
                    done = action()
                except Exception:  # one failed event must not end the demo
                    log.exception("simulated home: life event failed: %s", description)
                    continue
                if done is False:
                    continue
                log.info("simulated home: %s", description)
                if on_event is not None:
                    try:
                        on_event(description)
                    except Exception:
                        log.exception("simulated home: on_event callback failed")

    def _life_events(self) -> list[tuple[str, Callable[[], bool]]]:
        """One round of events, chosen from what runs now; each action returns False when skipped."""
        with self._lock:
            ids = list(self._running)
            listeners = [i for i in ids if self._running[i].speaker.expect.get("kind") in ("speaker", "display")]
            leaver = (listeners or ids or [None])[0]
            renamer = next((i for i in listeners + ids if i != leaver and self._running[i].speaker.name), None)
            old_name = self._running[renamer].speaker.name if renamer else None
            taken = {r.speaker.name for r in self._running.values()}
        if leaver is None:
            return [("nothing to do: the home is empty", lambda: False)]
        gone: list[SimSpeaker] = []

        def leave() -> bool:
            with self._lock:
                if leaver not in self._running:
                    return False
                gone.append(self._running[leaver].speaker)
                self.remove(leaver)
            return True

        def come_back() -> bool:
            with self._lock:
                if not gone or leaver in self._running:
                    return False
                self.add(gone.pop())
            return True

        events: list[tuple[str, Callable[[], bool]]] = [(f"{leaver} left", leave), (f"{leaver} came back", come_back)]
        if renamer and old_name:
            new_name = next((n for n in _CHURN_NAMES if n not in taken), f"{old_name} (renamed)")

            def rename_to(target: str, current: str) -> Callable[[], bool]:
                def action() -> bool:
                    with self._lock:
                        if renamer not in self._running or self._running[renamer].speaker.name != current:
                            return False
                        self.rename(renamer, target)
                    return True

                return action

            events.append((f"{renamer} renamed itself {new_name!r}", rename_to(new_name, old_name)))
            events.append((f"{renamer} renamed itself back to {old_name!r}", rename_to(old_name, new_name)))
        return events

    # --- zeroconf plumbing -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the simulated home is closed")

    def _get(self, advert_id: str) -> _Running:
        with self._lock:
            try:
                return self._running[advert_id]
            except KeyError:
                raise KeyError(f"no running advert {advert_id!r}") from None

    def _check_new(self, speakers: list[SimSpeaker]) -> None:
        """Refuse ids, service names and hosts that another advert of this home already uses."""
        ids: dict[str, None] = {}
        names = {s.name.lower(): advert_id for advert_id, r in self._running.items() for s in r.speaker.services}
        hosts = {s.host.lower(): advert_id for advert_id, r in self._running.items() for s in r.speaker.services}
        for speaker in speakers:
            if speaker.advert_id in self._running or speaker.advert_id in ids:
                raise ValueError(f"advert {speaker.advert_id!r}: id: already in the home")
            ids[speaker.advert_id] = None
            for service in speaker.services:
                owner = names.setdefault(service.name.lower(), speaker.advert_id)
                if owner != speaker.advert_id:
                    raise ValueError(
                        f"advert {speaker.advert_id!r}: service {service.name!r} is also advertised by {owner!r}"
                    )
                owner = hosts.setdefault(service.host.lower(), speaker.advert_id)
                if owner != speaker.advert_id:
                    raise ValueError(f"advert {speaker.advert_id!r}: host {service.host!r} belongs to {owner!r}")

    def _address_for(self, host: str) -> str:
        key = host.lower()
        if key not in self._host_addresses:
            while self._next_address.packed[-1] in (0, 255):
                self._next_address += 1
            self._host_addresses[key] = str(self._next_address)
            self._next_address += 1
        return self._host_addresses[key]

    def _info(self, service: SimService) -> ServiceInfo:
        return ServiceInfo(
            service.service_type,
            service.name,
            port=service.port,
            properties=service.txt,
            server=service.host,
            parsed_addresses=[self._address_for(service.host)],
        )

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on zeroconf's own event loop and wait for its result."""
        loop = self._zc.loop
        assert loop is not None
        return asyncio.run_coroutine_threadsafe(coro, loop).result(_OPERATION_TIMEOUT_S)

    async def _async_register_many(self, batches: list[list[ServiceInfo]]) -> list[BaseException | None]:
        """Register several devices concurrently; one result (None or the error) per device."""
        return await asyncio.gather(*(self._async_register(infos) for infos in batches), return_exceptions=True)

    async def _async_register(self, infos: list[ServiceInfo]) -> None:
        """Register one device's services together; on failure withdraw the ones that made it."""
        results = await asyncio.gather(
            *(self._zc.async_register_service(info, cooperating_responders=True, strict=False) for info in infos),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            registered = [info for info, r in zip(infos, results) if not isinstance(r, BaseException)]
            await self._async_unregister(registered)
            raise errors[0]
        await asyncio.gather(*results)  # the announcements

    async def _async_unregister(self, infos: list[ServiceInfo]) -> None:
        goodbyes = [await self._zc.async_unregister_service(info) for info in infos]
        await asyncio.gather(*goodbyes)

    async def _async_change(
        self, updated: list[ServiceInfo], withdrawn: list[ServiceInfo], added: list[ServiceInfo]
    ) -> None:
        broadcasts = [await self._zc.async_update_service(info) for info in updated]
        await self._async_unregister(withdrawn)
        await asyncio.gather(*broadcasts, *(self._async_register([info]) for info in added))


def _renamed_instance(instance: str, old: str, new: str) -> str | None:
    """The instance label after a rename, or None when it does not carry the name."""
    if instance == old:
        return new
    prefix, at, rest = instance.rpartition("@")
    if at and rest == old:
        return f"{prefix}@{new}"
    return None


def _replace_txt_values(txt: bytes, keys: Sequence[str], old: str, new: str) -> bytes:
    """TXT rdata with the values of `keys` that equal `old` set to `new`; other strings kept byte for byte."""
    wanted = {k.lower() for k in keys}
    old_bytes, new_bytes = old.encode("utf-8"), new.encode("utf-8")
    out = bytearray()
    changed = False
    for entry in parse_txt(txt):
        chunk = entry.raw
        if entry.key.lower() in wanted and entry.value == old_bytes:
            chunk = chunk[: len(chunk) - len(entry.value)] + new_bytes
            changed = True
        if len(chunk) > 255:
            raise ValueError(f"TXT string for key {entry.key!r} would exceed 255 bytes")
        out.append(len(chunk))
        out += chunk
    return bytes(out) if changed else txt
