"""`earmuff-bridge`: the bridge's command line.

For now it runs the simulated home; the bridge service itself (`serve`,
`pair-code`) arrives with the next release.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from device_bridge import __version__

NOT_YET = "the bridge service arrives with the next release; see README"


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

    commands.add_parser("serve", help="run the bridge service (next release)")
    commands.add_parser("pair-code", help="show a pairing code (next release)")
    return parser


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if args.command == "simulate-home":
        return _simulate_home(args)
    if args.command in ("serve", "pair-code"):
        print(NOT_YET, file=sys.stderr)
        return 2
    parser.print_help(sys.stderr)
    return 2


def _simulate_home(args: argparse.Namespace) -> int:
    # Imported here so `--version` and the placeholders stay quick and work without zeroconf.
    from device_bridge.simulate import SimulatedHome, load_adverts, synthetic_speakers

    try:
        speakers = []
        if args.adverts is not None or args.speakers is None:
            speakers += load_adverts(args.adverts)
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
