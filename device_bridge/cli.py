"""`earmuff-bridge`: the bridge's command line.

    earmuff-bridge serve --config FILE [--data-dir DIR] [--port P]   the bridge service (on a Pi: systemd)
    earmuff-bridge serve --simulate [--data-dir DIR] [--port P]      a demo bridge on 127.0.0.1, mock GPIO pins
    earmuff-bridge --simulate                                        the same as `serve --simulate`
    earmuff-bridge pair-code [--data-dir DIR] [--simulate]           the running bridge's pairing code
    earmuff-bridge simulate-home                                     simulated speakers over mDNS on 127.0.0.1
    earmuff-bridge replay CAPTURE --speaker-mac MAC [--json]         activations found in a packet capture

Exit status: 0 after a clean stop, 1 when the bridge cannot run (port in use, data directory not
writable, no GPIO), 2 for an invalid config file or invalid arguments.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any
from collections.abc import Sequence
from pathlib import Path

from device_bridge import __version__

READY_PREFIX = "bridge ready:"

class _StopRequested(Exception):
    """Raised in the main thread by the SIGINT/SIGTERM handler."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="earmuff-bridge",
        description="The Earmuff bridge: mutes, counts and reports what your smart speakers send.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    simulate = commands.add_parser(
        "simulate-home",
        help="advertise simulated speakers over mDNS on 127.0.0.1 until interrupted",
        description="Advertise a simulated home over mDNS on 127.0.0.1 only (never on your network), "
        "until Ctrl+C or SIGTERM. By default the demo home from the bundled adverts file.",
    )
    simulate.add_argument(
        "--speakers", type=_count, metavar="N",
        help="advertise N made-up speakers (Cast, HomePod, Sonos) instead of the demo home; "
        "with --adverts, in addition to that file's",
    )
    simulate.add_argument("--churn", action="store_true", help="let speakers leave, come back and rename themselves")
    simulate.add_argument(
        "--churn-interval", type=float, default=20.0, metavar="SECONDS", help="time between life events (default 20)"
    )
    simulate.add_argument("--adverts", type=Path, metavar="FILE", help="adverts file to use instead of the bundled one")
    simulate.add_argument("--seed", type=int, default=0, help="seed for --speakers (default 0)")

    parser.add_argument("--simulate", action="store_true", help="the same as `serve --simulate`")

    serve = commands.add_parser(
        "serve",
        help="run the bridge: HTTPS API, mute drivers, schedules, mDNS advert",
        description="Run the bridge until SIGTERM or Ctrl+C. It restores the stored mute state to the pins "
        "before it accepts any connection.",
    )
    source = serve.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, metavar="FILE", help="the bridge's TOML config file")
    source.add_argument(
        "--simulate", action="store_true",
        help="a demo bridge with three simulated speakers on mock GPIO pins, on 127.0.0.1 only",
    )
    serve.add_argument(
        "--data-dir", type=Path, metavar="DIR",
        help="where the bridge keeps its database, certificate and pairing code (default: "
        "/var/lib/earmuff-bridge if writable, else the per-user data directory; with --simulate "
        "its 'simulated' sub-directory)",
    )
    serve.add_argument(
        "--port", type=_port, metavar="P", help="TCP port (default: the config's, 8443); 0 picks a free one"
    )
    serve.add_argument("--no-advertise", action="store_true", help="do not advertise the bridge over mDNS")
    serve.add_argument(
        "--tour", action="store_true",
        help="with --simulate: seed a past week of activations and a day of history on first start, and show "
             "a request, a misactivation and a failed mute within the first minute (the app's demo uses it)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debug details")

    pair_code = commands.add_parser(
        "pair-code",
        help="show the running bridge's pairing code and certificate fingerprint",
        description="Print the pairing code the running bridge accepts now (it changes every 10 minutes and "
        "after each pairing), and the certificate fingerprint to compare with the one the app shows.",
    )
    pair_code.add_argument("--data-dir", type=Path, metavar="DIR", help="the running bridge's data directory")
    pair_code.add_argument("--simulate", action="store_true", help="the simulated bridge's default data directory")

    replay = commands.add_parser(
        "replay",
        help="find the activations in a packet capture, with the bridge's detector",
        description="Read a pcap/pcapng capture, take one speaker's uplink (frames from its MAC to the "
        "internet) at 10 Hz, and print one line per activation, times in seconds from the first packet.",
    )
    from device_bridge.traffic.replay import add_replay_arguments

    add_replay_arguments(replay)
    return parser


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0-65535")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _with_simulate_shortcut(argv: list[str]) -> list[str]:
    """`earmuff-bridge [-v] --simulate [serve options]` -> `earmuff-bridge [-v] serve --simulate [...]`.

    A `--simulate` before another command moves behind it (`--simulate pair-code` = `pair-code --simulate`).
    """
    commands = ("serve", "pair-code", "simulate-home", "replay")
    command_at = next((i for i, arg in enumerate(argv) if arg in commands), None)
    if "--simulate" not in argv:
        return argv
    at = argv.index("--simulate")
    if command_at is None:
        return [*argv[:at], "serve", *argv[at:]]
    if at < command_at:
        rest = argv[:at] + argv[at + 1:]
        command_at -= 1
        return [*rest[:command_at + 1], "--simulate", *rest[command_at + 1:]]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = _with_simulate_shortcut(list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command == "serve":
        # A service: its log (pairing codes included) is what journald keeps.
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
        return _serve(args)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if args.command == "simulate-home":
        return _simulate_home(args)
    if args.command == "pair-code":
        return _pair_code(args)
    if args.command == "replay":
        from device_bridge.traffic.replay import run_replay

        return run_replay(args)
    parser.print_help(sys.stderr)
    return 2


def _fail(message: str, status: int) -> int:
    print(f"earmuff-bridge: {message}", file=sys.stderr, flush=True)
    return status


def _serve(args: argparse.Namespace) -> int:
    # Imported here so `--version`, `pair-code` and `simulate-home` start quickly.
    import dataclasses

    from gpiozero.exc import GPIOZeroError

    from device_bridge.api.tls import grouped
    from device_bridge.config import ConfigError, load_config, simulated_config
    from device_bridge.paths import DataDirError, default_data_dir
    from device_bridge.service import BridgeService

    if args.tour and not args.simulate:
        return _fail("--tour needs --simulate: it plays with simulated speakers only", 2)
    pin_factory = None
    if args.simulate:
        # 127.0.0.1 only: the demo bridge never shows itself (or its API) on the real network.
        config = dataclasses.replace(simulated_config(), listen="127.0.0.1")
        from gpiozero.pins.mock import MockFactory

        pin_factory = MockFactory()
    else:
        try:
            config = load_config(args.config)
        except ConfigError as err:
            return _fail(f"invalid config: {err}", 2)
    os.umask(0o077)  # the database, key and pairing code are nobody else's business
    port = config.port if args.port is None else args.port
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir(simulate=args.simulate)

    def request_stop(signum: int, _frame: object) -> None:
        _ignore_stop_signals()  # one request is enough; the graceful shutdown takes at most a few seconds
        raise _StopRequested(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    service = BridgeService(config, data_dir, port=port, pin_factory=pin_factory, advertise=not args.no_advertise,
                            simulate_speakers=args.simulate)
    status = 0
    tour = None
    try:
        service.start()
        if args.tour:
            tour = _start_tour(service)
        code = service.pairing_code()
        print(f"{config.name} (bridge id {service.bridge_id}) on {service.url}", flush=True)
        print(f"certificate fingerprint: {grouped(service.fingerprint)}", flush=True)
        print(f"pairing code: {code} (changes every 10 minutes and after each pairing; "
              f"`earmuff-bridge pair-code` shows the current one)", flush=True)
        print(f"{READY_PREFIX} url={service.url} fingerprint={service.fingerprint} code={code} "
              f"id={service.bridge_id}", flush=True)
        service.wait()  # returns only if the server ends by itself, i.e. it failed; signals interrupt it
        status = _fail("the HTTPS server stopped unexpectedly (see the log above)", 1)
    except _StopRequested:
        pass
    except ConfigError as err:
        status = _fail(f"invalid config: {err}", 2)
    except DataDirError as err:
        status = _fail(str(err), 1)
    except OSError as err:
        status = _fail(err.strerror or str(err), 1)
    except GPIOZeroError as err:
        status = _fail(f"cannot use the GPIO pins: {err} (on a computer without GPIO, try --simulate)", 1)
    except RuntimeError as err:
        status = _fail(str(err), 1)
    finally:
        _ignore_stop_signals()
        if tour is not None:
            tour.stop()
        service.stop()
        _close_pin_factory(pin_factory)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status == 0:
        print("bridge stopped", flush=True)
    return status


def _start_tour(service: Any) -> Any:
    """Seed the simulated bridge's history (first start only) and start the demo tour."""
    import time

    from zoneinfo import ZoneInfo

    from device_bridge.simulate.tour import DemoTour, seed_deletions, seed_history

    microphone = getattr(service, "microphone", None)
    speaker_ids = [s.id for s in service.config.speakers]
    now = time.time()
    seed_history(service.store, speaker_ids, now, mic_id=getattr(microphone, "mic_id", None))
    seed_deletions(service.store, speaker_ids, now, ZoneInfo(service.config.timezone))
    tour = DemoTour(service.engine, service.engine.monitor.source)
    tour.start()
    return tour


def _close_pin_factory(factory: object) -> None:
    if factory is None:
        return
    from gpiozero import Device

    if Device.pin_factory is factory:
        Device.pin_factory = None
    factory.close()


def _pair_code(args: argparse.Namespace) -> int:
    import time

    from device_bridge.api.pairing import CODE_FILE, CODE_LIFETIME_S
    from device_bridge.api.tls import CERT_FILE, grouped
    from device_bridge.paths import readable_data_dir

    data_dir = args.data_dir if args.data_dir is not None else readable_data_dir(simulate=args.simulate)
    path = data_dir / CODE_FILE
    try:
        code = path.read_text(encoding="ascii").strip()
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return _fail(f"no pairing code in {data_dir}: is the bridge running? "
                     "(pass --data-dir if it uses another directory)", 1)
    except PermissionError:
        return _fail(f"not allowed to read {path}: run this with sudo", 1)
    except OSError as err:
        return _fail(f"cannot read {path}: {err.strerror or err}", 1)
    if age > CODE_LIFETIME_S + 60:
        return _fail(f"the pairing code in {data_dir} is {age / 60:.0f} minutes old: the bridge is not "
                     "running (it renews the code every 10 minutes)", 1)
    left = max(0.0, CODE_LIFETIME_S - age)
    print(f"pairing code: {code} (valid for about {left / 60:.0f} more minutes, or until it is used)")
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        from device_bridge.api.tls import fingerprint_of_der

        cert = x509.load_pem_x509_certificate((data_dir / CERT_FILE).read_bytes())
        fingerprint = fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER))
        print(f"certificate fingerprint: {grouped(fingerprint)}")
    except (OSError, ValueError):
        pass
    return 0


