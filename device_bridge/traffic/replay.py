"""Packet captures to per-interval traffic series, and `earmuff-bridge replay`.

    earmuff-bridge replay CAPTURE.pcap --speaker-mac MAC [--json] [--interval 0.1] [--profile NAME]

A capture (pcap or pcapng, read with dpkt) becomes the series the bridge's sampler would have produced:
one sample per interval from the first packet on, with the speaker's uplink and downlink bytes. Uplink =
IPv4/IPv6 packets in frames from the speaker's MAC to a destination outside the local network; downlink =
the reverse. Outside means not private (RFC 1918, fc00::/7), link-local, loopback, unspecified, multicast
or broadcast; bytes are IP packet lengths (what an nftables counter on the bridge's forward path sees),
taken from the IP header, so a capture cut to a short snap length still counts whole packets. Link types:
Ethernet and Linux cooked capture (v1).

The replay runs the same ActivationDetector as the bridge, with the bins aligned to the first packet,
and prints one line per activation. Exit status: 0 (also when nothing is found), 1 for a capture it
cannot read (missing, not a capture, truncated, unsupported link type), 2 for invalid arguments.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # numpy, dpkt and the detector load when a capture is read: `earmuff-bridge --version` stays quick
    import numpy as np

    from device_bridge.traffic.model import Activation

__all__ = [
    "CaptureError",
    "UplinkSeries",
    "add_replay_arguments",
    "detect_in_capture",
    "mac_address",
    "read_uplink",
    "run_replay",
]

_U16 = struct.Struct("!H").unpack_from
_DLT_EN10MB = 1
_DLT_LINUX_SLL = 113
_PCAP_MAGICS = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

# Destinations that stay in the home (the same families as the bridge's nftables sets).
_LOCAL_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
    "224.0.0.0/4", "255.255.255.255/32")]
_LOCAL_V6 = [ipaddress.ip_network(n) for n in ("::/127", "fc00::/7", "fe80::/10", "ff00::/8")]
_V4_RULES = [(int(n.network_address), int(n.netmask)) for n in _LOCAL_V4]
_V6_RULES = [(int(n.network_address), int(n.netmask)) for n in _LOCAL_V6]


class CaptureError(Exception):
    """A capture that cannot be read; the message says why, for a person."""


@dataclass(frozen=True)
class UplinkSeries:
    """One speaker's traffic in a capture, per interval.

    Attributes:
        times: each interval's END, in seconds from the capture's first packet.
        interval_s: the interval.
        up_bytes, down_bytes: bytes to and from outside the local network per interval.
        up_packets, down_packets: the same in packets.
        first_packet: the epoch time of the capture's first packet.
        duration_s: from the first to the last packet.
        packets: packets in the capture (any device).
    """

    times: np.ndarray
    interval_s: float
    up_bytes: np.ndarray
    down_bytes: np.ndarray
    up_packets: np.ndarray
    down_packets: np.ndarray
    first_packet: float
    duration_s: float
    packets: int


def mac_address(text: str) -> bytes:
    """'68:db:f5:90:19:64', '68-DB-F5-90-19-64' or '68dbf5901964' -> 6 bytes (an argparse type too)."""
    digits = text.strip().replace(":", "").replace("-", "").replace(".", "")
    try:
        value = bytes.fromhex(digits)
    except ValueError:
        value = b""
    if len(value) != 6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a MAC address (like 68:db:f5:90:19:64)")
    return value


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.001 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0.001 and 1 second")
    return value


def _ip_fields(packet: object) -> tuple[int, bytes, bytes] | None:
    """(IP packet length, source, destination) of a dpkt IPv4/IPv6 packet, else None."""
    import dpkt

    if isinstance(packet, dpkt.ip.IP):
        return packet.len, packet.src, packet.dst
    if isinstance(packet, dpkt.ip6.IP6):
        return packet.plen + 40, packet.src, packet.dst
    return None


def _is_local(address: bytes) -> bool:
    value = int.from_bytes(address, "big")
    rules = _V4_RULES if len(address) == 4 else _V6_RULES
    return any(value & mask == net for net, mask in rules)


class _WatchedFile:
    """Passes reads through and remembers whether one came back short: dpkt stops quietly at a cut-off record."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.name = getattr(raw, "name", "<capture>")
        self.short = False

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if size is not None and size > 0 and 0 < len(data) < size:
            self.short = True
        return data


