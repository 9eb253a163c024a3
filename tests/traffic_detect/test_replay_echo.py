"""`earmuff-bridge replay` and its library: the real Echo capture, made-up captures, broken captures."""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

import dpkt
import pytest

from device_bridge.traffic.replay import (
    CaptureError,
    add_replay_arguments,
    detect_in_capture,
    mac_address,
    read_uplink,
    run_replay,
)

ROOT = Path(__file__).resolve().parents[2]
ECHO_TRACE = ROOT / "resources" / "traces" / "echodot3a.pcap"
ECHO_MAC = "68:db:f5:90:19:64"
SPEAKER = bytes.fromhex("02aabbccdd01")
ROUTER = bytes.fromhex("02aabbccdd02")


def replay(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="earmuff-bridge replay")
    add_replay_arguments(parser)
    status = run_replay(parser.parse_args(list(argv)))
    out, err = capsys.readouterr()
    return status, out, err


# --- the real capture ---------------------------------------------------------------------------------

def test_the_echo_capture_has_one_activation_about_20_s_in_through_the_cli(capsys):
    status, out, err = replay(capsys, str(ECHO_TRACE), "--speaker-mac", ECHO_MAC, "--json")
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    found = json.loads(lines[0])
    assert set(found) == {"start", "end", "bytes_up", "peak_rate", "confidence"}
    assert 17 <= found["start"] <= 23
    assert found["start"] < found["end"] <= 30
    assert 200_000 <= found["bytes_up"] <= 240_000  # ~76 + 39 + 35 + 34 + 34 kB (IP lengths)
    assert found["peak_rate"] >= 70_000
    assert 0.95 <= found["confidence"] <= 1


def test_the_bridge_command_line_runs_the_replay(capsys):
    from device_bridge.cli import main

    status = main(["replay", str(ECHO_TRACE), "--speaker-mac", ECHO_MAC, "--json", "--profile", "echo"])
    out, err = capsys.readouterr()
    assert status == 0, err
    [line] = out.splitlines()
    assert 17 <= json.loads(line)["start"] <= 23
    assert main(["replay", str(ECHO_TRACE)]) == 2  # --speaker-mac is required
    assert "--speaker-mac" in capsys.readouterr().err


def test_the_profile_choices_are_the_detector_s_profiles():
    from device_bridge.traffic.detect import PROFILES

    parser = argparse.ArgumentParser()
    add_replay_arguments(parser)
    [profile] = [a for a in parser._actions if a.dest == "profile"]
    assert sorted(profile.choices) == sorted(PROFILES)


def test_the_echo_capture_has_one_activation_about_20_s_in_through_the_library():
    for profile in ("generic", "echo", "google_home", "homepod"):
        found = detect_in_capture(ECHO_TRACE, ECHO_MAC, profile=profile)
        assert len(found) == 1, profile
        assert 17 <= found[0].start <= 23


def test_the_echo_capture_series_is_quiet_then_a_voice_upload():
    series = read_uplink(ECHO_TRACE, ECHO_MAC)
    assert series.packets == 2778 and 47 < series.duration_s < 49
    per_second = series.up_bytes[: 470].reshape(47, 10).sum(axis=1)
    assert per_second[:20].sum() == 0  # its idle keep-alives go to the LAN, not the internet
    assert [round(v / 1000) for v in per_second[20:25]] == [76, 39, 35, 34, 34]
    assert series.down_bytes.sum() > 0


def test_the_human_readable_output_says_what_was_found(capsys):
    status, out, _ = replay(capsys, str(ECHO_TRACE), "--speaker-mac", "68-DB-F5-90-19-64", "--interval", "0.25")
    assert status == 0
    assert out.startswith("activation 1: 20.0-26.0 s")
    assert out.rstrip().endswith("1 activation(s) from 68:db:f5:90:19:64 in 47.9 s of capture (profile generic)")


# --- made-up captures ---------------------------------------------------------------------------------

