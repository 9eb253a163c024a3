"""The bridge's configuration file: what the bridge is called and which speaker hangs on which pin.

The file is TOML, read with `tomllib`. Every key, with its default::

    name = "Kitchen bridge"            # required: shown in the app and advertised over mDNS
    timezone = "Europe/Berlin"         # IANA name; schedules are wall-clock times in this zone (default "UTC")
    listen = "0.0.0.0"                 # address the HTTPS API listens on
    port = 8443
    pairing_button_pin = 27            # optional: a push button that opens pairing for 60 s
    traffic_source = "nftables"        # how uplink is measured: "nftables", "sysfs", "simulated" or "none"
                                       # (default "nftables" if a speaker has mac or ip, "sysfs" if one has
                                       # only an interface, else "none")
    retention_days = 90                # how long activations are kept (1-3650)
    traffic_history_hours = 24         # how long the 1-second uplink/downlink history is kept (1-168)

    [[speaker]]
    id = "kitchen"                     # required: a-z, 0-9 and "-", at most 32 characters, unique
    name = "Kitchen Echo"              # default: the id
    driver = "relay"                   # required: "relay", "button", "power" or "network"
    pin = 17                           # required (not for "network"): output pin: BCM 0-27, or "GPIO17",
                                       # "BCM17", "BOARD11", "J8:11"
    active_high = true                 # the relay board (or opto-coupler) switches on a high output
    pulse_ms = 250                     # button driver: how long the opto-coupler "presses" (20-2000)
    sense_pin = 22                     # optional: input that is active while the speaker is muted
    sense_active_high = true           # the sense input reads high while the speaker is muted
    settle_ms = 300                    # wait after acting before reading the sense line (0-10000)
    override_pin = 5                   # optional: local push button (to ground) that toggles this speaker
    mac = "68:db:f5:90:19:64"          # optional: the speaker's MAC address (counts its traffic with nftables)
    ip = "10.77.0.2"                   # optional: the speaker's IP address (the same, by address)
    interface = "eth1"                 # optional: a network interface only this speaker uses (sysfs counters)
    network_mute = false               # also drop the speaker's internet traffic while muted (needs mac or ip)

    [microphone]                       # optional: a USB microphone on the bridge, near some speakers
    enabled = true                     # false: keep the section but use no microphone (default true)
    device = ""                        # the input device's name, or part of it; "" = the default input
    speakers = ["kitchen"]             # ids of the speakers it is near (default: every speaker)

    [destinations]                     # optional: where each speaker sends data (needs traffic_source "nftables")
    interface = "wlan0"                # required: the speaker-facing interface; DNS answers and TLS server
                                       # names are read there (needs CAP_NET_RAW)
    enabled = true                     # false: keep the section but observe nothing (default true)

    [deletion]                         # optional: how voice deletions are spoken (defaults work without it)
    output_device = ""                 # the loudspeaker's output device, or part of its name; "" = the default
    voice = "en-us"                    # espeak-ng voice the phrases are spoken in
    speed = 150                        # espeak-ng words per minute (80-450)
    watch_s = 20                       # how long after a phrase an upload still counts (5-120 seconds)
    unmute_settle_s = 2                # wait after lifting a mute before speaking (0-120 seconds)

The microphone tells whether anyone spoke around an activation (`no_speech_nearby`) and gives the app the
room's sound level; audio is measured in memory and never stored or sent.

Voice deletions (device_bridge/deletion) speak a vendor's delete command ("Alexa, delete everything I said
today") through a loudspeaker on the bridge, synthesised with espeak-ng; `[deletion]` tunes that.

The "network" driver mutes by dropping the speaker's internet traffic with an nftables rule; it uses no
pin and needs `mac` or `ip`.

Mistakes raise `ConfigError`, whose message starts with the key path:
``speaker[1].pin: 41 is not a GPIO pin (BCM 0-27)``,
``speaker[0].pinn: unknown key (did you mean 'pin'?)``.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DRIVERS = ("relay", "button", "power", "network")
TRAFFIC_SOURCES = ("nftables", "sysfs", "simulated", "none")
_MAC = re.compile(r"(?i)[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}")
_INTERFACE = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_SPEAKER_ID = re.compile(r"[a-z0-9-]{1,32}")
_MAX_BCM = 27
# Physical header pin (BOARD / J8 numbering) -> BCM GPIO number, for the 40-pin header of every
# Pi since the B+. Header pins missing here are power or ground.
_BOARD_TO_BCM = {
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10,
    21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19,
    36: 16, 37: 26, 38: 20, 40: 21,
}
_PIN_SPEC = re.compile(r"(?i)(?:(GPIO|BCM)(\d+)|(BOARD|J8:)(\d+)|(\d+))")


class ConfigError(ValueError):
    """The configuration is unusable; `str()` names the key path and the problem.

    Attributes:
        key: where the problem is ("speaker[1].pin", "timezone", or the file name for syntax errors).
        problem: what is wrong, in plain words.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class SpeakerConfig:
    """One speaker the bridge mutes, and how it is wired (see the module docstring for the keys)."""

    id: str
    name: str
    driver: str
    pin: int | str | None  # None only for the "network" driver
    active_high: bool = True
    pulse_ms: int = 250
    sense_pin: int | str | None = None
    sense_active_high: bool = True
    settle_ms: int = 300
    override_pin: int | str | None = None
    mac: str | None = None  # lowercase, colon-separated
    ip: str | None = None
    interface: str | None = None
    network_mute: bool = False

    @property
    def measurable(self) -> bool:
        """True if the speaker's traffic can be told apart by nftables (it has a mac or an ip)."""
        return self.mac is not None or self.ip is not None


