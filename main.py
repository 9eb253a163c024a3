"""Earmuff desktop entry point: `earmuff` / `python main.py` (GUI) and `earmuff discover` (CLI)."""

from __future__ import annotations

import argparse
import logging
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="earmuff",
        description="See which smart speakers are listening, when they send audio away, and make them stop.",
    )
    parser.add_argument("--demo", action="store_true", help="run with a built-in simulated home (loopback only)")
    parser.add_argument("--data-dir", metavar="DIR", help="keep the database and logs here instead of the default")
    parser.add_argument("--verbose", action="store_true", help="log debug details to the terminal and log file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    discover = commands.add_parser("discover", help="list the devices on the network and exit")
    from app.cli import add_discover_arguments

    add_discover_arguments(discover)
    discover.add_argument("--verbose", action="store_true", help="log discovery details to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "discover":
        from app.cli import run_discover

        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
        return run_discover(args)
    return run_gui(args)


def run_gui(args: argparse.Namespace) -> int:
    from app.paths import DataDirError
    from app.storage import StorageError

    try:
        from ui.app import run
    except ImportError as exc:
        print(
            f"earmuff: the desktop interface cannot load ({exc}).\n"
            "Install the desktop extras and Qt's system libraries, for example with ./dev demo,\n"
            "or: pip install 'earmuff[desktop]' and apt-get install libegl1 libxkbcommon0 libfontconfig1",
            file=sys.stderr,
        )
        return 1
    from app.context import AppContext

    try:
        context = AppContext.create(args.data_dir, demo=args.demo, verbose=args.verbose)
    except DataDirError as exc:
        print(f"earmuff: {exc}", file=sys.stderr)
        return 1
    except StorageError as exc:  # a database that can be neither opened nor safely moved aside
        print(f"earmuff: {exc.user_message}", file=sys.stderr)
        return 1
    return run(context, sys.argv[:1])


if __name__ == "__main__":
    sys.exit(main())
