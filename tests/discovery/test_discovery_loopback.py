"""Discovery over real multicast on 127.0.0.1: found, named, gone, back, expired, re-queried."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from zeroconf import DNSIncoming

from app.devices import DeviceStatus
from app.discovery.browser import Discovery, DiscoveryError, parse_interfaces
from app.discovery.session import build_discovery

from mdns_helpers import LOOPBACK, Events

ROOT = Path(__file__).resolve().parents[2]
CAST = "_googlecast._tcp.local."
AIRPLAY = "_airplay._tcp.local."
UUID = "a96373438460a25e5b41cda821c59d55"


@pytest.fixture
def discovery():
    registry, discovery = build_discovery(interfaces=LOOPBACK, requery_interval_s=2.0, resolve_timeout_s=2.0)
    events = Events()
    registry.add_listener(events)
    yield registry, discovery, events
    discovery.stop()


def cast_txt(name="Bedroom Speaker", uuid=UUID):
    return {"id": uuid, "md": "Google Home Mini", "fn": name, "rs": None, "bs": b"\xfa\x8f\xca"}


def test_finds_service_registered_before_start_and_keeps_raw_txt(responder, discovery):
    registry, disco, events = discovery
    info = responder.register(responder.info(CAST, f"Google-Home-Mini-{UUID}", txt=cast_txt()))
    disco.start()
    events.wait_for(lambda e: UUID in e.devices)
    device = events.devices[UUID]
    assert (device.vendor, device.model, device.name) == ("Google", "Google Home Mini", "Bedroom Speaker")
    assert device.addresses == ("127.0.0.2",)
    (service,) = device.services
    assert service.txt == info.text
    assert service.get_bytes("bs") == b"\xfa\x8f\xca"


def test_goodbye_then_return(responder, discovery):
    registry, disco, events = discovery
    disco.start()
    info = responder.register(responder.info(CAST, f"Google-Home-Mini-{UUID}", txt=cast_txt()))
    events.wait_for(lambda e: UUID in e.devices and e.devices[UUID].online)
    responder.zc.unregister_service(info)
    events.wait_for(lambda e: e.devices[UUID].status is DeviceStatus.OFFLINE)
    responder.register(responder.info(CAST, f"Google-Home-Mini-{UUID}", txt=cast_txt("Back again")))
    events.wait_for(lambda e: e.devices[UUID].online and e.devices[UUID].name == "Back again")


def test_txt_change_is_an_update(responder, discovery):
    registry, disco, events = discovery
    disco.start()
    info = responder.register(responder.info(CAST, f"Google-Home-Mini-{UUID}", txt=cast_txt()))
    events.wait_for(lambda e: UUID in e.devices)
    new = responder.info(CAST, f"Google-Home-Mini-{UUID}", txt=cast_txt("Renamed"))
    responder.zc.update_service(new)
    events.wait_for(lambda e: e.devices[UUID].name == "Renamed")
    responder.zc.unregister_service(info)


NAMES = ["Anna\u2019s Room", "Kitchen@Home", "v1.2 speaker", "Living\u00a0Room", "\u201cQuoted\u201d", "Sonos-1A2B@Bed room"]


def test_awkward_instance_names_and_odd_txt_survive_the_wire(responder, discovery):
    registry, disco, events = discovery
    disco.start()
    txts = [b"\x00", b"\x05bin=\x00", b"\x03a=1\x03A=2", b"\x02rs\x03rs=", b"\x09md=Nest\xff\xfe", b"\x04x=yz"]
    for n, (name, txt) in enumerate(zip(NAMES, txts)):
        responder.register(responder.info(AIRPLAY, name, txt=txt, host=f"h{n}.local.", port=7000,
                                          addresses=(f"127.0.0.{10 + n}",)))
    hosts = {f"host:h{n}.local." for n in range(len(NAMES))}
    events.wait_for(lambda e: hosts <= e.devices.keys())
    by_name = {d.services[0].instance: d for d in events.devices.values() if d.device_id in hosts}
    assert set(by_name) == set(NAMES)
    for name, txt in zip(NAMES, txts):
        service = by_name[name].services[0]
        assert service.txt == txt or (txt == b"\x00" and service.txt in (b"", b"\x00"))
    assert by_name["\u201cQuoted\u201d"].services[0].get("md") == "Nest\ufffd\ufffd"


def test_ipv4_and_ipv6_addresses_of_one_service_make_one_device(responder, discovery):
    registry, disco, events = discovery
    disco.start()
    responder.register(responder.info(CAST, f"Google-Home-Mini-{UUID}", txt=cast_txt(),
                                      addresses=("127.0.0.2", "fe80::1")))
    events.wait_for(lambda e: UUID in e.devices and len(e.devices[UUID].addresses) == 2)
    assert len([d for d in registry.devices() if d.device_id == UUID]) == 1


RESPONDER_SCRIPT = """
import socket, sys
from zeroconf import IPVersion, ServiceInfo, Zeroconf
zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
info = ServiceInfo("_googlecast._tcp.local.", "Short-Lived._googlecast._tcp.local.", port=8009,
                   properties={"id": "b" * 32, "md": "Nest Audio", "fn": "Short lived"},
                   server="short.local.", addresses=[socket.inet_aton("127.0.0.3")], host_ttl=2, other_ttl=2)