@dataclass(frozen=True)
class MicrophoneConfig:
    """The bridge's room microphone ([microphone]): which input device, and which speakers it is near."""

    device: str = ""  # "" = the default input
    speakers: tuple[str, ...] = ()  # speaker ids; the config fills in every speaker when the key is left out


@dataclass(frozen=True)
class DestinationsConfig:
    """[destinations]: observe where each speaker sends data on the speaker-facing interface."""

    interface: str


@dataclass(frozen=True)
class DeletionConfig:
    """[deletion]: the loudspeaker and voice of voice deletions, and how long a run waits (see the module
    docstring for the keys)."""

    output_device: str = ""  # "" = the default output
    voice: str = "en-us"
    speed: int = 150
    watch_s: float = 20.0
    unmute_settle_s: float = 2.0


@dataclass(frozen=True)
class BridgeConfig:
    """The whole bridge: its name, time zone, where it listens, its speakers, and how traffic is measured."""

    name: str
    timezone: str = "UTC"
    listen: str = "0.0.0.0"
    port: int = 8443
    pairing_button_pin: int | str | None = None
    speakers: tuple[SpeakerConfig, ...] = ()
    traffic_source: str = "none"
    retention_days: int = 90
    traffic_history_hours: int = 24
    microphone: MicrophoneConfig | None = None
    destinations: DestinationsConfig | None = None
    deletion: DeletionConfig = DeletionConfig()

    def speaker(self, speaker_id: str) -> SpeakerConfig:
        """The speaker with this id; KeyError if there is none."""
        for speaker in self.speakers:
            if speaker.id == speaker_id:
                return speaker
        raise KeyError(speaker_id)


_BRIDGE_KEYS = (
    "name", "timezone", "listen", "port", "pairing_button_pin", "speaker", "traffic_source", "retention_days",
    "traffic_history_hours", "microphone", "destinations", "deletion",
)
_DELETION_KEYS = ("output_device", "voice", "speed", "watch_s", "unmute_settle_s")
_VOICE = re.compile(r"[A-Za-z0-9_+/-]{1,40}")
_MICROPHONE_KEYS = ("enabled", "device", "speakers")
_SPEAKER_KEYS = (
    "id", "name", "driver", "pin", "active_high", "pulse_ms", "sense_pin", "sense_active_high",
    "settle_ms", "override_pin", "mac", "ip", "interface", "network_mute",
)


def load_config(path: Path) -> BridgeConfig:
    """Read and check the TOML file at `path`; ConfigError says what is wrong and where."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(str(path), f"cannot read it: {error.strerror or error}") from None
    return parse_config(data)


def loads_config(text: str) -> BridgeConfig:
    """Like `load_config`, from a string (for tests and `--check`-style tools)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("config", f"not valid TOML: {error}") from None
    return parse_config(data)