def ipv4_frame(src_mac: bytes, dst_mac: bytes, src: str, dst: str, payload: int, *, vlan: bool = False) -> bytes:
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_UDP,
                    data=dpkt.udp.UDP(sport=5000, dport=443, data=b"\0" * payload))
    ip.data.ulen = len(bytes(ip.data))
    ip.len = 20 + ip.data.ulen
    if vlan:
        tag = b"\x81\x00\x00\x05\x08\x00"
        return dst_mac + src_mac + tag + bytes(ip)
    return bytes(dpkt.ethernet.Ethernet(src=src_mac, dst=dst_mac, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def ipv6_frame(src_mac: bytes, dst_mac: bytes, src: str, dst: str, payload: int) -> bytes:
    ip6 = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src), dst=socket.inet_pton(socket.AF_INET6, dst),
                       nxt=dpkt.ip.IP_PROTO_UDP, hlim=64, data=b"\0" * payload)
    ip6.plen = payload
    return bytes(dpkt.ethernet.Ethernet(src=src_mac, dst=dst_mac, type=dpkt.ethernet.ETH_TYPE_IP6, data=ip6))


def write_pcap(path: Path, packets: list[tuple[float, bytes]], *, linktype: int = dpkt.pcap.DLT_EN10MB) -> Path:
    with path.open("wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=linktype)
        for ts, frame in packets:
            writer.writepkt(frame, ts=ts)
    return path


def upload(start: float, per_second: list[int], *, frame=None) -> list[tuple[float, bytes]]:
    """1,000-byte UDP datagrams from the speaker to 203.0.113.9 at 10 per 0.1 s sample as needed."""
    frame = frame or (lambda size: ipv4_frame(SPEAKER, ROUTER, "10.77.0.2", "203.0.113.9", size))
    packets = []
    for second, total in enumerate(per_second):
        count = max(1, total // 1028)
        for i in range(count):
            packets.append((start + second + i / count, frame(1000)))
    return packets


def idle(duration: int) -> list[tuple[float, bytes]]:
    return [(1_700_000_000.0 + s, ipv4_frame(SPEAKER, ROUTER, "10.77.0.2", "203.0.113.9", 100))
            for s in range(duration)]


VOICE = [76_000, 39_000, 36_000, 35_000, 35_000]


def test_only_internet_uplink_counts_lan_multicast_and_other_devices_do_not(tmp_path):
    t0 = 1_700_000_000.0
    lan = [ipv4_frame(SPEAKER, ROUTER, "10.77.0.2", dst, 1000) for dst in
           ("192.168.1.20", "10.77.0.1", "172.20.0.5", "169.254.1.1", "224.0.0.251", "255.255.255.255")]
    other = ipv4_frame(ROUTER, SPEAKER, "10.77.0.1", "10.77.0.2", 1000)  # LAN to the speaker: not downlink
    stranger = ipv4_frame(bytes.fromhex("02aabbccdd09"), ROUTER, "10.77.0.9", "203.0.113.9", 1000)
    down = ipv4_frame(ROUTER, SPEAKER, "203.0.113.9", "10.77.0.2", 500)
    packets = [(t0 + 0.05 * i, frame) for i, frame in enumerate(lan * 10 + [other, stranger] * 10)]
    packets += [(t0 + 5.0, down), (t0 + 6.0, ipv4_frame(SPEAKER, ROUTER, "10.77.0.2", "198.51.100.1", 700))]
    series = read_uplink(write_pcap(tmp_path / "lan.pcap", packets), SPEAKER)
    assert series.up_bytes.sum() == 728  # the one datagram to 198.51.100.1 (a documentation range, not LAN)
    assert series.down_bytes.sum() == 528
    assert series.up_packets.sum() == 1 and series.down_packets.sum() == 1


def test_ipv6_and_vlan_tagged_uploads_are_found(tmp_path):
    v6 = lambda size: ipv6_frame(SPEAKER, ROUTER, "fd00::2", "2001:db8::9", size)  # noqa: E731
    tagged = lambda size: ipv4_frame(SPEAKER, ROUTER, "10.77.0.2", "203.0.113.9", size, vlan=True)  # noqa: E731
    local_v6 = lambda size: ipv6_frame(SPEAKER, ROUTER, "fe80::2", "ff02::fb", size)  # noqa: E731
    packets = idle(120) + upload(1_700_000_030.0, VOICE, frame=v6) + upload(1_700_000_070.0, VOICE, frame=tagged)
    packets += upload(1_700_000_100.0, VOICE, frame=local_v6)
    packets.sort()
    found = detect_in_capture(write_pcap(tmp_path / "v6.pcap", packets), SPEAKER)
    assert [round(a.start) for a in found] == [30, 70]


def test_a_linux_cooked_capture_is_read(tmp_path):
    def cooked(size: int) -> bytes:
        inner = ipv4_frame(SPEAKER, ROUTER, "10.77.0.2", "203.0.113.9", size)[14:]
        return bytes(dpkt.sll.SLL(type=0, hrd=1, hlen=6, hdr=SPEAKER + b"\0\0", ethtype=0x0800)) + inner

    packets = sorted(upload(1_700_000_030.0, VOICE, frame=cooked) + [(1_700_000_000.0, cooked(10)),
                                                                       (1_700_000_060.0, cooked(10))])
    found = detect_in_capture(write_pcap(tmp_path / "sll.pcap", packets, linktype=113), SPEAKER)
    assert len(found) == 1 and round(found[0].start) == 30


def test_a_capture_of_someone_else_reports_nothing_and_says_so(capsys, tmp_path):
    path = write_pcap(tmp_path / "idle.pcap", idle(30))
    status, out, err = replay(capsys, str(path), "--speaker-mac", "02:00:00:00:00:99", "--json")
    assert status == 0 and out == ""
    assert "no internet traffic from or to 02:00:00:00:00:99" in err


# --- broken captures and arguments --------------------------------------------------------------------

def test_a_missing_file_is_a_clear_error(capsys, tmp_path):
    status, out, err = replay(capsys, str(tmp_path / "nope.pcap"), "--speaker-mac", ECHO_MAC)
    assert (status, out) == (1, "")
    assert "nope.pcap: no such file" in err


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"GET / HTTP/1.1\r\nHost: example\r\n\r\n", "not a pcap or pcapng capture"),
    (b"\xd4\xc3\xb2\xa1\x02\x00", "damaged capture header"),
])
def test_a_file_that_is_not_a_capture_is_a_clear_error(capsys, tmp_path, content, message):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    status, out, err = replay(capsys, str(path), "--speaker-mac", ECHO_MAC, "--json")
    assert (status, out) == (1, "")
    assert err.startswith("earmuff-bridge: ") and message in err


