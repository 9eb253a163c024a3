"""`earmuff discover`: the devices on the network, one JSON line each. Same code path as the GUI."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import TextIO

from app.devices import Device, Group
from app.discovery.browser import DiscoveryError, parse_interfaces
from app.discovery.session import build_discovery

log = logging.getLogger(__name__)


def device_json(device: Device, groups: dict[str, Group]) -> dict:
    return {
        "stable_id": device.device_id,
        "name": device.name,
        "advertised_name": device.advertised_name,
        "vendor": device.vendor,
        "model": device.model,
        "kind": device.kind.value,
        "status": device.status.value,
        "addresses": list(device.addresses),
        "hosts": list(device.hosts),
        "mac": device.mac,
        "services": [
            {
                "type": record.service_type,
                "name": record.name,
                "host": record.server,
                "port": record.port,
                "txt": {entry.key: entry.display_value() for entry in record.entries},
            }
            for record in device.services
        ],
        "groups": [
            {"group_id": gid, "name": groups[gid].name, "kind": groups[gid].kind.value}
            for gid in device.group_ids
            if gid in groups
        ],
    }


def add_discover_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S", help="how long to listen (default 5 s)")
    parser.add_argument(
        "--interface",
        action="append",
        metavar="ADDR",
        help="listen only on the interface with this address (repeatable; default: all interfaces)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run_discover(args: argparse.Namespace, out: TextIO = sys.stdout, stop: threading.Event | None = None) -> int:
    if args.timeout <= 0 or args.timeout > 3600:
        print("earmuff discover: --timeout must be between 0 and 3600 seconds", file=sys.stderr)
        return 2
    try:
        interfaces = parse_interfaces(args.interface)
    except ValueError as exc:
        print(f"earmuff discover: {exc}", file=sys.stderr)
        return 2
    registry, discovery = build_discovery(interfaces=interfaces, requery_interval_s=max(1.0, args.timeout / 3))
    try:
        discovery.start()
    except DiscoveryError as exc:
        print(f"earmuff discover: {exc}", file=sys.stderr)
        return 1
    try:
        (stop or threading.Event()).wait(args.timeout)
    except KeyboardInterrupt:
        pass
    finally:
        discovery.stop()
    groups = {group.group_id: group for group in registry.groups()}
    devices = sorted(registry.devices(), key=lambda d: (not d.kind.listens, d.name.casefold()))
    if args.json:
        for device in devices:
            out.write(json.dumps(device_json(device, groups), ensure_ascii=False) + "\n")
    else:
        if not devices:
            out.write("No devices answered. Are you on the same network as your speakers?\n")
        for device in devices:
            what = " ".join(filter(None, [device.vendor, device.model])) or "unknown"
            group_names = ", ".join(groups[g].name for g in device.group_ids if g in groups)
            line = f"{device.name}  [{device.kind.label}: {what}]  {', '.join(device.addresses)}"
            if group_names:
                line += f"  (in {group_names})"
            out.write(line + "\n")
    out.flush()
    return 0