def parse_config(data: dict[str, Any]) -> BridgeConfig:
    """Check an already parsed TOML document and turn it into a BridgeConfig."""
    _reject_unknown(data, _BRIDGE_KEYS, "")
    name = _text(data, "name", "", required=True, example='name = "Kitchen bridge"')
    timezone = _timezone(data.get("timezone", "UTC"))
    listen = data.get("listen", "0.0.0.0")
    if not isinstance(listen, str):
        raise ConfigError("listen", f"must be an IP address in quotes, like \"0.0.0.0\", not {listen!r}")
    try:
        ipaddress.ip_address(listen)
    except ValueError:
        raise ConfigError("listen", f"{listen!r} is not an IP address (use \"0.0.0.0\" for every interface)") from None
    port = _integer(data, "port", "", 8443, 1, 65535, "a port number")
    pins = _PinRegistry()
    pairing_pin = _optional_pin(data, "pairing_button_pin", "", pins)

    raw_speakers = data.get("speaker", [])
    if isinstance(raw_speakers, dict):
        raise ConfigError("speaker", "write each speaker as a [[speaker]] table (two brackets)")
    if not isinstance(raw_speakers, list):
        raise ConfigError("speaker", "must be a list of [[speaker]] tables")
    speakers: list[SpeakerConfig] = []
    seen: dict[tuple[str, str], str] = {}  # ("id" | "mac" | "ip" | "interface", value) -> speaker[n]
    for index, raw in enumerate(raw_speakers):
        where = f"speaker[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(where, "must be a [[speaker]] table")
        speaker = _speaker(raw, where, pins)
        for key in ("id", "mac", "ip", "interface"):
            value = getattr(speaker, key)
            if value is None:
                continue
            if (key, value) in seen:
                raise ConfigError(f"{where}.{key}", f"{value!r} is already the {key} of {seen[key, value]}")
            seen[key, value] = where
        speakers.append(speaker)
    return BridgeConfig(
        name=name,
        timezone=timezone,
        listen=listen,
        port=port,
        pairing_button_pin=pairing_pin,
        speakers=tuple(speakers),
        traffic_source=_traffic_source(data, speakers),
        retention_days=_integer(data, "retention_days", "", 90, 1, 3650, "a number of days"),
        traffic_history_hours=_integer(data, "traffic_history_hours", "", 24, 1, 168, "a number of hours"),
        microphone=_microphone(data, speakers),
        destinations=_destinations(data, speakers),
        deletion=_deletion(data),
    )


def _deletion(data: dict[str, Any]) -> DeletionConfig:
    if "deletion" not in data:
        return DeletionConfig()
    raw = data["deletion"]
    if not isinstance(raw, dict):
        raise ConfigError("deletion", "write it as a [deletion] table (one pair of brackets)")
    _reject_unknown(raw, _DELETION_KEYS, "deletion")
    device = raw.get("output_device", "")
    if not isinstance(device, str) or len(device) > 200:
        raise ConfigError("deletion.output_device", "must be the loudspeaker's output device name (or part of it) "
                                                    f'in quotes, or "" for the default output, not {device!r}')
    voice = raw.get("voice", DeletionConfig.voice)
    if not isinstance(voice, str) or not _VOICE.fullmatch(voice):
        raise ConfigError("deletion.voice", f'must be an espeak-ng voice name like "en-us" or "en-gb", not {voice!r} '
                                            "(list them with: espeak-ng --voices)")
    return DeletionConfig(
        output_device=device.strip(),
        voice=voice,
        speed=_integer(raw, "speed", "deletion.", DeletionConfig.speed, 80, 450, "words per minute"),
        watch_s=_seconds(raw, "watch_s", "deletion.", DeletionConfig.watch_s, 5, 120),
        unmute_settle_s=_seconds(raw, "unmute_settle_s", "deletion.", DeletionConfig.unmute_settle_s, 0, 120),
    )


def _seconds(table: dict[str, Any], key: str, prefix: str, default: float, low: float, high: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{prefix}{key}", f"must be a number of seconds ({low:g}-{high:g}) without quotes, "
                                            f"not {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{prefix}{key}", f"{value:g} is out of range ({low:g}-{high:g} seconds)")
    return float(value)


def _destinations(data: dict[str, Any], speakers: list[SpeakerConfig]) -> DestinationsConfig | None:
    if "destinations" not in data:
        return None
    raw = data["destinations"]
    if not isinstance(raw, dict):
        raise ConfigError("destinations", "write it as a [destinations] table (one pair of brackets)")
    _reject_unknown(raw, ("enabled", "interface"), "destinations")
    if not _flag(raw, "enabled", "destinations.", True):
        return None
    if "interface" not in raw:
        raise ConfigError("destinations.interface", 'missing: the interface the speakers are on, like "wlan0"')
    interface = _interface(raw, "destinations.")
    if _traffic_source(data, speakers) != "nftables":
        raise ConfigError("destinations", 'needs traffic_source = "nftables" (and speakers with mac or ip): the '
                                          "bytes per destination are counted in the bridge's nftables table")
    return DestinationsConfig(interface=interface)


