"""[deletion] in the bridge's config: optional, defaults that work, mistakes named by key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from device_bridge.config import ConfigError, DeletionConfig, load_config, loads_config

ROOT = Path(__file__).resolve().parents[2]
BASE = 'name = "Kitchen bridge"\n'


def test_no_section_means_the_defaults():
    assert loads_config(BASE).deletion == DeletionConfig(output_device="", voice="en-us", speed=150, watch_s=20.0,
                                                         unmute_settle_s=2.0)


def test_every_key():
    config = loads_config(BASE + '[deletion]\noutput_device = " USB Audio "\nvoice = "en-gb+f3"\nspeed = 120\n'
                                 "watch_s = 30\nunmute_settle_s = 45.5\n")
    assert config.deletion == DeletionConfig(output_device="USB Audio", voice="en-gb+f3", speed=120, watch_s=30.0,
                                             unmute_settle_s=45.5)


@pytest.mark.parametrize("line, key, words", [
    ("speed = 20", "deletion.speed", "20 is out of range (80-450)"),
    ('speed = "fast"', "deletion.speed", "must be words per minute"),
    ("watch_s = 2", "deletion.watch_s", "2 is out of range (5-120 seconds)"),
    ("watch_s = true", "deletion.watch_s", "must be a number of seconds"),
    ("unmute_settle_s = -1", "deletion.unmute_settle_s", "out of range (0-120 seconds)"),
    ('voice = "en us; rm -rf"', "deletion.voice", "must be an espeak-ng voice name"),
    ("output_device = 3", "deletion.output_device", "must be the loudspeaker's output device name"),
    ("wach_s = 20", "deletion.wach_s", "unknown key (did you mean 'watch_s'?)"),
])
def test_mistakes_name_the_key(line, key, words):
    with pytest.raises(ConfigError) as caught:
        loads_config(BASE + "[deletion]\n" + line + "\n")
    assert caught.value.key == key and words in caught.value.problem


def test_deletion_must_be_a_table():
    with pytest.raises(ConfigError, match="deletion: write it as a \\[deletion\\] table"):
        loads_config(BASE + "deletion = 1\n")


def test_the_example_configs_deletion_section_is_valid_when_switched_on():
    path = ROOT / "resources" / "pi" / "bridge.example.toml"
    assert load_config(path).deletion == DeletionConfig()
    text = path.read_text()
    section = text[text.index("# [deletion]"):]
    switched_on = text[:text.index("# [deletion]")] + re.sub(
        r"(?m)^# (\[deletion\]|output_device|voice|speed|watch_s|unmute_settle_s)( |$)", r"\1\2", section)
    assert loads_config(switched_on).deletion == DeletionConfig()
