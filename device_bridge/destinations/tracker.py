"""Where each speaker sends data: names from the observer, bytes from the kernel's flow counters, blocks kept in step.

    speaker-facing interface --AF_PACKET + kernel filter--> capture thread --parse_frame (dpkt)--> observe()
        DNS answer  -> NameBook (address -> name, TTL)   -> covered by a block? its addresses into the block's set
        ClientHello -> NameBook (flow -> server name)    -> covered by a block? the server's address into the set
    nftables flow sets (bytes per remote flow) --every second, on the tracker thread--> tick()
        each flow's new bytes -> its name (ClientHello, else DNS, else the address) -> per speaker and name:
        totals, first/last seen, minute and hour bins, a 30-minute ring of 1-second bins
        a speaker's first name of an organisation (or unknown domain) -> event new_destination_org (not in
        the first LEARNING_S of watching a speaker: everything is new then, and that is its baseline)
    event log: activation_ended --> the ring's bytes within [start, end) -> that activation's destinations
    every 10 s one commit to the store (repository.py); blocks are written at once, durably

Why the kernel counts the bytes: copying every packet of a speaker to user space to count it costs a
syscall and a Python call per packet (a voice upload is ~60 packets a second, music several hundred); the
flow sets cost one set update per packet in the kernel and one listing a second here
(benches/destinations.py has the figures).

A new TCP flow to port 443 waits up to HOLD_TLS_S for its ClientHello before its bytes go to a DNS name
or its address, so flows to a shared address (a CDN) are told apart by their server names. Reading is
aligned to whole seconds (at +ALIGN_S) so that the bytes of each reading belong to the second before, as
the activations' whole-second boundaries expect.

Threads: the capture thread calls `observe`, the tracker thread `tick`, the API the readers and block
commands; one lock guards the in-memory state, and neither nftables nor the store is called under it.
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from device_bridge.destinations.blocks import MIN_TIMEOUT_S, SNI_TIMEOUT_S, check_block, covers, describe
from device_bridge.destinations.namebook import NameBook
from device_bridge.destinations.organisations import OrganisationTable, domain_of, shipped_table
from device_bridge.destinations.parse import ClientHello, DnsAnswer, parse_frame
from device_bridge.destinations.presets import Preset, shipped_presets
from device_bridge.destinations.repository import HOUR, MINUTE, DestinationRepository, StoredBlock
from device_bridge.traffic.nft import FlowKey

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
#: A speaker's first hour of traffic is its baseline: every organisation it talks to then is new, and a
#: notice for each (Amazon, then Amazon Web Services, then ...) would bury the ones that matter later.
LEARNING_S = 3600.0
ALIGN_S = 0.05
HOLD_TLS_S = 3.0
RING_S = 1800
FLUSH_EVERY_S = 10.0
PRUNE_EVERY_S = 600.0
RESTORE_BLOCKS_FROM_S = 3600.0
MAX_HISTORY_BINS = 2000
_JOIN_TIMEOUT_S = 10.0


class DestinationBackend(Protocol):
    """Where flow bytes and blocks live: the bridge's NftTable (destinations=True) or SimulatedDestinations."""

    def read_flows(self) -> dict[str, dict[FlowKey, list[int]]]: ...

    def block_drops(self) -> dict[int, Any]: ...

    def set_blocks(self, blocks: dict[int, str]) -> None: ...

    def add_block(self, block_id: int, speaker_id: str) -> None: ...

    def remove_block(self, block_id: int) -> bool: ...

    def add_block_addresses(self, block_id: int, addresses: Iterable[tuple[str, float]]) -> None: ...

    def block_addresses(self, block_id: int) -> list[tuple[str, int]]: ...