def _microphone(data: dict[str, Any], speakers: list[SpeakerConfig]) -> MicrophoneConfig | None:
    if "microphone" not in data:
        return None
    raw = data["microphone"]
    if not isinstance(raw, dict):
        raise ConfigError("microphone", "write it as a [microphone] table (one pair of brackets)")
    _reject_unknown(raw, _MICROPHONE_KEYS, "microphone")
    if not _flag(raw, "enabled", "microphone.", True):
        return None
    device = raw.get("device", "")
    if not isinstance(device, str) or len(device) > 200:
        raise ConfigError("microphone.device", "must be the microphone's name (or part of it) in quotes, "
                                               f'or "" for the default input, not {device!r}')
    ids = [s.id for s in speakers]
    if "speakers" not in raw:
        if not ids:
            raise ConfigError("microphone", "there is no [[speaker]] for the microphone to be near")
        return MicrophoneConfig(device=device.strip(), speakers=tuple(ids))
    chosen = raw["speakers"]
    if not isinstance(chosen, list) or not chosen or not all(isinstance(c, str) for c in chosen):
        raise ConfigError("microphone.speakers", 'must be a list of speaker ids, like ["kitchen", "living-room"] '
                                                 "(leave it out for every speaker)")
    for speaker_id in chosen:
        if speaker_id not in ids:
            raise ConfigError("microphone.speakers", f"{speaker_id!r} is not the id of a [[speaker]]"
                                                     f"{_did_you_mean(speaker_id, ids)}")
    return MicrophoneConfig(device=device.strip(), speakers=tuple(dict.fromkeys(chosen)))


def _traffic_source(data: dict[str, Any], speakers: list[SpeakerConfig]) -> str:
    by_address = any(s.measurable for s in speakers)
    by_interface = any(s.interface is not None for s in speakers)
    if "traffic_source" not in data:
        return "nftables" if by_address else "sysfs" if by_interface else "none"
    source = data["traffic_source"]
    if source not in TRAFFIC_SOURCES:
        hint = _did_you_mean(str(source), TRAFFIC_SOURCES)
        raise ConfigError("traffic_source", f"{source!r} is not a traffic source; choose one of "
                                            f"{_quoted(TRAFFIC_SOURCES)}{hint}")
    if source == "nftables" and not by_address:
        raise ConfigError("traffic_source", '"nftables" counts speakers by mac or ip, and no speaker has either')
    if source == "sysfs" and not by_interface:
        raise ConfigError("traffic_source", '"sysfs" reads the counters of a speaker\'s own interface, and no '
                                            "speaker has an interface")
    return source


def _speaker(raw: dict[str, Any], where: str, pins: _PinRegistry) -> SpeakerConfig:
    _reject_unknown(raw, _SPEAKER_KEYS, where)
    prefix = f"{where}."
    speaker_id = raw.get("id")
    if speaker_id is None:
        raise ConfigError(f"{prefix}id", 'missing: every speaker needs an id, like id = "kitchen"')
    if not isinstance(speaker_id, str) or not _SPEAKER_ID.fullmatch(speaker_id):
        raise ConfigError(
            f"{prefix}id", f"{speaker_id!r} is not a usable id (1-32 of a-z, 0-9 and '-', like \"kitchen-echo\")"
        )
    name = _text(raw, "name", prefix, default=speaker_id)
    driver = raw.get("driver")
    if driver is None:
        raise ConfigError(f"{prefix}driver", f"missing: choose one of {_quoted(DRIVERS)}")
    if driver not in DRIVERS:
        hint = _did_you_mean(str(driver), DRIVERS)
        raise ConfigError(f"{prefix}driver", f"{driver!r} is not a driver; choose one of {_quoted(DRIVERS)}{hint}")
    mac = _mac(raw, prefix)
    ip = _ip(raw, prefix)
    interface = _interface(raw, prefix)
    network_mute = _flag(raw, "network_mute", prefix, False)
    if driver == "network":
        if "pin" in raw:
            raise ConfigError(f"{prefix}pin", 'the "network" driver mutes with an nftables rule and uses no pin')
        if "sense_pin" in raw:
            raise ConfigError(f"{prefix}sense_pin", 'the "network" driver checks its own drop rule; '
                                                    "it has no sense line")
        if mac is None and ip is None:
            raise ConfigError(f"{prefix}mac", 'missing: the "network" driver needs the speaker\'s mac or ip '
                                              "to match its traffic")
        pin = None
    else:
        if "pin" not in raw:
            raise ConfigError(f"{prefix}pin", "missing: the output pin that drives the relay or opto-coupler")
        pin = _pin(raw["pin"], f"{prefix}pin", pins)
        if network_mute and mac is None and ip is None:
            raise ConfigError(f"{prefix}network_mute", "needs the speaker's mac or ip to match its traffic")
    sense_pin = _optional_pin(raw, "sense_pin", prefix, pins)
    override_pin = _optional_pin(raw, "override_pin", prefix, pins)
    return SpeakerConfig(
        id=speaker_id,
        name=name,
        driver=driver,
        pin=pin,
        active_high=_flag(raw, "active_high", prefix, True),
        pulse_ms=_integer(raw, "pulse_ms", prefix, 250, 20, 2000, "a number of milliseconds"),
        sense_pin=sense_pin,
        sense_active_high=_flag(raw, "sense_active_high", prefix, True),
        settle_ms=_integer(raw, "settle_ms", prefix, 300, 0, 10000, "a number of milliseconds"),
        override_pin=override_pin,
        mac=mac,
        ip=ip,
        interface=interface,
        network_mute=network_mute,
    )


