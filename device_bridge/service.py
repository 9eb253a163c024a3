"""One running bridge: store, engine, TLS certificate, pairing, the HTTPS API (uvicorn) and the mDNS advert.

`start()` binds the port first (so a port in use fails before any pin is touched), then lets the engine
restore the persisted mute state to the pins, and only then lets uvicorn accept connections. `stop()` ends
everything in reverse order and joins every thread it started.

Traffic is measured from the config's `traffic_source`: the bridge's nftables table (which also carries
the network mute), interface counters (sysfs), the simulated speakers of `--simulate`, or nothing.
With a `[microphone]`, a RoomMicrophone meters it (a simulated room when the speakers are simulated),
answers the monitor's `speech_of` and sends its readings along the traffic samples.

Voice deletions (device_bridge/deletion): before the engine is even built, runs that a crash interrupted
are ended and the mutes they had lifted put back (so the pins come up muted); once the pins hold their
state, a DeletionRunner speaks scheduled deletion commands through the loudspeaker (a simulated one
beside simulated speakers). It stops before the engine, so a run in progress restores its mute.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from device_bridge import __version__
from device_bridge.api.app import create_app
from device_bridge.api.auth import Authenticator
from device_bridge.api.identity import BridgeIdentity, bridge_id
from device_bridge.api.pairing import PairingManager
from device_bridge.api.stream import HEARTBEAT_S
from device_bridge.api.tls import grouped, load_or_create_certificate, local_addresses
from device_bridge.paths import prepare_data_dir

log = logging.getLogger(__name__)

STORE_FILE = "bridge.db"
GRACEFUL_SHUTDOWN_S = 2.0
# WORKAROUND: uvicorn closes a keep-alive connection idle this long by sending TLS close_notify and waiting (up to
# asyncio's 30 s) for the client's, which an idle requests/urllib3 pool never sends. A bridge stopped meanwhile
# sat out its graceful timeout and left that socket unclosed. Its default is 5 s, shorter than a voice deletion
# run (the app's command connection idles while the phrase plays); idle connections that are still open are
# aborted cleanly at shutdown (_Server.shutdown). The app's streams carry heartbeats, so they never idle.
KEEP_ALIVE_S = 75.0
_START_TIMEOUT_S = 30.0
_JOIN_TIMEOUT_S = 10.0
_PAIRING_TICK_S = 1.0


class PortInUse(OSError):
    """The API's address and port are taken (another bridge, or another program)."""


