"""The simulated home on real multicast over 127.0.0.1, seen by a plain python-zeroconf browser."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from zeroconf import ServiceStateChange, Zeroconf

from app.discovery.records import build_txt
from device_bridge import __version__
from device_bridge.cli import main
from device_bridge.simulate import (
    SimSpeaker,
    SimulatedHome,
    load_adverts,
    parse_advert,
    synthetic_speakers,
)

ADDED, REMOVED, UPDATED = ServiceStateChange.Added, ServiceStateChange.Removed, ServiceStateChange.Updated
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home() -> Iterator[SimulatedHome]:
    with SimulatedHome() as simulated:
        yield simulated


@pytest.fixture
def tag() -> str:
    """Makes names unique: other programs on this machine (benchmarks, demos) advertise on loopback too."""
    return uuid.uuid4().hex[:8]


def cast_speaker(tag: str, name: str) -> SimSpeaker:
    device_id = uuid.uuid4().hex
    return parse_advert({
        "id": f"cast-{tag}",
        "expect": {"kind": "speaker", "name": name},
        "services": [{
            "type": "_googlecast._tcp.local.", "instance": f"Nest-Audio-{device_id}", "port": 8009,
            "host": f"{device_id}.local.", "txt": {"id": device_id, "md": "Nest Audio", "fn": name, "rs": ""},
        }],
    })


def sonos_speaker(tag: str, room: str) -> SimSpeaker:
    name = f"{room} {tag}"
    return parse_advert({
        "id": f"sonos-{tag}",
        "expect": {"kind": "speaker", "name": name},
        "services": [
            {"type": "_sonos._tcp.local.", "instance": f"Sonos-{tag}@{name}", "port": 1443,
             "host": f"Sonos-{tag}.local.", "txt": {"info": f"/api/v1/players/RINCON_{tag}01400/info"}},
            {"type": "_airplay._tcp.local.", "instance": name, "port": 7000,
             "host": f"Sonos-{tag}.local.", "txt": {"manufacturer": "Sonos", "model": "One"}},
        ],
    })


def service_names(speakers: list[SimSpeaker]) -> set[str]:
    return {service.name for speaker in speakers for service in speaker.services}


def service_types(speakers: list[SimSpeaker]) -> list[str]:
    return [service.service_type for speaker in speakers for service in speaker.services]


# --- discovery sees exactly what the home advertises --------------------------------------------

def test_browser_finds_every_demo_service_with_its_exact_txt(home, browse, browser_zc: Zeroconf):
    speakers = load_adverts()
    home.start(speakers)
    sightings = browse(service_types(speakers))
    assert sightings.wait_seen(ADDED, service_names(speakers))

    addresses = set()
    for speaker in speakers:
        for service in speaker.services:
            info = browser_zc.get_service_info(service.service_type, service.name, timeout=3000)
            assert info is not None, service.name
            assert info.text == service.txt, service.name
            assert (info.port, info.server) == (service.port, service.host)
            assert info.parsed_addresses() == [home.address_of(service.host)]
            addresses.add((service.host, home.address_of(service.host)))
    assert len({address for _, address in addresses}) == len({host for host, _ in addresses})  # one per host
    assert all(address.startswith("127.0.0.") for _, address in addresses)

    thread_radio = browser_zc.get_service_info(
        "_meshcop._udp.local.", "Google-Nest-Hub-#ABED._meshcop._udp.local.", timeout=3000
    )
    assert thread_radio.properties[b"xa"] == bytes.fromhex("f6a99b425a67abed")  # sent raw, not as hex text
    assert thread_radio.properties[b"sb"] == b"\x00\x00\x01\xb1"


def test_fifty_synthetic_speakers_register_concurrently(home, browse, capsys):
    speakers = synthetic_speakers(50, seed=int(uuid.uuid4()) % 10_000)
    started = time.perf_counter()
    home.start(speakers)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nregistered 50 synthetic speakers ({len(service_names(speakers))} services) in {elapsed:.2f} s")
    assert elapsed < 5.0  # one at a time with name probing would take 50 x 1.6 s
    assert set(home.running_ids()) == {s.advert_id for s in speakers}
    assert browse(service_types(speakers)).wait_seen(ADDED, service_names(speakers))


def test_synthetic_speakers_are_distinct_and_repeatable():
    speakers = synthetic_speakers(50, seed=7)
    assert len({s.advert_id for s in speakers}) == 50
    assert len({s.name for s in speakers}) == 50
    assert len({s.expect["stable_id"] for s in speakers}) == 50
    assert len({host for s in speakers for host in s.hosts}) == 50
    assert {s.expect["vendor"] for s in speakers} == {"Google", "Apple", "Sonos"}
    assert all(s.synthetic and s.expect["kind"] == "speaker" for s in speakers)
    assert synthetic_speakers(50, seed=7) == speakers
    assert synthetic_speakers(5, seed=8) != synthetic_speakers(5, seed=9)


# --- life events -------------------------------------------------------------------------------

def test_remove_says_goodbye(home, browse, tag):
    leaving, staying = cast_speaker(tag, "Kitchen"), sonos_speaker(tag, "Office")
    home.start([leaving, staying])
    sightings = browse(service_types([leaving, staying]))
    assert sightings.wait_seen(ADDED, service_names([leaving, staying]))

    home.remove(leaving.advert_id)

    # TTLs are minutes long: a Removed this soon can only come from a goodbye packet.
    assert sightings.wait_seen(REMOVED, service_names([leaving]), timeout=5.0)
    assert not {n for s, n in sightings.events if s is REMOVED} & service_names([staying])
    assert home.running_ids() == (staying.advert_id,)


def test_rename_updates_a_cast_friendly_name_in_place(home, browse, browser_zc, tag):
    speaker = cast_speaker(tag, "Kitchen")
    home.start([speaker])
    (name,) = service_names([speaker])
    sightings = browse(["_googlecast._tcp.local."])
    assert sightings.wait_seen(ADDED, {name})

    home.rename(speaker.advert_id, "Anna\u2019s\u00a0Room")

    assert sightings.wait_seen(UPDATED, {name})
    info = browser_zc.get_service_info("_googlecast._tcp.local.", name, timeout=3000)
    assert info.properties[b"fn"] == "Anna\u2019s\u00a0Room".encode()
    assert info.properties[b"rs"] == b""
    assert (REMOVED, name) not in sightings.events
    assert home.speaker(speaker.advert_id).name == "Anna\u2019s\u00a0Room"


def test_rename_moves_instance_names_that_carry_the_name(home, browse, browser_zc, tag):
    speaker = sonos_speaker(tag, "Office")
    home.start([speaker])
    sightings = browse(service_types([speaker]))
    assert sightings.wait_seen(ADDED, service_names([speaker]))

    home.rename(speaker.advert_id, f"Study {tag}")

    new_names = {f"Sonos-{tag}@Study {tag}._sonos._tcp.local.", f"Study {tag}._airplay._tcp.local."}
    assert sightings.wait_seen(REMOVED, service_names([speaker]))
    assert sightings.wait_seen(ADDED, new_names)
    assert service_names([home.speaker(speaker.advert_id)]) == new_names
    info = browser_zc.get_service_info("_airplay._tcp.local.", f"Study {tag}._airplay._tcp.local.", timeout=3000)
    assert info.properties[b"manufacturer"] == b"Sonos"


def test_update_txt_is_seen_as_an_update(home, browse, browser_zc, tag):
    speaker = sonos_speaker(tag, "Office")
    home.start([speaker])
    airplay = speaker.services[1]
    sightings = browse([airplay.service_type])
    assert sightings.wait_seen(ADDED, {airplay.name})

    new_txt = build_txt({"manufacturer": "Sonos", "model": "One", "flags": b"\x00\xff"})
    home.update_txt(speaker.advert_id, airplay.service_type, new_txt)

    assert sightings.wait_seen(UPDATED, {airplay.name})
    assert browser_zc.get_service_info(airplay.service_type, airplay.name, timeout=3000).text == new_txt


def test_churn_leaves_comes_back_and_renames_itself_back(browse, tag):
    leaver, renamer = cast_speaker(tag, "Kitchen"), sonos_speaker(tag, "Office")
    told: list[str] = []
    four_events = threading.Event()

    def on_event(description: str) -> None:
        told.append(description)
        if len(told) >= 4:
            four_events.set()

    sightings = browse(service_types([leaver, renamer]))
    with SimulatedHome() as home:
        home.start([leaver, renamer])
        home.start_churn(interval_s=0.1, on_event=on_event)
        assert four_events.wait(15.0), told
    (leaver_name,) = service_names([leaver])
    assert told[:2] == [f"{leaver.advert_id} left", f"{leaver.advert_id} came back"]
    temporary = told[2].partition(" renamed itself ")[2].strip("'")
    assert temporary and told[3] == f"{renamer.advert_id} renamed itself back to 'Office {tag}'"
    assert [s for s, n in sightings.events if n == leaver_name][:3] == [ADDED, REMOVED, ADDED]
    assert sightings.wait_seen(ADDED, {f"Sonos-{tag}@{temporary}._sonos._tcp.local."})
    assert sightings.wait_seen(REMOVED, {f"Sonos-{tag}@{temporary}._sonos._tcp.local."})


# --- lifecycle and safety ------------------------------------------------------------------------

def test_close_leaves_no_threads_and_is_idempotent(tag):
    before = set(threading.enumerate())
    home = SimulatedHome()
    home.start([cast_speaker(tag, "Kitchen")])
    home.start_churn(interval_s=30.0)
    assert len(set(threading.enumerate()) - before) >= 2  # zeroconf's loop and the churn

    home.close()
    home.close()

    assert [t for t in threading.enumerate() if t not in before] == []
    with pytest.raises(RuntimeError, match="closed"):
        home.add(sonos_speaker(tag, "Office"))


def test_close_says_goodbye_for_every_service(browse, tag):
    speakers = [cast_speaker(tag, "Kitchen"), sonos_speaker(tag, "Office")]
    sightings = browse(service_types(speakers))
    with SimulatedHome() as home:
        home.start(speakers)
        assert sightings.wait_seen(ADDED, service_names(speakers))
    assert sightings.wait_seen(REMOVED, service_names(speakers), timeout=5.0)


def test_refuses_to_advertise_beyond_loopback():
    with pytest.raises(ValueError, match="not a loopback address"):
        SimulatedHome(interfaces=["192.0.2.10"])
    with pytest.raises(ValueError, match="not an IP address"):
        SimulatedHome(interfaces=["eth0"])


def test_refuses_a_second_advert_with_the_same_id_or_host(home, tag):
    speaker = cast_speaker(tag, "Kitchen")
    home.start([speaker])
    with pytest.raises(ValueError, match=f"advert 'cast-{tag}': id"):
        home.add(speaker)
    twin = SimSpeaker("twin", speaker.services, {"kind": "speaker"})
    with pytest.raises(ValueError, match="'twin'.*also advertised by"):
        home.add(twin)


# --- the adverts file ------------------------------------------------------------------------------

def test_bundled_adverts_cover_the_demo_home():
    speakers = {s.advert_id: s for s in load_adverts()}
    document = json.loads((REPO / "resources/simulated-home/adverts.json").read_text(encoding="utf-8"))
    assert "shared/data/mdns-adverts.json" in document["source"]
    assert all(entry.get("source") for entry in document["adverts"])
    real = [s for s in speakers.values() if not s.synthetic]
    assert {"google-home-mini", "homepod-mini", "sonos-s2-symfonisk", "fire-tv-stick"} <= {s.advert_id for s in real}
    assert speakers["irobot-roomba"].expect["kind"] == "other"
    assert speakers["earmuff-bridge-kitchen"].expect["kind"] == "bridge"
    partner_txt = speakers["homepod-mini-pair-partner"].services[0].txt
    assert b"gid=37240B66-2638-4243-B3FF-06A869AD350A" in partner_txt and b"gpn=Dach pair" in partner_txt
    assert "\u00a0" in speakers["nest-mini"].name and "\u2019" in speakers["nest-audio"].name


def _write_adverts(tmp_path: Path, service_changes: dict, **entry_changes) -> Path:
    entry = {
        "id": "bad-one",
        "expect": {"kind": "speaker"},
        "services": [{"type": "_airplay._tcp.local.", "instance": "Den", "port": 7000,
                      "host": "Den.local.", "txt": {"model": "AudioAccessory5,1"}} | service_changes],
    } | entry_changes
    path = tmp_path / "adverts.json"
    path.write_text(json.dumps({"adverts": [entry]}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("service_changes", "entry_changes", "message"),
    [
        ({"port": "7000"}, {}, r"advert 'bad-one': services\[0\]\.port: expected an integer"),
        ({"port": 70000}, {}, r"advert 'bad-one': services\[0\]\.port"),
        ({"txt": {"xa_hex": "f6a9zz"}}, {}, r"advert 'bad-one': services\[0\]\.txt\.xa_hex: not hexadecimal"),
        ({"txt": {"fn": 3}}, {}, r"advert 'bad-one': services\[0\]\.txt\.fn: expected a string"),
        ({"host": "Den"}, {}, r"advert 'bad-one': services\[0\]\.host"),
        ({"type": "_airplay._tcp"}, {}, r"advert 'bad-one': services\[0\]\.type"),
        ({}, {"expect": {"kind": "robot"}}, r"advert 'bad-one': expect\.kind"),
        ({}, {"services": []}, r"advert 'bad-one': services: expected a non-empty list"),
        ({}, {"id": ""}, r"advert \(adverts\[0\]\): id"),
    ],
)
def test_a_malformed_advert_is_named_with_its_field(tmp_path, service_changes, entry_changes, message):
    path = _write_adverts(tmp_path, service_changes, **entry_changes)
    with pytest.raises(ValueError, match=message):
        load_adverts(path)


def test_a_file_that_is_not_json_says_so(tmp_path):
    path = tmp_path / "adverts.json"
    path.write_text('{"adverts": [', encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_adverts(path)


# --- the earmuff-bridge command line ---------------------------------------------------------------

def test_simulate_home_runs_until_sigterm():
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "device_bridge", "simulate-home", "--speakers", "3",
               "--seed", str(int(uuid.uuid4()) % 10_000)]
    lines: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          encoding="utf-8") as process:
        def read_stdout() -> None:
            for line in process.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        reader = threading.Thread(target=read_stdout, name="cli-stdout")
        reader.start()
        seen: list[str] = []
        try:
            while not (seen and seen[-1].startswith("simulated home ready")):
                line = lines.get(timeout=20.0)
                assert line is not None, f"exited early: {seen} {process.stderr.read()}"
                seen.append(line)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15.0) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5.0)
            reader.join(5.0)
        stderr = process.stderr.read()
    assert seen[-1] == "simulated home ready: 3 speakers on 127.0.0.1"
    assert sum(line.startswith("registered synthetic-") for line in seen) == 3
    assert "Traceback" not in stderr


def test_cli_version_and_serve_needs_a_config(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"earmuff-bridge {__version__}"
    assert main(["serve"]) == 2
    assert "--config" in capsys.readouterr().err


def test_cli_reports_a_malformed_adverts_file(tmp_path, capsys):
    path = _write_adverts(tmp_path, {"port": -1})
    assert main(["simulate-home", "--adverts", str(path)]) == 1
    assert "advert 'bad-one': services[0].port" in capsys.readouterr().err
