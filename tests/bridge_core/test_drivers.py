"""Mute drivers on gpiozero MockFactory pins: fail-closed outputs, sense lines, the button's press-and-retry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from core_helpers import FakeClock

from device_bridge.config import SpeakerConfig
from device_bridge.mute import ButtonDriver, PowerDriver, RelayDriver, create_driver
from device_bridge.mute.simulated import SimulatedSpeaker, follow_outputs

REPO = Path(__file__).resolve().parents[2]
OUT, SENSE = 17, 27


@pytest.fixture
def fake():
    return FakeClock(0.0)


@pytest.fixture
def make(pin_factory, fake):
    made = []

    def build(driver: str = "relay", **fields):
        pin = fields.pop("pin", OUT)
        config = SpeakerConfig(id=f"s{len(made)}", name="Kitchen", driver=driver, pin=pin, **fields)
        instance = create_driver(config, pin_factory=pin_factory, sleep=fake.sleep)
        made.append(instance)
        return instance

    yield build
    for instance in made:
        instance.close()


@pytest.mark.parametrize("driver", ["relay", "power", "button"])
@pytest.mark.parametrize(("active_high", "idle_level"), [(True, False), (False, True)])
def test_creating_a_driver_never_unmutes(make, pin_factory, driver, active_high, idle_level):
    made = make(driver, active_high=active_high)
    assert made.output_active is False  # relay released / opto-coupler not pressing
    assert pin_factory.pin(OUT).state == idle_level
    assert pin_factory.pin(OUT).function == "output"


def test_the_factory_picks_the_class_and_refuses_unknown_drivers(make, pin_factory):
    assert type(make("relay")) is RelayDriver
    assert type(make("power", pin=18)) is PowerDriver
    assert type(make("button", pin=19)) is ButtonDriver
    with pytest.raises(ValueError, match="no driver called 'siren'"):
        create_driver(SpeakerConfig(id="s", name="S", driver="siren", pin=20), pin_factory=pin_factory)


def test_string_pin_specs_work(make, pin_factory):
    make("relay", pin="BOARD11").apply(False)  # BOARD11 is GPIO17
    assert pin_factory.pin(17).state is True


def test_a_relay_without_a_sense_line_switches_at_once_and_is_unconfirmed(make, pin_factory, fake):
    relay = make("relay")
    result = relay.apply(False)
    assert pin_factory.pin(OUT).state is True  # energised = unmuted
    assert (result.status, result.sensed_muted) == ("unconfirmed", None)
    relay.apply(True)
    assert pin_factory.pin(OUT).state is False
    assert fake.slept == []


def test_an_active_low_relay_board_is_driven_low_to_unmute(make, pin_factory):
    make("relay", active_high=False).apply(False)
    assert pin_factory.pin(OUT).state is False


@pytest.mark.parametrize(("sense_active_high", "pull", "muted_level"), [(True, "down", True), (False, "up", False)])
def test_the_sense_line_is_pulled_so_a_loose_wire_reads_not_muted(make, pin_factory, sense_active_high, pull,
                                                                  muted_level):
    relay = make("relay", sense_pin=SENSE, sense_active_high=sense_active_high)
    sense = pin_factory.pin(SENSE)
    assert sense.pull == pull
    assert relay.sensed_muted() is False  # nothing drives it: not muted
    (sense.drive_high if muted_level else sense.drive_low)()
    assert relay.sensed_muted() is True


def test_a_relay_with_a_sense_line_reads_it_after_the_settle_time(make, pin_factory, fake):
    relay = make("relay", sense_pin=SENSE, settle_ms=300)
    sense = pin_factory.pin(SENSE)
    sense.drive_high()  # muted
    assert relay.apply(True).status == "confirmed"  # nothing switched, the sense line agrees: no wait
    assert fake.slept == []
    sense.drive_low()
    result = relay.apply(False)
    assert fake.slept == [0.3]
    assert (result.status, result.sensed_muted) == ("confirmed", False)


def test_a_relay_whose_sense_line_disagrees_reports_a_mismatch(make, pin_factory, fake):
    relay = make("relay", sense_pin=SENSE)
    pin_factory.pin(SENSE).drive_high()  # the mute light stays on
    result = relay.apply(False)
    assert (result.status, result.sensed_muted) == ("mismatch", True)
    assert result.detail == "Kitchen: commanded unmuted, but its sense line says muted"


def test_the_button_presses_only_when_the_sense_line_disagrees(make, pin_factory, fake):
    button = make("button", sense_pin=SENSE, pulse_ms=250, settle_ms=300)
    speaker = SimulatedSpeaker(button)
    speaker.set_muted(True)
    assert button.apply(True).status == "confirmed"
    assert button.presses == 0
    result = button.apply(False)
    assert (result.status, result.sensed_muted, result.detail) == ("confirmed", False, "")
    assert button.presses == 1 and speaker.muted is False
    assert fake.slept == [0.25, 0.3]  # pressed for pulse_ms, then read after settle_ms
    out = pin_factory.pin(OUT)
    assert [s.state for s in out.states] == [False, True, False]
    assert out.state is False  # released after the pulse


def test_the_button_presses_once_more_when_the_first_press_did_not_take(make, fake):
    button = make("button", sense_pin=SENSE)
    speaker = SimulatedSpeaker(button)
    speaker.ignore_presses = 1
    result = button.apply(True)
    assert result.status == "confirmed" and speaker.muted is True
    assert button.presses == 2
    assert "the first press did not take" in result.detail


def test_the_button_gives_up_after_the_retry_and_reports_a_mismatch(make, fake):
    button = make("button", sense_pin=SENSE)
    speaker = SimulatedSpeaker(button)
    speaker.ignore_presses = 5
    result = button.apply(True)
    assert (result.status, result.sensed_muted) == ("mismatch", False)
    assert button.presses == 2
    assert "pressed its button 2 times" in result.detail


def test_a_button_without_a_sense_line_presses_when_the_command_changes(make, pin_factory, fake):
    button = make("button")
    assert button.apply(True).status == "unconfirmed"
    assert button.presses == 0  # the first command is taken as the speaker's state: no blind press
    button.apply(True)
    assert button.presses == 0
    button.apply(False)
    assert button.presses == 1
    button.apply(False)
    button.apply(True)
    assert button.presses == 2
    assert pin_factory.pin(OUT).state is False


def test_simulated_speakers_follow_relays_and_buttons(make, pin_factory):
    relay = make("relay", sense_pin=SENSE)
    button = make("button", pin=22, sense_pin=23)
    plain = make("power", pin=24)
    speakers = follow_outputs({"a": relay, "b": button, "c": plain}, pin_factory)
    assert set(speakers.speakers) == {relay.config.id, button.config.id}  # the power one has no sense line
    assert relay.apply(True).status == "confirmed"
    assert relay.apply(False).status == "confirmed"
    assert pin_factory.pin(SENSE).state is False
    assert button.apply(True).status == "confirmed"
    assert pin_factory.pin(23).state is True
    speakers.close()
    assert relay.apply(True).status == "mismatch"  # no longer followed


def test_closing_releases_the_pins_and_is_idempotent(make, pin_factory):
    relay = make("relay", sense_pin=SENSE)
    relay.apply(False)
    relay.close()
    relay.close()
    assert pin_factory.pin(OUT).function == "input"
    again = make("relay", sense_pin=SENSE)  # the pins can be claimed again
    assert again.output_active is False


def test_importing_the_bridge_chooses_no_pin_factory():
    code = (
        "from gpiozero import Device\n"
        "import device_bridge.engine, device_bridge.mute.simulated, device_bridge.store\n"
        "assert Device.pin_factory is None, Device.pin_factory\n"
        "print('lazy')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPIOZERO")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                            timeout=60)
    assert result.stdout.strip() == "lazy", result.stderr
