"""The configuration's traffic keys: speakers named by MAC, IP or interface, the network mute, the traffic
source and retention; mistakes name the key and the problem."""

from __future__ import annotations

import pytest

from device_bridge.config import BridgeConfig, ConfigError, SpeakerConfig, loads_config

SPEAKER = 'id = "kitchen"\ndriver = "relay"\npin = 17\n'


def doc(speaker_extra: str = "", *, bridge: str = "", base: str = SPEAKER) -> str:
    return f'name = "B"\n{bridge}[[speaker]]\n{base}{speaker_extra}'


def test_traffic_keys_load():
    config = loads_config(
        'name = "B"\ntraffic_source = "nftables"\nretention_days = 30\ntraffic_history_hours = 48\n'
        '[[speaker]]\nid = "kitchen"\ndriver = "relay"\npin = 17\nmac = "68-DB-F5-90-19-64"\nnetwork_mute = true\n'
        '[[speaker]]\nid = "den"\ndriver = "network"\nip = "192.168.4.30"\n'
        '[[speaker]]\nid = "office"\ndriver = "power"\npin = 24\ninterface = "eth1"\nip = "fd00::7"\n'
    )
    assert (config.traffic_source, config.retention_days, config.traffic_history_hours) == ("nftables", 30, 48)
    kitchen, den, office = config.speakers
    assert kitchen == SpeakerConfig(id="kitchen", name="kitchen", driver="relay", pin=17, mac="68:db:f5:90:19:64",
                                    network_mute=True)
    assert den == SpeakerConfig(id="den", name="den", driver="network", pin=None, ip="192.168.4.30")
    assert (office.interface, office.ip) == ("eth1", "fd00::7")
    assert kitchen.measurable and den.measurable


@pytest.mark.parametrize(
    ("document", "source"),
    [
        (doc(), "none"),
        (doc('mac = "68:db:f5:90:19:64"\n'), "nftables"),
        (doc('ip = "10.77.0.2"\n'), "nftables"),
        (doc('interface = "eth1"\n'), "sysfs"),
        (doc('interface = "eth1"\n', bridge='traffic_source = "simulated"\n'), "simulated"),
        (doc('mac = "68:db:f5:90:19:64"\n', bridge='traffic_source = "none"\n'), "none"),
        (doc('mac = "68:db:f5:90:19:64"\ninterface = "eth1"\n', bridge='traffic_source = "sysfs"\n'), "sysfs"),
    ],
)
def test_the_traffic_source_defaults_to_what_the_speakers_allow(document, source):
    assert loads_config(document).traffic_source == source


def test_defaults_leave_existing_configs_as_they_were():
    assert loads_config('name = "Minimal"') == BridgeConfig(name="Minimal")
    config = loads_config(doc())
    assert (config.retention_days, config.traffic_history_hours) == (90, 24)
    speaker = config.speakers[0]
    assert (speaker.mac, speaker.ip, speaker.interface, speaker.network_mute) == (None, None, None, False)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (doc('mac = "68:db:f5:90:19"\n'), "speaker[0].mac: '68:db:f5:90:19' is not a MAC address"),
        (doc('mac = "68:db-f5:90:19:64"\n'), "speaker[0].mac: '68:db-f5:90:19:64' is not a MAC address"),
        (doc("mac = 5\n"), "speaker[0].mac: 5 is not a MAC address"),
        (doc('mac = "01:00:5e:00:00:fb"\n'), "speaker[0].mac: 01:00:5e:00:00:fb is a multicast address"),
        (doc('mac = "00:00:00:00:00:00"\n'), "speaker[0].mac: 00:00:00:00:00:00 is not a device's address"),
        (doc('ip = "10.77.0.256"\n'), "speaker[0].ip: '10.77.0.256' is not an IP address"),
        (doc('ip = "10.77.0.0/24"\n'), "speaker[0].ip: '10.77.0.0/24' is not an IP address"),
        (doc("ip = 167772162\n"), "speaker[0].ip: 167772162 is not an IP address"),
        (doc('ip = "224.0.0.251"\n'), "speaker[0].ip: 224.0.0.251 is not a speaker's address"),
        (doc('interface = "eth/1"\n'), "speaker[0].interface: 'eth/1' is not a network interface name"),
        (doc('interface = "a-very-long-interface"\n'), "speaker[0].interface: 'a-very-long-interface' is not a"),
        (doc('network_mute = "yes"\n'), "speaker[0].network_mute: must be true or false"),
        (doc("network_mute = true\n"), "speaker[0].network_mute: needs the speaker's mac or ip"),
        (doc('mac = "68:db:f5:90:19:64"\n') + '[[speaker]]\nid = "b"\ndriver = "relay"\npin = 18\n'
         'mac = "68:DB:F5:90:19:64"\n', "speaker[1].mac: '68:db:f5:90:19:64' is already the mac of speaker[0]"),
        (doc('ip = "10.0.0.2"\n') + '[[speaker]]\nid = "b"\ndriver = "relay"\npin = 18\nip = "10.0.0.2"\n',
         "speaker[1].ip: '10.0.0.2' is already the ip of speaker[0]"),
        (doc('interface = "eth1"\n') + '[[speaker]]\nid = "b"\ndriver = "relay"\npin = 18\ninterface = "eth1"\n',
         "speaker[1].interface: 'eth1' is already the interface of speaker[0]"),
        (doc(base='id = "k"\ndriver = "network"\n'),
         "speaker[0].mac: missing: the \"network\" driver needs the speaker's mac or ip"),
        (doc(base='id = "k"\ndriver = "network"\npin = 17\nip = "10.0.0.2"\n'),
         "speaker[0].pin: the \"network\" driver mutes with an nftables rule and uses no pin"),
        (doc(base='id = "k"\ndriver = "network"\nsense_pin = 22\nip = "10.0.0.2"\n'),
         "speaker[0].sense_pin: the \"network\" driver checks its own drop rule"),
        (doc(bridge='traffic_source = "nftable"\n'),
         "traffic_source: 'nftable' is not a traffic source; choose one of \"nftables\", \"sysfs\", \"simulated\", "
         "\"none\" (did you mean 'nftables'?)"),
        (doc(bridge='traffic_source = "nftables"\n'), "traffic_source: \"nftables\" counts speakers by mac or ip"),
        (doc('mac = "68:db:f5:90:19:64"\n', bridge='traffic_source = "sysfs"\n'),
         "traffic_source: \"sysfs\" reads the counters of a speaker's own interface"),
        (doc(bridge="retention_days = 0\n"), "retention_days: 0 is out of range (1-3650)"),
        (doc(bridge='retention_days = "90"\n'), "retention_days: must be a number of days"),
        (doc(bridge="traffic_history_hours = 200\n"), "traffic_history_hours: 200 is out of range (1-168)"),
        (doc('macc = "68:db:f5:90:19:64"\n'), "speaker[0].macc: unknown key (did you mean 'mac'?)"),
        (doc(bridge="retention = 30\n"), "retention: unknown key (did you mean 'retention_days'?)"),
    ],
)
def test_traffic_mistakes_name_the_key_and_the_problem(document, message):
    with pytest.raises(ConfigError) as caught:
        loads_config(document)
    assert str(caught.value).startswith(message), str(caught.value)
    assert caught.value.key == message.split(":")[0]