zc.register_service(info, cooperating_responders=True)
print("ready", flush=True)
sys.stdin.read()
"""


def test_ttl_expiry_without_goodbye_marks_offline(discovery):
    registry, disco, events = discovery
    disco.start()
    child = subprocess.Popen([sys.executable, "-c", RESPONDER_SCRIPT], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        events.wait_for(lambda e: "b" * 32 in e.devices and e.devices["b" * 32].online)
        child.kill()  # no goodbye packets: only the records' TTL can tell
        child.wait(5)
        events.wait_for(lambda e: e.devices["b" * 32].status is DeviceStatus.OFFLINE, timeout=30)
    finally:
        child.kill()
        child.wait(5)
        child.stdin.close()
        child.stdout.close()


def test_requery_asks_for_every_service_type(discovery):
    registry, disco, events = discovery
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", 5353))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton("224.0.0.251") + socket.inet_aton("127.0.0.1"))
    sock.settimeout(1.0)
    wanted = {t.lower() for t in disco.service_types}
    try:
        disco.start()
        disco.requery_now()
        asked: set[str] = set()
        for _ in range(40):
            try:
                data, _addr = sock.recvfrom(9000)
            except TimeoutError:
                continue
            message = DNSIncoming(data)
            if message.is_query():
                asked |= {q.name.lower() for q in message.questions}
            if wanted <= asked:
                break
        assert wanted <= asked
    finally:
        sock.close()


def test_interfaces_are_checked():
    assert parse_interfaces("all") is None
    assert parse_interfaces(" 127.0.0.1 , ::1") == ["127.0.0.1", "::1"]
    with pytest.raises(ValueError, match="not an interface address"):
        parse_interfaces("eth0")


# WORKAROUND: zeroconf leaves its half-made listening socket to the garbage collector when its
# constructor fails; that is zeroconf's leak, not ours, so its warning is not an error here.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_unusable_interface_gives_a_clear_error():
    class Sink:
        def service_seen(self, record): ...
        def service_gone(self, t, n): ...

    disco = Discovery(Sink(), [CAST], interfaces=["203.0.113.7"])  # not an address of this machine
    with pytest.raises(DiscoveryError, match="Cannot listen for mDNS on 203.0.113.7"):
        disco.start()
    disco.stop()


def test_cli_discover_prints_one_json_line_per_device(responder):
    responder.register(responder.info(CAST, f"Google-Home-Mini-{UUID}", txt=cast_txt()))
    responder.register(responder.info(CAST, "Google-Cast-Group-5C0AEC54CDB9439BA3FF66DA777A9B00-1",
                                      txt={"id": "5C0AEC54CDB9439BA3FF66DA777A9B00", "md": "Google Cast Group",
                                           "fn": "Whole house"}, port=42515))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "discover", "--json", "--interface",
                             "127.0.0.1", "--timeout", "2"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    devices = [json.loads(line) for line in result.stdout.splitlines()]
    (device,) = [d for d in devices if d["stable_id"] == UUID]  # other suites' speakers may share loopback
    assert device["stable_id"] == UUID and device["model"] == "Google Home Mini" and device["kind"] == "speaker"
    assert device["addresses"] == ["127.0.0.2"]
    assert device["groups"] == [{"group_id": "5C0AEC54CDB9439BA3FF66DA777A9B00", "name": "Whole house",
                                 "kind": "cast-group"}]
    assert {s["type"] for s in device["services"]} == {CAST}
    assert device["services"][0]["txt"]["bs"] == "0xfa8fca"


def test_cli_rejects_bad_arguments():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "discover", "--interface", "wlan0"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "not an interface address" in result.stderr