def _mac(table: dict[str, Any], prefix: str) -> str | None:
    if "mac" not in table:
        return None
    value = table["mac"]
    if not isinstance(value, str) or not _MAC.fullmatch(value.strip()):
        raise ConfigError(f"{prefix}mac", f'{value!r} is not a MAC address (write it like "68:db:f5:90:19:64")')
    mac = value.strip().lower().replace("-", ":")
    if int(mac[:2], 16) & 1:
        raise ConfigError(f"{prefix}mac", f"{mac} is a multicast address, not a device's")
    if mac == "00:00:00:00:00:00":
        raise ConfigError(f"{prefix}mac", f"{mac} is not a device's address")
    return mac


def _ip(table: dict[str, Any], prefix: str) -> str | None:
    if "ip" not in table:
        return None
    value = table["ip"]
    try:
        address = ipaddress.ip_address(value.strip() if isinstance(value, str) else value)
    except ValueError:
        address = None
    if not isinstance(value, str) or address is None:
        raise ConfigError(f"{prefix}ip", f'{value!r} is not an IP address (write it like "192.168.4.20")')
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        raise ConfigError(f"{prefix}ip", f"{address} is not a speaker's address (unspecified, multicast or loopback)")
    return str(address)


def _interface(table: dict[str, Any], prefix: str) -> str | None:
    if "interface" not in table:
        return None
    value = table["interface"]
    if not isinstance(value, str) or not _INTERFACE.fullmatch(value) or value in (".", ".."):
        raise ConfigError(f"{prefix}interface", f'{value!r} is not a network interface name (like "eth1"; '
                                                "at most 15 of letters, digits, '_', '.', '-')")
    return value


