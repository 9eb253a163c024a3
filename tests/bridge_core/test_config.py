"""The configuration file: a good one loads; a bad one names the key and the problem."""

from __future__ import annotations

import zoneinfo

import pytest

from device_bridge.config import (
    BridgeConfig,
    ConfigError,
    SpeakerConfig,
    bcm_number,
    load_config,
    loads_config,
    simulated_config,
)

GOOD = """
name = "Kitchen bridge"
timezone = "Europe/Berlin"
listen = "0.0.0.0"
port = 8443
pairing_button_pin = "GPIO26"

[[speaker]]
id = "kitchen"
name = "Kitchen Echo"
driver = "relay"
pin = 17
active_high = false
sense_pin = 22
sense_active_high = false
settle_ms = 150
override_pin = 5

[[speaker]]
id = "bedroom"
driver = "button"
pin = "BOARD13"
pulse_ms = 300
"""

SPEAKER = 'id = "kitchen"\ndriver = "relay"\npin = 17\n'


def speaker_doc(extra: str = "", base: str = SPEAKER) -> str:
    return f'name = "B"\n[[speaker]]\n{base}{extra}'


def test_a_complete_file_loads_with_every_value(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(path)
    assert config == BridgeConfig(
        name="Kitchen bridge",
        timezone="Europe/Berlin",
        listen="0.0.0.0",
        port=8443,
        pairing_button_pin="GPIO26",
        speakers=(
            SpeakerConfig(id="kitchen", name="Kitchen Echo", driver="relay", pin=17, active_high=False,
                          sense_pin=22, sense_active_high=False, settle_ms=150, override_pin=5),
            SpeakerConfig(id="bedroom", name="bedroom", driver="button", pin="BOARD13", pulse_ms=300),
        ),
    )
    assert config.speaker("bedroom").driver == "button"
    with pytest.raises(KeyError):
        config.speaker("attic")


def test_defaults_fill_in_what_is_left_out():
    config = loads_config('name = "Minimal"')
    assert config == BridgeConfig(name="Minimal")
    speaker = loads_config(speaker_doc()).speakers[0]
    assert (speaker.name, speaker.active_high, speaker.pulse_ms, speaker.sense_pin, speaker.settle_ms) == (
        "kitchen", True, 250, None, 300
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        # unknown keys, with a suggestion when one is close
        (speaker_doc("pinn = 4\n"), "speaker[0].pinn: unknown key (did you mean 'pin'?)"),
        ('name = "B"\ntimezon = "UTC"', "timezon: unknown key (did you mean 'timezone'?)"),
        ('name = "B"\ncolour = "red"', "colour: unknown key"),
        ('name = "B"\n[[speakers]]\nid = "a"', "speakers: unknown key (did you mean 'speaker'?)"),
        # required keys
        ("port = 8443", 'name: missing (for example: name = "Kitchen bridge")'),
        ('name = "B"\n[[speaker]]\ndriver = "relay"\npin = 17', "speaker[0].id: missing"),
        ('name = "B"\n[[speaker]]\nid = "k"\npin = 17', "speaker[0].driver: missing"),
        ('name = "B"\n[[speaker]]\nid = "k"\ndriver = "relay"', "speaker[0].pin: missing"),
        # ids
        (speaker_doc(base='id = "Kitchen Echo"\ndriver = "relay"\npin = 17\n'),
         "speaker[0].id: 'Kitchen Echo' is not a usable id"),
        (speaker_doc() + '[[speaker]]\nid = "kitchen"\ndriver = "power"\npin = 18\n',
         "speaker[1].id: 'kitchen' is already the id of speaker[0]"),
        # drivers
        (speaker_doc(base='id = "k"\ndriver = "relais"\npin = 17\n'),
         "speaker[0].driver: 'relais' is not a driver; choose one of \"relay\", \"button\", \"power\", "
         "\"network\" (did you mean 'relay'?)"),
        # pins
        (speaker_doc(base='id = "k"\ndriver = "relay"\npin = 41\n'), "speaker[0].pin: 41 is not a GPIO pin (BCM 0-27)"),
        (speaker_doc(base='id = "k"\ndriver = "relay"\npin = -1\n'), "speaker[0].pin: -1 is not a GPIO pin"),
        (speaker_doc(base='id = "k"\ndriver = "relay"\npin = true\n'), "speaker[0].pin: True is not a pin"),
        (speaker_doc(base='id = "k"\ndriver = "relay"\npin = "GPIO30"\n'),
         "speaker[0].pin: 'GPIO30' is not a GPIO pin (BCM 0-27)"),
        (speaker_doc(base='id = "k"\ndriver = "relay"\npin = "BOARD1"\n'),
         "speaker[0].pin: 'BOARD1' is a power or ground pin of the header, not a GPIO"),
        (speaker_doc(base='id = "k"\ndriver = "relay"\npin = "pin seventeen"\n'),
         "speaker[0].pin: 'pin seventeen' is not a pin"),
        (speaker_doc("sense_pin = 17\n"), "speaker[0].sense_pin: GPIO17 is already used by speaker[0].pin"),
        (speaker_doc() + '[[speaker]]\nid = "b"\ndriver = "button"\npin = "BOARD11"\n',
         "speaker[1].pin: BOARD11 (GPIO17) is already used by speaker[0].pin"),
        ('name = "B"\npairing_button_pin = 5\n[[speaker]]\nid = "k"\ndriver = "relay"\npin = 17\noverride_pin = 5\n',
         "speaker[0].override_pin: GPIO5 is already used by pairing_button_pin"),
        # numbers and flags
        (speaker_doc("pulse_ms = 5\n"), "speaker[0].pulse_ms: 5 is out of range (20-2000)"),
        (speaker_doc('settle_ms = "300"\n'), "speaker[0].settle_ms: must be a number of milliseconds (0-10000)"),
        (speaker_doc('active_high = "yes"\n'), "speaker[0].active_high: must be true or false, not 'yes'"),
        ('name = "B"\nport = 70000', "port: 70000 is out of range (1-65535)"),
        # the rest of the bridge
        ('name = "B"\ntimezone = "Europe/Berln"',
         "timezone: 'Europe/Berln' is not a known time zone (use an IANA name like \"Europe/Berlin\") "
         "(did you mean 'Europe/Berlin'?)"),
        ('name = "B"\ntimezone = "../etc/passwd"', "timezone: '../etc/passwd' is not a known time zone"),
        ('name = "B"\nlisten = "everywhere"', "listen: 'everywhere' is not an IP address"),
        ('name = "B"\n[speaker]\nid = "k"', "speaker: write each speaker as a [[speaker]] table (two brackets)"),
        ('name = ""', "name: must be some text in quotes"),
        ('name = "B"\nport = ', "config: not valid TOML"),
    ],
)
def test_mistakes_name_the_key_and_the_problem(document, message):
    with pytest.raises(ConfigError) as caught:
        loads_config(document)
    assert str(caught.value).startswith(message), str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.key == message.split(":")[0]


def test_a_missing_or_broken_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"bridge\.toml: no such file"):
        load_config(tmp_path / "bridge.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(broken)


@pytest.mark.parametrize(
    ("spec", "bcm"),
    [(17, 17), (0, 0), (27, 27), ("GPIO17", 17), ("gpio4", 4), ("BCM17", 17), ("BOARD11", 17), ("J8:11", 17),
     ("BOARD40", 21), ("17", 17)],
)
def test_pin_specs_gpiozero_understands_are_accepted(spec, bcm):
    assert bcm_number(spec) == bcm


def test_the_simulated_config_has_one_speaker_per_driver():
    config = simulated_config("Europe/Berlin")
    assert config.name == "Demo bridge"
    assert config.listen == "127.0.0.1"
    assert [(s.id, s.driver, s.sense_pin is not None) for s in config.speakers] == [
        ("kitchen", "relay", True), ("bedroom", "button", True), ("living-room", "power", False)
    ]
    # The default zone is this machine's, or UTC: always a valid one.
    zoneinfo.ZoneInfo(simulated_config().timezone)