class _Server(uvicorn.Server):
    """uvicorn.Server that says when it is accepting connections (or gave up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # WORKAROUND: closing an asyncio TLS transport sends close_notify and then waits (up to 30 s) for
        # the client's; an idle keep-alive client never answers, so uvicorn would sit out its whole
        # graceful timeout and then leave those transports open. Connections with no request in flight
        # are aborted instead, during and after the graceful part, and any left at the end as well.
        reaper = asyncio.create_task(self._abort_idle_connections())
        try:
            await super().shutdown(sockets)
        finally:
            reaper.cancel()
            for connection in list(self.server_state.connections):
                _abort(connection)
            await asyncio.sleep(0)  # let connection_lost run before the loop closes

    async def _abort_idle_connections(self) -> None:
        while True:
            for connection in list(self.server_state.connections):
                cycle = getattr(connection, "cycle", None)
                if cycle is None or getattr(cycle, "response_complete", False):
                    _abort(connection)
            await asyncio.sleep(0.05)


def _abort(connection: Any) -> None:
    transport = getattr(connection, "transport", None)
    if transport is not None:
        transport.abort()


class BridgeService:
    """A bridge serving its API in a background thread.

    Attributes (valid after start()):
        port: the TCP port the API listens on (the real one when asked for port 0).
        url: "https://<address>:<port>" to reach it.
        fingerprint: SHA-256 of the certificate, lowercase hex.
        bridge_id: the persistent id.
        engine, store, pairing, app, identity, microphone (None without [microphone]), deletions (the
            DeletionRunner): the parts, for tests and tools.

    `pin_factory` becomes gpiozero's default factory before the engine makes its pins; with
    `simulate_speakers` (MockFactory pins only) every speaker's sense line follows its output.
    `traffic_source` replaces the one the config names (tests and benches pass a SimulatedTrafficSource);
    `traffic_options` go to the TrafficMonitor. A SimulatedTrafficSource follows the engine's commanded mute.
    `microphone_source(on_reading=..., on_status=...)` replaces what meters the config's `[microphone]`
    (by default a MicrophoneMeter on its device, or a SimulatedMicrophone beside simulated speakers).
    `destinations` (None without `[destinations]` or simulated traffic) tracks where the speakers send data;
    `destination_options` go to its DestinationTracker.
    `deletions` (a DeletionRunner) runs voice deletions through `player` (by default a SimulatedPlayer beside
    simulated traffic, else a SoundDevicePlayer on `[deletion] output_device`); `deletion_options` go to the
    runner (sleep, monotonic, tick_interval_s, thread, busy_wait_s), its `sleep` to a default
    SimulatedPlayer too.
    """

    def __init__(
        self,
        config: Any,
        data_dir: Path,
        *,
        port: int = 0,
        pin_factory: Any = None,
        clock: Callable[[], float] = time.time,
        advertise: bool = True,
        heartbeat_s: float = HEARTBEAT_S,
        tick_interval_s: float | None = None,
        simulate_speakers: bool = False,
        traffic_source: Any = None,
        traffic_options: dict[str, Any] | None = None,
        nft_command: tuple[str, ...] = ("nft",),
        microphone_source: Callable[..., Any] | None = None,
        destination_options: dict[str, Any] | None = None,
        player: Any = None,
        deletion_options: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self._requested_port = port
        self._pin_factory = pin_factory
        self._clock = clock
        self._advertise = advertise
        self._heartbeat_s = heartbeat_s
        self._tick_interval_s = tick_interval_s
        self._simulate_speakers = simulate_speakers
        self._simulated: Any = None
        self._traffic_source = traffic_source
        self._traffic_options = traffic_options
        self._nft_command = tuple(nft_command)
        self._microphone_source = microphone_source
        self._destination_options = destination_options
        self._player = player
        self._deletion_options = deletion_options
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = False
        self._stopped = False
        self.store: Any = None
        self.engine: Any = None
        self.microphone: Any = None
        self.destinations: Any = None
        self.deletions: Any = None
        self.pairing: PairingManager | None = None
        self.identity: BridgeIdentity | None = None
        self.app: Any = None
        self.port = 0
        self._socket: socket.socket | None = None
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self._pairing_thread: threading.Thread | None = None
        self._advert: Any = None

    # --- properties --------------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        assert self.identity is not None, "start() first"
        return self.identity.fingerprint

    @property
    def bridge_id(self) -> str:
        assert self.identity is not None, "start() first"
        return self.identity.bridge_id

    @property
    def url(self) -> str:
        host = self.config.listen
        address = ipaddress.ip_address(host)
        if address.is_unspecified:
            outside = [a for a in local_addresses() if not ipaddress.ip_address(a).is_loopback
                       and ipaddress.ip_address(a).version == address.version]
            host = outside[0] if outside else ("127.0.0.1" if address.version == 4 else "::1")
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    def pairing_code(self) -> str:
        assert self.pairing is not None, "start() first"
        return self.pairing.current_code()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Return once the API accepts connections, with the pins already in their persisted state.

        Raises:
            DataDirError: the data directory cannot be written.
            PortInUse: the address and port are taken.
            OSError, RuntimeError: anything else that stops the bridge from starting (it is stopped again).
        """
        with self._lock:
            if self._started:
                raise RuntimeError("a BridgeService starts once")
            self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        # Imported here: Part A's modules pull in gpiozero and sqlite only when a bridge really runs.
        from device_bridge.deletion import recover_interrupted_runs
        from device_bridge.engine import BridgeEngine
        from device_bridge.store import BridgeStore

        if self._pin_factory is not None:
            from gpiozero import Device

            Device.pin_factory = self._pin_factory
        self.data_dir = prepare_data_dir(self.data_dir)
        self._socket = _bind(self.config.listen, self._requested_port)
        self.port = self._socket.getsockname()[1]

        self.store = BridgeStore(self.data_dir / STORE_FILE)
        certificate = load_or_create_certificate(self.data_dir)
        self.identity = BridgeIdentity(
            bridge_id=bridge_id(self.store),
            name=self.config.name,
            version=__version__,
            time_zone=self.config.timezone,
            certificate=certificate,
        )
        engine_options: dict[str, Any] = {"clock": self._clock}
        if self._tick_interval_s is not None:
            engine_options["tick_interval_s"] = self._tick_interval_s
        nft_table, source = self._traffic()
        self.microphone = self._room_microphone(source)
        traffic_options = dict(self._traffic_options or {})
        if self.microphone is not None:
            traffic_options.setdefault("speech_of", self.microphone.speech_of)
        interrupted = recover_interrupted_runs(self.store, clock=self._clock)  # before any pin is driven
        self.engine = BridgeEngine(self.config, self.store, nft_table=nft_table, traffic_source=source,
                                   traffic_options=traffic_options, **engine_options)
        for run in interrupted:
            self.engine.events.publish_data("deletion_run", run.speaker_id, run.to_json())
        if self.microphone is not None and self.engine.monitor is not None:
            self.microphone.publish_to(self.engine.monitor.publish_record)
            self.engine.monitor.add_replay_source(self.microphone.recent_records)
        follow = getattr(source, "follow", None)
        if follow is not None:  # a simulated source: its speakers hear the commanded mute
            engine = self.engine
            follow(lambda speaker_id: engine.state(speaker_id).muted)
        if self._simulate_speakers:
            from device_bridge.mute.simulated import follow_outputs

            self._simulated = follow_outputs(self.engine)
        self.destinations = self._destination_tracker(nft_table, source)
        if self.destinations is not None:
            self.destinations.prepare()  # its blocks go into the table the engine installs
        self.engine.start()  # the pins hold the persisted state from here on, before anyone is served
        if self.microphone is not None:
            self.microphone.start()
        if self.destinations is not None:
            self.destinations.start()
        self.deletions = self._deletion_runner(source)
        self.deletions.start()

        self.pairing = PairingManager(
            self.store, self.data_dir, Authenticator(self.store, clock=self._clock),
            clock=self._clock, button_pin=self.config.pairing_button_pin,
        )
        self.pairing.start()
        self.app = create_app(self.engine, self.store, self.identity, self.pairing,
                              heartbeat_s=self._heartbeat_s, clock=self._clock, microphone=self.microphone,
                              destinations=self.destinations, deletions=self.deletions)
        self._serve()
        self._pairing_thread = threading.Thread(target=self._pairing_loop, name="earmuff-pairing-timer", daemon=True)
        self._pairing_thread.start()
        if self._advertise:
            from device_bridge.advertise import BridgeAdvert

            self._advert = BridgeAdvert(self.identity, self.port, listen=self.config.listen)
            self._advert.start()
        log.info("bridge %r (%s) serving on %s; certificate fingerprint %s",
                 self.config.name, self.bridge_id, self.url, grouped(self.fingerprint))

    def _traffic(self) -> tuple[Any, Any]:
        """(nftables table or None, traffic source or None) for this config."""
        from device_bridge.traffic.nft import NftTable, matchable

        config = self.config
        table = None
        if config.traffic_source == "nftables" or any(s.network_mute or s.driver == "network" for s in config.speakers):
            table = NftTable(matchable(config.speakers), nft=self._nft_command,
                             destinations=config.destinations is not None)
        if self._traffic_source is not None:
            return table, self._traffic_source
        if config.traffic_source == "nftables":
            return table, table
        if config.traffic_source == "sysfs":
            from device_bridge.traffic.sysfs import SysfsSource

            return table, SysfsSource.from_speakers(config.speakers)
        if config.traffic_source == "simulated":
            from device_bridge.traffic.simulated import DEMO_BEHAVIOUR, SimulatedTrafficSource

            seed = int.from_bytes(os.urandom(4), "big")
            return table, SimulatedTrafficSource(config.speakers, clock=self._clock, seed=seed,
                                                 behaviour=DEMO_BEHAVIOUR)
        return table, None

    def _destination_tracker(self, nft_table: Any, traffic_source: Any) -> Any:
        """The DestinationTracker: on the nftables table with `[destinations]`, on synthetic destinations beside
        simulated traffic, else None."""
        from device_bridge.destinations.tracker import DestinationTracker

        config = self.config
        options = dict(self._destination_options or {})
        if config.destinations is not None and nft_table is not None:
            backend = nft_table
            options.setdefault("interface", config.destinations.interface)
        elif hasattr(traffic_source, "read_streams") and (self._traffic_source is None or options):
            # --simulate; a test that brings its own simulated source asks with destination_options.
            from device_bridge.destinations.simulated import SimulatedDestinations

            backend = SimulatedDestinations(traffic_source, config.speakers, clock=self._clock)
        else:
            return None
        return DestinationTracker(config.speakers, backend, store=self.store, events=self.engine.events,
                                  clock=self._clock, history_hours=config.traffic_history_hours,
                                  retention_days=config.retention_days, **options)

    def _deletion_runner(self, traffic_source: Any) -> Any:
        """The DeletionRunner, with the player given, a simulated loudspeaker beside simulated speakers, or the
        sound card."""
        from device_bridge.deletion import DeletionRunner, SimulatedPlayer, SoundDevicePlayer

        options = dict(self._deletion_options or {})
        player = self._player
        if player is None and hasattr(traffic_source, "inject_burst"):
            player = SimulatedPlayer(traffic_source, clock=self._clock, sleep=options.get("sleep") or time.sleep)
        elif player is None:
            player = SoundDevicePlayer(self.config.deletion.output_device)
        return DeletionRunner(self.engine, self.store, data_dir=self.data_dir, player=player,
                              config=self.config.deletion, clock=self._clock, **options)

    def _room_microphone(self, traffic_source: Any) -> Any:
        """The RoomMicrophone of the config's [microphone], or None without one."""
        config = self.config.microphone
        if config is None:
            return None
        from device_bridge.microphone import RoomMicrophone

        make = self._microphone_source
        if make is None and hasattr(traffic_source, "voice_requests"):
            from device_bridge.simulated_microphone import SimulatedMicrophone

            seed = int.from_bytes(os.urandom(4), "big")
            make = functools.partial(SimulatedMicrophone, traffic_source, config.speakers, clock=self._clock,
                                     seed=seed)
        elif make is None:
            from app.audio import MicrophoneMeter

            make = functools.partial(MicrophoneMeter, config.device, clock=self._clock)
        return RoomMicrophone(config.speakers, source=make, store=self.store,
                              history_hours=self.config.traffic_history_hours)

    def _serve(self) -> None:
        assert self.identity is not None and self._socket is not None
        config = uvicorn.Config(
            self.app,
            ssl_certfile=str(self.identity.certificate.cert_file),
            ssl_keyfile=str(self.identity.certificate.key_file),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            timeout_keep_alive=KEEP_ALIVE_S,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            log_config=None,
            access_log=False,
            server_header=False,
        )
        config.load()  # TLS files are read here, so a broken key fails in start(), not in the thread
        self._server = _Server(config)
        sock = self._socket
        self._server_thread = threading.Thread(
            target=self._run_server, args=(self._server, sock), name="earmuff-api", daemon=True
        )
        self._server_thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.ready.wait(0.05):
            if not self._server_thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTPS server did not start (see the log)")
        if self._server.should_exit:
            raise RuntimeError("the HTTPS server stopped while starting (see the log)")

    @staticmethod
    def _run_server(server: _Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException:  # noqa: BLE001 - logged here; wait() tells the main thread
            log.exception("the HTTPS server failed")
        finally:
            sock.close()  # uvicorn closes it on a normal shutdown, not when startup fails
            server.ready.set()

    def _pairing_loop(self) -> None:
        while not self._stop.wait(_PAIRING_TICK_S):
            try:
                assert self.pairing is not None
                self.pairing.refresh()
            except Exception:  # noqa: BLE001 - keep renewing; the next second may work
                log.exception("renewing the pairing code failed")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the HTTPS server has ended (stop(), or a failure); True if it has."""
        thread = self._server_thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def stop(self) -> None:
        """Stop serving, end the event streams, release the pins' owners and close the store. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop.set()
        if self._advert is not None:
            self._advert.close()
        if self.app is not None:
            self.app.state.bridge.streams.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._server_thread is not None:
            self._server_thread.join(GRACEFUL_SHUTDOWN_S + _JOIN_TIMEOUT_S)
            if self._server_thread.is_alive():
                log.error("the HTTPS server did not stop in time")
        elif self._socket is not None:
            self._socket.close()
        if self._pairing_thread is not None:
            self._pairing_thread.join(_JOIN_TIMEOUT_S)
        if self.pairing is not None:
            self.pairing.close()
        if self.deletions is not None:
            self.deletions.stop()  # before the engine: a run in progress puts its mute back
        if self.microphone is not None:
            self.microphone.stop()
        if self.destinations is not None:
            self.destinations.stop()
        if self.engine is not None:
            self.engine.stop()
        if self._simulated is not None:
            self._simulated.close()
        if self.store is not None:
            self.store.close()
        log.info("bridge stopped")

    def __enter__(self) -> BridgeService:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) but not yet listening: the port is ours, nobody is served yet."""
    address = ipaddress.ip_address(host)
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio only turns Nagle off (TCP_NODELAY) on sockets whose proto says TCP,
    # and accepted sockets inherit it; with proto 0 every response body waited ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart must not wait for TIME_WAIT
        if family == socket.AF_INET6 and address.is_unspecified:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise PortInUse(err.errno, f"port {port} on {host} is already in use "
                                       "(is another bridge running? choose another port in the config)") from None
        if err.errno == errno.EACCES:
            raise PermissionError(err.errno, f"not allowed to listen on port {port} "
                                             "(ports below 1024 need root; use 8443)") from None
        if err.errno == errno.EADDRNOTAVAIL:
            raise OSError(err.errno, f"{host} is not an address of this machine (listen in the config)") from None
        raise
    return sock