@dataclasses.dataclass
class _Flow:
    first_seen: float
    last: list[int]
    name: str | None = None
    source: str = "pending"  # "sni", "dns", "address" or "pending"
    pending: list[tuple[int, int, int]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Totals:
    organisation: str | None
    first_seen: float
    last_seen: float


class DestinationTracker:
    """Destinations and blocks of the bridge's speakers (see the module docstring).

    Attributes:
        speaker_ids: the speakers tracked.
        backend: the flow counters and block sets.
        repository: the store's destination tables.
        organisations, presets: the shipped tables (or a test's).
        capture: the PacketCapture on the speaker-facing interface, or None (simulation, tests).
        capture_problem: why the interface could not be read, or None.
        observed, ignored: frames that gave an observation / that did not (malformed, not a speaker's).
    """

    def __init__(
        self,
        speakers: Sequence[Any],
        backend: DestinationBackend,
        *,
        store: Any,
        events: Any,
        clock: Callable[[], float] = time.time,
        interval_s: float = INTERVAL_S,
        thread: bool = True,
        interface: str | None = None,
        netns: str | None = None,
        history_hours: float = 24,
        retention_days: float = 90,
        organisations: OrganisationTable | None = None,
        presets: dict[str, Preset] | None = None,
        learning_s: float = LEARNING_S,
    ) -> None:
        """`speakers`: SpeakerConfigs (id, and mac / ip to recognise their packets). `interface`: read DNS
        answers and ClientHellos there (needs CAP_NET_RAW); `netns`: that interface's named namespace (tests).
        Without `thread`, nothing reads the counters until someone calls `tick()` (tests). `learning_s`: how long
        after the bridge first sees a speaker's traffic its new organisations are its baseline, not news (a
        speaker with stored destinations is past it)."""
        self.speaker_ids = tuple(s.id for s in speakers)
        self._by_mac = {s.mac: s.id for s in speakers if getattr(s, "mac", None)}
        self._by_ip = {str(ipaddress.ip_address(s.ip)): s.id for s in speakers if getattr(s, "ip", None)}
        self.backend = backend
        self.repository = DestinationRepository(store)
        self._events = events
        self._clock = clock
        self.interval_s = interval_s
        self._thread_wanted = thread
        self._minute_bins_s = history_hours * 3600.0
        self._retention_s = retention_days * 86400.0
        self.organisations = organisations or shipped_table()
        self.presets = presets if presets is not None else shipped_presets()
        self._interface, self._netns = interface, netns
        self.capture: Any = None
        self.capture_problem: str | None = None

        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._book = NameBook()
        self._flows: dict[str, dict[FlowKey, _Flow]] = {sid: {} for sid in self.speaker_ids}
        self._totals: dict[tuple[str, str], _Totals] = {}
        self._owners: dict[str, set[str]] = {sid: set() for sid in self.speaker_ids}
        self._learning_s = learning_s
        self._watching_since: dict[str, float] = {}  # speaker -> when its traffic was first seen
        self._ring: dict[str, collections.deque[tuple[int, str, int, int]]] = {
            sid: collections.deque() for sid in self.speaker_ids}
        self._blocks: dict[int, StoredBlock] = {}
        self._drops_seen: dict[int, tuple[int, int]] = {}
        # Gathered for the next commit.
        self._new_bytes: dict[tuple[str, str], list[int]] = {}
        self._new_addresses: dict[tuple[str, str, str], list[float]] = {}
        self._new_bins: dict[tuple[str, int, int, str], list[int]] = {}
        self._new_drops: dict[int, list[int]] = {}
        self._new_activations: list[tuple] = []
        self._waiting: list[dict] = []
        self._last_second: int | None = None
        self._last_flush = -math.inf
        self._last_prune = -math.inf
        self._read_failures = 0
        self.observed = 0
        self.ignored = 0

        self._subscription = events.subscribe() if events is not None else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = self._stopped = False

    @property
    def events(self) -> Any:
        """The event log it publishes to (and reads activations from)."""
        return self._events

    # --- life cycle ----------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the stored blocks and give them to the backend, before the engine installs the table (so the
        table carries them from its first moment)."""
        blocks = [b for b in self.repository.blocks() if b.speaker_id in self._flows]
        with self._lock:
            self._blocks = {b.id: b for b in blocks}
        for sid in self.speaker_ids:
            for name in self.repository.names(sid):
                self._owners[sid].add(self.organisations.owner_of(name))
                self._watching_since[sid] = -math.inf  # known from before: past its learning hour
            for name, organisation in self.repository.organisations_of(sid).items():
                self._totals[(sid, name)] = _Totals(organisation, math.inf, -math.inf)
        self.backend.set_blocks({b.id: b.speaker_id for b in blocks})

    def start(self) -> None:
        """Make sure the blocks are in the table, refill them from the addresses seen in the last hour, start the
        reading thread and the observer. An interface that cannot be read is logged and raised as an alarm
        (`capture_problem`); bytes are still counted, under addresses instead of names."""
        if self._started:
            raise RuntimeError("a DestinationTracker starts once")
        self._started = True
        for block in list(self._blocks.values()):
            try:
                self.backend.add_block(block.id, block.speaker_id)
            except Exception:  # noqa: BLE001 - the others still deserve their sets
                log.exception("Could not put block %d of %s back in place", block.id, block.speaker_id)
            self._refill(block, self._clock() - RESTORE_BLOCKS_FROM_S)
        attach = getattr(self.backend, "attach", None)
        if attach is not None:  # a simulated backend makes its own DNS answers and ClientHellos
            attach(self.observe)
        if self._thread_wanted:
            self._thread = threading.Thread(target=self._run, name="earmuff-destinations", daemon=True)
            self._thread.start()
        if self._interface is not None:
            from device_bridge.destinations.capture import PacketCapture

            capture = PacketCapture(self._interface, self.on_frame, netns=self._netns)
            try:
                capture.start()
            except OSError as error:
                self.capture_problem = str(error)
                log.error("Destination names are not observed: %s", error)
                if self._events is not None:
                    self._events.publish("alarm", None, level="warning",
                                         message=f"The bridge cannot see which names the speakers talk to: {error}")
            else:
                self.capture = capture

    def stop(self) -> None:
        """Stop the observer and the thread, write what is gathered. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self.capture is not None:
            self.capture.stop()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.error("The destination tracker did not stop within %.0f s", _JOIN_TIMEOUT_S)
        if self._subscription is not None:
            self._subscription.close()
        try:
            self.flush()
        except Exception:  # noqa: BLE001
            log.exception("Writing the last destination figures failed")

    def _run(self) -> None:
        while True:
            now = self._clock()
            delay = math.floor(now) + 1 + ALIGN_S - now
            if self._stop.wait(min(max(delay, 0.0), self.interval_s + ALIGN_S)):
                return
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep tracking; the next second may work
                log.exception("Reading the destination counters failed")

    # --- observations (capture thread, or a simulated backend) -------------------------------------------

    def on_frame(self, frame: bytes) -> None:
        """A frame from the capture: parse it and take what it tells."""
        observation = parse_frame(frame)
        if observation is None:
            self.ignored += 1
            return
        self.observe(observation)

    def observe(self, observation: DnsAnswer | ClientHello, speaker_id: str | None = None) -> None:
        """Learn from a DNS answer or ClientHello of a speaker (told, or found by the frame's MAC or address);
        a covered name's addresses go into its blocks' sets at once."""
        sid = speaker_id or self._by_mac.get(observation.client_mac) or self._by_ip.get(observation.client_ip)
        if sid is None or sid not in self._flows:
            self.ignored += 1
            return
        self.observed += 1
        now = self._clock()
        fills: list[tuple[int, list[tuple[str, float]]]] = []
        with self._lock:
            blocks = [b for b in self._blocks.values() if b.speaker_id == sid]
            if isinstance(observation, DnsAnswer):
                chain = (observation.name, *observation.aliases)
                self._book.learn_dns(sid, chain, observation.addresses, now)
                for block in blocks:
                    if covers(block, chain, self.organisations, self.presets):
                        fills.append((block.id, [(a, max(ttl, MIN_TIMEOUT_S)) for a, ttl in observation.addresses]))
            else:
                key = FlowKey(observation.server, "tcp", observation.server_port, observation.client_port)
                self._book.learn_sni(sid, key, observation.server_name, now)
                for block in blocks:
                    if covers(block, (observation.server_name,), self.organisations, self.presets):
                        fills.append((block.id, [(observation.server, SNI_TIMEOUT_S)]))
        for block_id, addresses in fills:
            self._fill(block_id, addresses)

    def _fill(self, block_id: int, addresses: list[tuple[str, float]]) -> None:
        try:
            self.backend.add_block_addresses(block_id, addresses)
        except Exception:  # noqa: BLE001 - logged; the next answer tries again
            log.exception("Could not add %d addresses to block %d", len(addresses), block_id)

    # --- reading the counters (tracker thread) -------------------------------------------------------------

    def tick(self) -> None:
        """Read the flow counters and the blocks' drop counters once and account for what is new."""
        now = self._clock()
        try:
            flows = self.backend.read_flows()
            drops = self.backend.block_drops()
        except Exception as error:  # noqa: BLE001 - the table may be back at the next reading
            self._read_failures += 1
            if self._read_failures in (1, 10) or self._read_failures % 600 == 0:
                log.warning("Reading the destination counters failed (%d times): %s", self._read_failures, error)
            return
        self._read_failures = 0
        second = math.floor(now - self.interval_s / 2)
        news: list[tuple[str, dict]] = []
        with self._lock:
            for sid, readings in flows.items():
                if sid in self._flows:
                    self._account(sid, readings, second, now, news)
            self._account_drops(drops)
            self._last_second = second
            self._book_keeping(now)
        for sid, data in news:
            if self._events is not None:
                self._events.publish_data("new_destination_org", sid, data)
        if now - self._last_flush >= FLUSH_EVERY_S or now < self._last_flush:
            self._last_flush = now
            self.flush()
        if now - self._last_prune >= PRUNE_EVERY_S or now < self._last_prune:
            self._last_prune = now
            try:
                self.repository.prune(now, minute_bins_s=self._minute_bins_s, retention_s=self._retention_s)
            except Exception:  # noqa: BLE001
                log.exception("Pruning old destination figures failed")

    def _account(self, sid: str, readings: dict[FlowKey, list[int]], second: int, now: float,
                 news: list[tuple[str, dict]]) -> None:
        known = self._flows[sid]
        for key, counters in readings.items():
            flow = known.get(key)
            if flow is None:
                flow = known[key] = _Flow(first_seen=now, last=[0, 0, 0, 0])
            delta = [c - p for c, p in zip(counters, flow.last)]
            if any(d < 0 for d in delta):  # the table was installed again: its counters restarted
                delta = list(counters)
            flow.last = list(counters)
            self._name(sid, key, flow, now)
            if flow.source == "pending":
                if delta[0] or delta[2]:
                    flow.pending.append((second, delta[0], delta[2]))
                continue
            assert flow.name is not None
            for pending_second, up, down in flow.pending:
                self._add(sid, flow.name, key.remote, pending_second, up, down, now, news)
            flow.pending.clear()
            if delta[0] or delta[2]:
                self._add(sid, flow.name, key.remote, second, delta[0], delta[2], now, news)
        for key in [k for k in known if k not in readings]:  # expired from the sets
            flow = known.pop(key)
            if flow.pending:
                self._name(sid, key, flow, math.inf)
                for pending_second, up, down in flow.pending:
                    self._add(sid, flow.name or key.remote, key.remote, pending_second, up, down, now, news)

    def _name(self, sid: str, key: FlowKey, flow: _Flow, now: float) -> None:
        """Decide (or improve) which name the flow's bytes go to."""
        seen = now if math.isfinite(now) else None  # inf: the flow left the sets and is decided for good
        if flow.source == "sni":
            self._book.flow_name(sid, key, seen)
            return
        server_name = self._book.flow_name(sid, key, seen)
        if server_name is not None:
            flow.name, flow.source = server_name, "sni"
            return
        if flow.source == "dns":
            return
        if flow.source == "pending" and key.proto == "tcp" and key.remote_port == 443 \
                and now - flow.first_seen < HOLD_TLS_S:
            return
        found = self._book.address_name(sid, key.remote, flow.first_seen)
        if found is not None:
            flow.name, flow.source = found[0], "dns"
        else:
            flow.name, flow.source = key.remote, "address"

    def _add(self, sid: str, name: str, address: str, second: int, up: int, down: int, now: float,
             news: list[tuple[str, dict]]) -> None:
        self._watching_since.setdefault(sid, now)
        totals = self._totals.get((sid, name))
        named = not _is_address(name)
        if totals is None:
            organisation = self.organisations.organisation_of(name) if named else None
            totals = self._totals[(sid, name)] = _Totals(organisation, now, now)
            if named:
                owner = self.organisations.owner_of(name)
                if owner not in self._owners[sid]:
                    self._owners[sid].add(owner)
                    if now - self._watching_since[sid] >= self._learning_s:
                        news.append((sid, self._new_owner(name, organisation, now)))
        totals.first_seen = min(totals.first_seen, now)
        totals.last_seen = max(totals.last_seen, now)
        entry = self._new_bytes.setdefault((sid, name), [0, 0])
        entry[0] += up
        entry[1] += down
        seen = self._new_addresses.setdefault((sid, name, address), [now, now])
        seen[1] = now
        for step in (MINUTE, HOUR):
            bin_ = self._new_bins.setdefault((sid, step, second - second % step, name), [0, 0])
            bin_[0] += up
            bin_[1] += down
        self._ring[sid].append((second, name, up, down))

    def _new_owner(self, name: str, organisation: str | None, now: float) -> dict[str, Any]:
        found = self.organisations.get(organisation) if organisation else None
        return {"organisation": organisation, "domain": domain_of(name), "name": name, "time": now,
                "known": organisation is not None, "hosting": bool(found and found.hosting)}

    def _account_drops(self, drops: dict[int, Any]) -> None:
        for block_id, count in drops.items():
            if block_id not in self._blocks:
                continue
            packets, size = int(count[0]), int(count[1])
            seen_packets, seen_bytes = self._drops_seen.get(block_id, (0, 0))
            new_packets, new_bytes = packets - seen_packets, size - seen_bytes
            if new_packets < 0 or new_bytes < 0:  # counters restarted with the table
                new_packets, new_bytes = packets, size
            self._drops_seen[block_id] = (packets, size)
            if new_packets or new_bytes:
                entry = self._new_drops.setdefault(block_id, [0, 0])
                entry[0] += new_packets
                entry[1] += new_bytes

    def _book_keeping(self, now: float) -> None:
        """Drop ring seconds past RING_S, work out the activations whose seconds are all read, expire names."""
        assert self._last_second is not None
        for ring in self._ring.values():
            while ring and ring[0][0] < self._last_second - RING_S:
                ring.popleft()
        if self._subscription is not None:
            while (event := self._subscription.get(timeout=0)) is not None:
                if event.type == "activation_ended" and isinstance(event.data.get("id"), int):
                    self._waiting.append(dict(event.data, speaker_id=event.speaker_id))
        still = []
        for activation in self._waiting:
            # Its last second is read, and so are the held bytes of flows that began in it.
            if activation["end"] + HOLD_TLS_S <= self._last_second:
                self._new_activations += self._activation_rows(activation)
            else:
                still.append(activation)
        self._waiting = still
        self._book.expire(now)

    def _activation_rows(self, activation: dict) -> list[tuple]:
        sid, start, end = activation["speaker_id"], activation["start"], activation["end"]
        sums: dict[str, list[int]] = {}
        for second, name, up, down in self._ring.get(sid, ()):
            if start <= second < end:
                entry = sums.setdefault(name, [0, 0])
                entry[0] += up
                entry[1] += down
        if not sums:
            return [(activation["id"], "", None, 0, 0)]
        return [(activation["id"], name, self._organisation(sid, name), up, down) for name, (up, down) in sums.items()]

    def _organisation(self, sid: str, name: str) -> str | None:
        totals = self._totals.get((sid, name))
        return totals.organisation if totals is not None else None

    # --- the store -----------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit what was gathered since the last commit (also done every FLUSH_EVERY_S by the thread)."""
        with self._flush_lock:
            with self._lock:
                destinations = [(sid, name, self._organisation(sid, name), self._totals[(sid, name)].first_seen,
                                 self._totals[(sid, name)].last_seen, up, down)
                                for (sid, name), (up, down) in self._new_bytes.items()]
                addresses = [(sid, name, address, first, last)
                             for (sid, name, address), (first, last) in self._new_addresses.items()]
                bins = [(sid, step, start, name, up, down) for (sid, step, start, name), (up, down)
                        in self._new_bins.items()]
                drops = [(block_id, packets, size) for block_id, (packets, size) in self._new_drops.items()]
                activations = self._new_activations
                self._new_bytes, self._new_addresses, self._new_bins = {}, {}, {}
                self._new_drops, self._new_activations = {}, []
            try:
                self.repository.save(destinations=destinations, addresses=addresses, bins=bins, drops=drops,
                                     activations=activations)
            except Exception:  # noqa: BLE001 - bookkeeping; the bridge goes on
                log.exception("Could not store the destination figures of the last %.0f s", FLUSH_EVERY_S)

    # --- what the API shows --------------------------------------------------------------------------------

    def destinations(self, speaker_id: str, start: float | None = None, end: float | None = None) -> list[dict]:
        """The speaker's destinations, busiest first: all kept (no range), or with the bytes in [start, end)."""
        self.flush()
        rows = self.repository.destinations(speaker_id)
        if start is not None or end is not None:
            now = self._clock()
            start = now - 365 * 86400.0 if start is None else start
            end = now if end is None else end
            step = self._step_for(start, end)
            inside: dict[str, list[int]] = {}
            for _bin, name, up, down in self.repository.traffic(speaker_id, step, start, end):
                entry = inside.setdefault(name, [0, 0])
                entry[0] += up
                entry[1] += down
            rows = [dict(r, bytes_up=inside[r["name"]][0], bytes_down=inside[r["name"]][1]) for r in rows
                    if r["name"] in inside]
            rows.sort(key=lambda r: (-(r["bytes_up"] + r["bytes_down"]), r["name"]))
        with self._lock:
            blocks = [b for b in self._blocks.values() if b.speaker_id == speaker_id]
        for row in rows:
            found = self.organisations.get(row["organisation"]) if row["organisation"] else None
            row["hosting"] = bool(found and found.hosting)
            row["blocked_by"] = [b.id for b in blocks if not _is_address(row["name"])
                                 and covers(b, (row["name"],), self.organisations, self.presets)]
        return rows

    def history(self, speaker_id: str, start: float, end: float) -> dict[str, Any]:
        """Bytes per organisation in steps of a minute (recent, short ranges) or an hour: {"speaker_id", "t0",
        "step", "series": [{"organisation", "label", "up": [...], "down": [...]}]}, busiest first."""
        self.flush()
        step = self._step_for(start, end)
        t0 = math.floor(start / step) * step
        count = max(1, math.ceil((end - t0) / step))
        if count > MAX_HISTORY_BINS:
            raise ValueError(f"that is {count} steps of {step} s; ask for a shorter range")
        organisations = self.repository.organisations_of(speaker_id)
        series: dict[str, dict[str, Any]] = {}
        for bin_start, name, up, down in self.repository.traffic(speaker_id, step, t0, end):
            index = (bin_start - t0) // step
            if not 0 <= index < count:
                continue
            organisation = organisations.get(name)
            label = organisation or ("addresses without a name" if _is_address(name) else domain_of(name))
            entry = series.setdefault(label, {"organisation": organisation, "label": label,
                                              "up": [0] * count, "down": [0] * count})
            entry["up"][index] += up
            entry["down"][index] += down
        ordered = sorted(series.values(), key=lambda s: -(sum(s["up"]) + sum(s["down"])))
        return {"speaker_id": speaker_id, "t0": float(t0), "step": float(step), "series": ordered}

    def _step_for(self, start: float, end: float) -> int:
        recent = start >= self._clock() - self._minute_bins_s
        return MINUTE if recent and end - start <= 6 * 3600 else HOUR

    def activation_destinations(self, activation_id: int) -> list[dict] | None:
        """Where an activation's bytes went, busiest first; None when not worked out (yet)."""
        self.flush()
        return self.repository.activation_destinations(activation_id)

    # --- blocks ------------------------------------------------------------------------------------------

    def blocks(self, speaker_id: str) -> list[dict]:
        """The speaker's blocks with their drop counts, the addresses in their sets now, and the names
        seen at those addresses that the block does not cover (`also_affects`)."""
        self.flush()
        stored = [b for b in self.repository.blocks() if b.speaker_id == speaker_id]
        out = []
        for block in stored:
            try:
                addresses = self.backend.block_addresses(block.id)
            except Exception:  # noqa: BLE001 - still show the block
                log.exception("Could not list block %d's addresses", block.id)
                addresses = []
            with self._lock:
                others = {name for address, _left in addresses
                          for name in self._book.names_of_address(speaker_id, address)
                          if not covers(block, (name,), self.organisations, self.presets)}
            out.append({**dataclasses.asdict(block), "title": describe(block, self.presets),
                        "addresses": sorted(a for a, _left in addresses), "also_affects": sorted(others)})
        return out

    def add_block(self, speaker_id: str, kind: str, value: str) -> dict:
        """Block a name, an organisation or a preset for one speaker; it takes effect at once for the addresses
        the bridge already knows. ValueError (bad value, or already blocked), KeyError (no such speaker)."""
        if speaker_id not in self._flows:
            raise KeyError(speaker_id)
        value = check_block(kind, value, self.organisations, self.presets)
        block = self.repository.add_block(speaker_id, kind, value, self._clock())
        try:
            self.backend.add_block(block.id, speaker_id)
        except BaseException:
            self.repository.delete_block(block.id)
            raise
        with self._lock:
            self._blocks[block.id] = block
        self._refill(block, self._clock() - RESTORE_BLOCKS_FROM_S)
        self._events.publish("blocks_changed", speaker_id, block_id=block.id, action="added", kind=kind, value=value)
        log.info("Blocked %s for %s (block %d)", describe(block, self.presets), speaker_id, block.id)
        return next(b for b in self.blocks(speaker_id) if b["id"] == block.id)

    def remove_block(self, speaker_id: str, block_id: int) -> bool:
        """Undo a block; False if the speaker has no such block."""
        with self._lock:
            block = self._blocks.get(block_id)
            if block is None or block.speaker_id != speaker_id:
                return False
        self.flush()  # its last drops are counted before it goes
        self.backend.remove_block(block_id)
        with self._lock:
            self._blocks.pop(block_id, None)
            self._drops_seen.pop(block_id, None)
        self.repository.delete_block(block_id)
        self._events.publish("blocks_changed", speaker_id, block_id=block_id, action="removed", kind=block.kind,
                             value=block.value)
        log.info("Unblocked %s for %s (block %d)", describe(block, self.presets), speaker_id, block_id)
        return True

    def _refill(self, block: StoredBlock, since: float) -> None:
        """Put the addresses the bridge knows for the block's names into its sets: from the DNS answers and
        ClientHellos seen since start, and from the store's addresses seen since `since`."""
        now = self._clock()
        wanted: dict[str, float] = {}
        with self._lock:
            for address, chain, left in self._book.entries(block.speaker_id, now):
                if covers(block, chain, self.organisations, self.presets):
                    wanted[address] = max(wanted.get(address, 0.0), left, MIN_TIMEOUT_S)
            for address, name, _when in self._book.sni_entries(block.speaker_id):
                if covers(block, (name,), self.organisations, self.presets):
                    wanted[address] = max(wanted.get(address, 0.0), SNI_TIMEOUT_S)
        for name, address, _last in self.repository.recent_addresses(block.speaker_id, since):
            if not _is_address(name) and covers(block, (name,), self.organisations, self.presets):
                wanted[address] = max(wanted.get(address, 0.0), SNI_TIMEOUT_S)
        if wanted:
            self._fill(block.id, sorted(wanted.items()))


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