def _simulate_home(args: argparse.Namespace) -> int:
    # Imported here so `--version` and the placeholders stay quick and work without zeroconf.
    from device_bridge.simulate import SimulatedHome, load_adverts, synthetic_speakers

    try:
        speakers = []
        if args.adverts is not None:
            speakers += load_adverts(args.adverts)
        elif args.speakers is None:
            # The demo home leaves out the advert-only "bridge": the demo runs a real simulated bridge
            # (`serve --simulate`), and a bridge that cannot be paired would only confuse.
            speakers += [s for s in load_adverts() if s.expect.get("kind") != "bridge"]
        if args.speakers:
            speakers += synthetic_speakers(args.speakers, seed=args.seed)
    except (OSError, ValueError) as err:
        print(f"earmuff-bridge: {err}", file=sys.stderr)
        return 1

    def request_stop(signum: int, _frame: object) -> None:
        _ignore_stop_signals()  # one request is enough; closing takes under a second
        raise _StopRequested(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    home = None
    try:
        home = SimulatedHome()
        home.start(speakers)
        for speaker in speakers:
            hosts = ", ".join(home.address_of(host) for host in speaker.hosts)
            services = ", ".join(sorted({s.service_type.split(".")[0] for s in speaker.services}))
            label = speaker.name or speaker.services[0].instance
            print(f"registered {speaker.advert_id}: {label!r} ({services}) at {hosts}", flush=True)
        if args.churn:
            home.start_churn(args.churn_interval, on_event=lambda event: print(f"churn: {event}", flush=True))
        print(f"simulated home ready: {len(speakers)} speakers on {', '.join(home.interfaces)}", flush=True)
        threading.Event().wait()  # until a signal handler raises
    except _StopRequested:
        pass
    except (OSError, ValueError, RuntimeError) as err:
        print(f"earmuff-bridge: {err}", file=sys.stderr)
        return 1
    finally:
        _ignore_stop_signals()
        if home is not None:
            home.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("simulated home stopped", flush=True)
    return 0


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