@pytest.mark.parametrize("damage", ["cut 7 bytes", "cut 30 bytes", "half a record header"])
def test_a_truncated_pcap_is_a_clear_error(capsys, tmp_path, damage):
    whole = write_pcap(tmp_path / "whole.pcap", idle(5) + upload(1_700_000_002.0, [5_000])).read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(whole + b"\0" * 8 if damage == "half a record header" else whole[:-int(damage.split()[1])])
    status, out, err = replay(capsys, str(path), "--speaker-mac", "02:aa:bb:cc:dd:01", "--json")
    assert (status, out) == (1, "")
    assert "truncated" in err


def test_a_truncated_pcapng_is_a_clear_error(capsys, tmp_path):
    path = tmp_path / "cut.pcapng"
    path.write_bytes(ECHO_TRACE.read_bytes()[:250_001])
    status, out, err = replay(capsys, str(path), "--speaker-mac", ECHO_MAC, "--json")
    assert (status, out) == (1, "")
    assert "truncated" in err
    with pytest.raises(CaptureError, match="truncated"):
        read_uplink(path, ECHO_MAC)


def test_an_unsupported_link_type_is_a_clear_error(capsys, tmp_path):
    path = write_pcap(tmp_path / "wifi.pcap", [(1.0, b"\0" * 40)], linktype=127)  # radiotap
    status, _, err = replay(capsys, str(path), "--speaker-mac", ECHO_MAC)
    assert status == 1 and "link type 127 is not supported" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--speaker-mac", "68:db:f5:90:19"], "is not a MAC address"),
    (["--speaker-mac", ECHO_MAC, "--interval", "0"], "between 0.001 and 1"),
])
def test_bad_arguments_exit_2(capsys, args, message):
    status, out, err = replay(capsys, str(ECHO_TRACE), *args)
    assert (status, out) == (2, "")
    assert message in err


def test_mac_addresses_are_accepted_in_the_usual_spellings():
    expected = bytes.fromhex("68dbf5901964")
    for text in ("68:db:f5:90:19:64", "68-DB-F5-90-19-64", "68dbf5901964", " 68db.f590.1964 "):
        assert mac_address(text) == expected