def _packets(path: Path):
    """(epoch seconds, frame bytes) for each packet, and the link type; raises CaptureError."""
    import dpkt

    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except OSError as err:
        raise CaptureError(f"{path}: cannot open: {err.strerror or err}") from None

    def frames(reader, watched):
        count = 0
        try:
            for ts, frame in reader:
                if watched.short:
                    break
                count += 1
                yield float(ts), frame
        except (dpkt.UnpackError, ValueError, struct.error) as err:
            if watched.short:
                raise CaptureError(f"{path}: the capture is truncated: its last record is cut short after "
                                   f"{count} complete packets") from None
            raise CaptureError(f"{path}: damaged after {count} packets ({err})") from None
        finally:
            raw.close()
        if watched.short:
            raise CaptureError(f"{path}: the capture is truncated: its last record is cut short after "
                               f"{count} complete packets")

    try:
        magic = raw.read(4)
        raw.seek(0)
        watched = _WatchedFile(raw)
        if magic == _PCAPNG_MAGIC:
            reader = dpkt.pcapng.Reader(watched)
        elif magic in _PCAP_MAGICS:
            reader = dpkt.pcap.Reader(watched)
        elif not magic:
            raise CaptureError(f"{path}: the file is empty, not a capture")
        else:
            raise CaptureError(f"{path}: not a pcap or pcapng capture (it starts with {magic.hex()})")
        link = reader.datalink()
    except CaptureError:
        raw.close()
        raise
    except (dpkt.UnpackError, ValueError, struct.error) as err:
        raw.close()
        raise CaptureError(f"{path}: damaged capture header ({err})") from None
    if link not in (_DLT_EN10MB, _DLT_LINUX_SLL):
        raw.close()
        raise CaptureError(f"{path}: link type {link} is not supported (Ethernet or Linux cooked capture "
                           "only; capture on the bridge's interface with tcpdump -i IF)")
    return frames(reader, watched), link