def _reject_unknown(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    prefix = f"{where}." if where else ""
    for key in table:
        if key not in known:
            hint = _did_you_mean(key, known)
            raise ConfigError(f"{prefix}{key}", f"unknown key{hint}")


def _did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _quoted(words: tuple[str, ...]) -> str:
    return ", ".join(f'"{w}"' for w in words)


def _text(table: dict[str, Any], key: str, prefix: str, default: str | None = None, *,
          required: bool = False, example: str = "") -> str:
    if key not in table:
        if required:
            raise ConfigError(f"{prefix}{key}", f"missing{f' (for example: {example})' if example else ''}")
        assert default is not None
        return default
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{prefix}{key}", f"must be some text in quotes, not {value!r}")
    if len(value) > 64:
        raise ConfigError(f"{prefix}{key}", "is too long (at most 64 characters)")
    return value.strip()


def _flag(table: dict[str, Any], key: str, prefix: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{prefix}{key}", f"must be true or false, not {value!r}")
    return value


def _integer(table: dict[str, Any], key: str, prefix: str, default: int, low: int, high: int, what: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{prefix}{key}", f"must be {what} ({low}-{high}) without quotes, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{prefix}{key}", f"{value} is out of range ({low}-{high})")
    return value


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("timezone", f'must be a time zone name in quotes, like "Europe/Berlin", not {value!r}')
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, IsADirectoryError, UnicodeEncodeError):
        hint = _did_you_mean(value, sorted(zoneinfo.available_timezones()))
        raise ConfigError(
            "timezone", f'{value!r} is not a known time zone (use an IANA name like "Europe/Berlin"){hint}'
        ) from None
    return value


def bcm_number(spec: int | str) -> int:
    """The BCM GPIO number a pin spec names (17, "GPIO17", "BCM17", "BOARD11", "J8:11"); ValueError if none."""
    if isinstance(spec, bool):
        raise ValueError(f"{spec!r} is not a pin")
    if isinstance(spec, int):
        if 0 <= spec <= _MAX_BCM:
            return spec
        raise ValueError(f"{spec} is not a GPIO pin (BCM 0-{_MAX_BCM})")
    if not isinstance(spec, str):
        raise ValueError(f"{spec!r} is not a pin")
    match = _PIN_SPEC.fullmatch(spec.strip())
    if match is None:
        raise ValueError(f'{spec!r} is not a pin (write 17, "GPIO17", "BOARD11" or "J8:11")')
    bcm_text = match.group(2) or match.group(5)
    if bcm_text is not None:
        number = int(bcm_text)
        if number > _MAX_BCM:
            raise ValueError(f"{spec!r} is not a GPIO pin (BCM 0-{_MAX_BCM})")
        return number
    header = int(match.group(4))
    if header not in _BOARD_TO_BCM:
        if 1 <= header <= 40:
            raise ValueError(f"{spec!r} is a power or ground pin of the header, not a GPIO")
        raise ValueError(f"{spec!r} is not a pin of the 40-pin header (1-40)")
    return _BOARD_TO_BCM[header]


class _PinRegistry:
    """Remembers which key took which GPIO, to refuse the same pin twice."""

    def __init__(self) -> None:
        self._owners: dict[int, str] = {}

    def claim(self, bcm: int, key: str, spec: int | str) -> None:
        if bcm in self._owners:
            raise ConfigError(key, f"{_describe(spec, bcm)} is already used by {self._owners[bcm]}")
        self._owners[bcm] = key


def _describe(spec: int | str, bcm: int) -> str:
    return f"GPIO{bcm}" if isinstance(spec, int) or str(spec).upper() == f"GPIO{bcm}" else f"{spec} (GPIO{bcm})"


def _pin(value: Any, key: str, pins: _PinRegistry) -> int | str:
    try:
        bcm = bcm_number(value)
    except ValueError as error:
        raise ConfigError(key, str(error)) from None
    pins.claim(bcm, key, value)
    return value.strip() if isinstance(value, str) else value


def _optional_pin(table: dict[str, Any], name: str, prefix: str, pins: _PinRegistry) -> int | str | None:
    if name not in table:
        return None
    return _pin(table[name], f"{prefix}{name}", pins)


def local_timezone_name() -> str:
    """This machine's IANA time zone name if it can be told ($TZ, /etc/timezone, /etc/localtime), else "UTC"."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if not name:
            continue
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, IsADirectoryError, UnicodeEncodeError):
            continue
        return name
    return "UTC"


def simulated_config(timezone: str | None = None) -> BridgeConfig:
    """The demo bridge `earmuff-bridge --simulate` runs: one speaker per hardware driver.

    kitchen: relay with a sense line; bedroom: button (opto-coupler) with a sense line;
    living-room: power relay without a sense line (its mute shows as unconfirmed).
    Their traffic comes from the simulated source (device_bridge.traffic.simulated), and a simulated room
    microphone near all three hears their users (device_bridge.simulated_microphone).
    The time zone defaults to this machine's, so schedule times mean what the user expects.
    """
    return BridgeConfig(
        name="Demo bridge",
        timezone=timezone or local_timezone_name(),
        listen="127.0.0.1",
        port=8443,
        speakers=(
            SpeakerConfig(id="kitchen", name="Kitchen speaker", driver="relay", pin=17, sense_pin=27),
            SpeakerConfig(id="bedroom", name="Bedroom speaker", driver="button", pin=22, sense_pin=23),
            SpeakerConfig(id="living-room", name="Living room speaker", driver="power", pin=24),
        ),
        traffic_source="simulated",
        microphone=MicrophoneConfig(speakers=("kitchen", "bedroom", "living-room")),
    )