def read_uplink(path: Path | str, mac: bytes | str, interval_s: float = 0.1) -> UplinkSeries:
    """The speaker's per-interval traffic in a capture (see the module docstring); raises CaptureError."""
    import dpkt
    import numpy as np

    if isinstance(mac, str):
        mac = mac_address(mac)
    if not interval_s > 0:
        raise ValueError("interval_s must be > 0")
    path = Path(path)
    frames, link = _packets(path)
    ip_types = (dpkt.ethernet.ETH_TYPE_IP, dpkt.ethernet.ETH_TYPE_IP6)
    first = None
    last = 0.0
    count = 0
    up_at: list[float] = []
    up_len: list[int] = []
    down_at: list[float] = []
    down_len: list[int] = []
    for ts, frame in frames:
        count += 1
        if first is None:
            first = ts
        last = max(last, ts - first)
        if link == _DLT_EN10MB:
            outgoing = frame[6:12] == mac
            if not outgoing and frame[0:6] != mac:
                continue
            kind = frame[12:14]
            if kind == b"\x08\x00" and len(frame) >= 34:
                # WORKAROUND: dpkt decodes every layer down to TCP options, which made replay 2.5x
                # slower; untagged IPv4/IPv6 frames only need three fixed header fields.
                length = _U16(frame, 16)[0]
                src, dst = frame[26:30], frame[30:34]
            elif kind == b"\x86\xdd" and len(frame) >= 54:
                length = _U16(frame, 18)[0] + 40
                src, dst = frame[22:38], frame[38:54]
            else:  # VLAN tags, short frames, other protocols: dpkt sorts them out
                try:
                    packet = dpkt.ethernet.Ethernet(frame).data
                except dpkt.UnpackError:
                    continue
                found = _ip_fields(packet)
                if found is None:
                    continue
                length, src, dst = found
        else:
            try:
                sll = dpkt.sll.SLL(frame)
            except dpkt.UnpackError:
                continue
            # The cooked header names the sender's address only: frames from the speaker are uplink;
            # frames to it cannot be told apart by MAC, so a cooked capture gives no downlink.
            if sll.hdr[: sll.hlen] != mac or sll.ethtype not in ip_types:
                continue
            outgoing = True
            found = _ip_fields(sll.data)
            if found is None:
                continue
            length, src, dst = found
        if outgoing:
            if not _is_local(dst):
                up_at.append(ts - first)
                up_len.append(length)
        elif not _is_local(src):
            down_at.append(ts - first)
            down_len.append(length)
    if first is None:
        first = 0.0
    n = max(1, int(np.floor(last / interval_s)) + 1)

    def per_interval(at: list[float], lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
        index = np.minimum((np.asarray(at, dtype=float) / interval_s).astype(np.int64), n - 1)
        size = np.bincount(index, weights=np.asarray(lengths, dtype=float), minlength=n).astype(np.int64)
        packets = np.bincount(index, minlength=n).astype(np.int64)
        return size, packets

    up, up_packets = per_interval(up_at, up_len)
    down, down_packets = per_interval(down_at, down_len)
    times = (np.arange(n, dtype=float) + 1.0) * interval_s
    return UplinkSeries(times=times, interval_s=interval_s, up_bytes=up, down_bytes=down, up_packets=up_packets,
                        down_packets=down_packets, first_packet=first, duration_s=last, packets=count)


def detect_in_capture(path: Path | str, mac: bytes | str, *, interval_s: float = 0.1,
                      profile: str | None = None, speaker_id: str = "replay") -> list[Activation]:
    """Activations in a capture, start/end in seconds from its first packet; raises CaptureError."""
    from device_bridge.traffic.detect import detect_series, profile_for

    series = read_uplink(path, mac, interval_s)
    return detect_series(speaker_id, series.times, series.up_bytes, series.interval_s,
                         down_bytes=series.down_bytes, profile=profile_for(profile))


def run_replay(args: argparse.Namespace) -> int:
    """`earmuff-bridge replay`: print the activations in a capture; the exit status (see the module docstring)."""
    from device_bridge.traffic.detect import PROFILES, detect_series, profile_for

    interval = getattr(args, "interval", None)
    interval = 0.1 if interval is None else interval
    profile = getattr(args, "profile", None) or "generic"
    as_json = getattr(args, "json", False)
    try:
        mac = args.speaker_mac if isinstance(args.speaker_mac, bytes) else mac_address(args.speaker_mac)
        interval = _interval(str(interval))
    except argparse.ArgumentTypeError as err:
        print(f"earmuff-bridge: replay: {err}", file=sys.stderr, flush=True)
        return 2
    if profile not in PROFILES:
        print(f"earmuff-bridge: replay: unknown profile {profile!r} (one of {', '.join(sorted(PROFILES))})",
              file=sys.stderr, flush=True)
        return 2
    try:
        series = read_uplink(args.capture, mac, interval)
    except CaptureError as err:
        print(f"earmuff-bridge: {err}", file=sys.stderr, flush=True)
        return 1
    activations = detect_series("replay", series.times, series.up_bytes, series.interval_s,
                                down_bytes=series.down_bytes, profile=profile_for(profile))
    mac_text = ":".join(f"{b:02x}" for b in mac)
    if not series.up_bytes.any() and not series.down_bytes.any():
        print(f"earmuff-bridge: note: no internet traffic from or to {mac_text} in {args.capture} "
              f"({series.packets} packets)", file=sys.stderr, flush=True)
    for number, activation in enumerate(activations, 1):
        if as_json:
            print(json.dumps({
                "start": round(activation.start, 3),
                "end": round(activation.end, 3),
                "bytes_up": activation.bytes_up,
                "peak_rate": round(activation.peak_rate, 1),
                "confidence": round(activation.confidence, 4),
            }), flush=True)
        else:
            print(f"activation {number}: {activation.start:.1f}-{activation.end:.1f} s, "
                  f"{activation.bytes_up:,} bytes up, peak {activation.peak_rate:,.0f} B/s, "
                  f"confidence {activation.confidence:.3f}", flush=True)
    if not as_json:
        print(f"{len(activations)} activation(s) from {mac_text} in {series.duration_s:.1f} s of capture "
              f"(profile {profile})", flush=True)
    return 0


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    """The `replay` subcommand's arguments: the same lines as in cli.py (which must not import numpy early).

    Values are checked by run_replay (exit status 2 with a message), so these need no imports.
    """
    parser.add_argument("capture", type=Path, metavar="CAPTURE", help="a pcap or pcapng file")
    parser.add_argument("--speaker-mac", required=True, metavar="MAC",
                        help="the speaker's MAC address, like 68:db:f5:90:19:64")
    parser.add_argument("--json", action="store_true", help="one JSON object per activation and nothing else")
    parser.add_argument("--interval", type=float, default=0.1, metavar="SECONDS",
                        help="sampling interval to replay at (default 0.1, the bridge's 10 Hz)")
    parser.add_argument("--profile", default="generic", choices=("generic", "echo", "google_home", "homepod"),
                        help="device family the detector starts from (default generic)")
