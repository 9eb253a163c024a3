"""The speakers of the simulated home: read from the adverts file, or made up in bulk for benchmarks.

The adverts file (resources/simulated-home/adverts.json) holds real advertisements
copied from public sources plus a few marked synthetic. Each entry becomes a
`SimSpeaker` whose services carry the exact TXT bytes a device would send. TXT keys
ending in `_hex` hold binary values: they are decoded and sent as raw bytes under
the key without the suffix. A `txt` given as a list of `[key, value]` pairs keeps
duplicate keys; a JSON `null` value sends a bare key (a boolean attribute).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zeroconf import BadTypeInNameException, service_type_name

from app.discovery.records import build_txt
from app.resources import resource_path

KINDS = ("speaker", "display", "media-player", "bridge", "other")
_HEX_SUFFIX = "_hex"


def default_adverts_path() -> Path:
    """The bundled adverts file of the demo home."""
    return resource_path("simulated-home", "adverts.json")


@dataclass(frozen=True)
class SimService:
    """One DNS-SD service a simulated device advertises.

    Attributes:
        service_type: e.g. "_googlecast._tcp.local.".
        instance: the instance label, e.g. "Living Room" (may hold spaces, dots, '@', any Unicode).
        port: the SRV port.
        host: the SRV target, e.g. "Living-Room.local.".
        txt: the TXT rdata exactly as sent.
    """

    service_type: str
    instance: str
    port: int
    host: str
    txt: bytes

    @property
    def name(self) -> str:
        """The full service name, e.g. "Living Room._airplay._tcp.local."."""
        return f"{self.instance}.{self.service_type}"


@dataclass(frozen=True)
class SimSpeaker:
    """One simulated device and everything it advertises.

    Attributes:
        advert_id: the entry's id in the adverts file ("homepod-mini"), unique in a home.
        services: its services, in file order (a device's own record comes before group records).
        expect: what identification should conclude (vendor, model, kind, name, stable_id).
        synthetic: True when the entry is made up rather than copied from a public capture.
    """

    advert_id: str
    services: tuple[SimService, ...]
    expect: Mapping[str, Any] = field(default_factory=dict, hash=False)
    synthetic: bool = False

    @property
    def name(self) -> str | None:
        """The friendly name the device gives itself, when the adverts file says."""
        return self.expect.get("name")

    @property
    def hosts(self) -> tuple[str, ...]:
        """Its distinct host names, in order of first use."""
        return tuple(dict.fromkeys(service.host for service in self.services))


def load_adverts(path: str | Path | None = None) -> list[SimSpeaker]:
    """Read an adverts file (the bundled demo home by default).

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is not valid JSON or an entry is malformed; the
            message names the file, the advert id and the field.
    """
    path = Path(path) if path is not None else default_adverts_path()
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from err
    if not isinstance(document, dict) or not isinstance(document.get("adverts"), list):
        raise ValueError(f"{path}: expected an object with an 'adverts' list")
    speakers: list[SimSpeaker] = []
    seen: set[str] = set()
    for index, entry in enumerate(document["adverts"]):
        speaker = parse_advert(entry, source=str(path), index=index)
        if speaker.advert_id in seen:
            raise ValueError(f"{path}: advert {speaker.advert_id!r}: id: used by more than one advert")
        seen.add(speaker.advert_id)
        speakers.append(speaker)
    return speakers


def parse_advert(entry: Any, *, source: str = "", index: int | None = None) -> SimSpeaker:
    """Turn one adverts-file entry into a `SimSpeaker`, or raise ValueError naming the id and field.

    `source` (the file) and `index` (the entry's position) only make messages precise.
    """
    location = f"{source}: " if source else ""
    position = f" (adverts[{index}])" if index is not None else ""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{location}advert{position}: expected an object, got {type(entry).__name__}")
    advert_id = entry.get("id")
    if not isinstance(advert_id, str) or not advert_id.strip():
        raise ValueError(f"{location}advert{position}: id: expected a non-empty string, got {advert_id!r}")
    prefix = f"{location}advert {advert_id!r}"

    expect = entry.get("expect")
    if not isinstance(expect, Mapping):
        raise ValueError(f"{prefix}: expect: expected an object, got {expect!r}")
    if expect.get("kind") not in KINDS:
        raise ValueError(f"{prefix}: expect.kind: expected one of {', '.join(KINDS)}, got {expect.get('kind')!r}")
    synthetic = entry.get("synthetic", False)
    if not isinstance(synthetic, bool):
        raise ValueError(f"{prefix}: synthetic: expected true or false, got {synthetic!r}")

    raw_services = entry.get("services")
    if not isinstance(raw_services, list) or not raw_services:
        raise ValueError(f"{prefix}: services: expected a non-empty list")
    services = tuple(
        _parse_service(raw, f"{prefix}: services[{index}]") for index, raw in enumerate(raw_services)
    )
    return SimSpeaker(advert_id=advert_id, services=services, expect=dict(expect), synthetic=synthetic)


def _parse_service(raw: Any, where: str) -> SimService:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object")
    service_type = raw.get("type")
    if not isinstance(service_type, str) or not service_type.endswith(("._tcp.local.", "._udp.local.")):
        raise ValueError(f"{where}.type: expected e.g. '_name._tcp.local.', got {service_type!r}")
    instance = raw.get("instance")
    if not isinstance(instance, str) or not instance:
        raise ValueError(f"{where}.instance: expected a non-empty string, got {instance!r}")
    try:
        service_type_name(f"{instance}.{service_type}", strict=False)
    except BadTypeInNameException as err:
        raise ValueError(f"{where}.instance/type: not a valid service name: {err}") from err
    port = raw.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{where}.port: expected an integer 1-65535, got {port!r}")
    host = raw.get("host")
    if not isinstance(host, str) or not host.endswith(".local.") or len(host) <= len(".local."):
        raise ValueError(f"{where}.host: expected a name ending in '.local.', got {host!r}")
    return SimService(
        service_type=service_type,
        instance=instance,
        port=port,
        host=host,
        txt=_encode_txt(raw.get("txt", {}), f"{where}.txt"),
    )


def _encode_txt(txt: Any, where: str) -> bytes:
    if isinstance(txt, Mapping):
        items = list(txt.items())
    elif isinstance(txt, list) and all(isinstance(p, list) and len(p) == 2 for p in txt):
        items = [tuple(p) for p in txt]
    else:
        raise ValueError(f"{where}: expected an object or a list of [key, value] pairs")
    pairs: list[tuple[str, str | bytes | None]] = []
    for key, value in items:
        if not isinstance(key, str) or not key:
            raise ValueError(f"{where}: keys must be non-empty strings, got {key!r}")
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{where}.{key}: expected a string or null, got {value!r}")
        if key.endswith(_HEX_SUFFIX) and len(key) > len(_HEX_SUFFIX):
            try:
                pairs.append((key[: -len(_HEX_SUFFIX)], bytes.fromhex(value or "")))
            except ValueError as err:
                raise ValueError(f"{where}.{key}: not hexadecimal: {value!r}") from err
        else:
            pairs.append((key, value))
    try:
        return build_txt(pairs)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from err


# --- Made-up homes of any size, for benchmarks ------------------------------------------------

_ROOMS = (
    "Kitchen", "Living Room", "Bedroom", "Office", "Bathroom", "Hallway", "Dining Room", "Garage",
    "Nursery", "Guest Room", "Den", "Patio", "Attic", "Basement", "Studio", "Library", "Landing",
)
_CAST_MODELS = ("Google Home", "Google Home Mini", "Google Nest Mini", "Nest Audio")
_HOMEPOD_MODELS = {
    "AudioAccessory1,1": "HomePod",
    "AudioAccessory5,1": "HomePod mini",
    "AudioAccessory6,1": "HomePod (2nd generation)",
}
_SONOS_MODELS = ("One", "Era 100", "Era 300", "Move")  # all with microphones
_APPLE_OUI = "F4:34:F0"   # as in the real homepod-mini advert
_SONOS_OUI = "78:28:CA"   # as in the real sonos-s2-symfonisk advert


def synthetic_speakers(n: int, seed: int = 0) -> list[SimSpeaker]:
    """`n` distinct, plausible listening speakers: Cast speakers, AirPlay HomePods and Sonos in turn.

    Ids, MAC addresses, host and friendly names are unique within the list and
    the same for the same seed. Use a different seed for homes that run at the
    same time on one machine.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    rng = random.Random(seed)
    rooms = list(_ROOMS)
    rng.shuffle(rooms)
    used_macs: set[str] = set()

    def mac(oui: str) -> str:
        while True:
            candidate = oui + "".join(f":{rng.randrange(256):02X}" for _ in range(3))
            if candidate not in used_macs:
                used_macs.add(candidate)
                return candidate

    speakers = []
    for index in range(n):
        rounds, slot = divmod(index, len(rooms))
        name = rooms[slot] if rounds == 0 else f"{rooms[slot]} {rounds + 1}"
        advert_id = f"synthetic-{index + 1:03d}"
        maker = (_cast_speaker, _homepod, _sonos)[index % 3]
        speakers.append(maker(advert_id, name, rng, mac))
    return speakers


def _rng_hex(rng: random.Random, nbytes: int) -> str:
    return rng.getrandbits(8 * nbytes).to_bytes(nbytes, "big").hex().upper()


def _cast_speaker(advert_id: str, name: str, rng: random.Random, mac) -> SimSpeaker:
    device_uuid = uuid.UUID(int=rng.getrandbits(128), version=4)
    model = rng.choice(_CAST_MODELS)
    txt = build_txt([
        ("id", device_uuid.hex), ("cd", _rng_hex(rng, 16)), ("rm", _rng_hex(rng, 8)), ("ve", "05"),
        ("md", model), ("ic", "/setup/icon.png"), ("fn", name), ("ca", "198660"), ("st", "0"),
        ("bs", mac("FA:8F:CA").replace(":", "")), ("nf", "1"), ("rs", ""),
    ])
    service = SimService(
        "_googlecast._tcp.local.", f"{model.replace(' ', '-')}-{device_uuid.hex}", 8009, f"{device_uuid}.local.", txt
    )
    expect = {"vendor": "Google", "model": model, "kind": "speaker", "stable_id": device_uuid.hex, "name": name}
    return SimSpeaker(f"{advert_id}-cast", (service,), expect, synthetic=True)


def _homepod(advert_id: str, name: str, rng: random.Random, mac) -> SimSpeaker:
    model_code = rng.choice(sorted(_HOMEPOD_MODELS))
    device_id = mac(_APPLE_OUI)
    txt = build_txt([
        ("acl", "0"), ("deviceid", device_id), ("features", "0x4A7FCA00,0xBC354BD0"), ("flags", "0x18404"),
        ("gid", str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()), ("igl", "1"), ("gcgl", "1"),
        ("model", model_code), ("protovers", "1.1"), ("srcvers", "605.1"), ("osvers", "15.3"), ("vv", "2"),
    ])
    service = SimService("_airplay._tcp.local.", name, 7000, f"HomePod-{name.replace(' ', '-')}.local.", txt)
    expect = {
        "vendor": "Apple", "model": _HOMEPOD_MODELS[model_code], "kind": "speaker", "stable_id": device_id, "name": name,
    }
    return SimSpeaker(f"{advert_id}-homepod", (service,), expect, synthetic=True)


def _sonos(advert_id: str, name: str, rng: random.Random, mac) -> SimSpeaker:
    address = mac(_SONOS_OUI)
    bare = address.replace(":", "")
    player_id = f"RINCON_{bare}01400"
    model = rng.choice(_SONOS_MODELS)
    host = f"Sonos-{bare}.local."
    sonos = SimService(
        "_sonos._tcp.local.", f"Sonos-{bare}@{name}", 1443, host,
        build_txt([
            ("bootseq", str(rng.randrange(2, 80))), ("info", f"/api/v1/players/{player_id}/info"),
            ("mdnssequence", "0"), ("protovers", "1.26.3"), ("sslport", "1443"), ("variant", "0"), ("vers", "3"),
        ]),
    )
    airplay = SimService(
        "_airplay._tcp.local.", name, 7000, host,
        build_txt([
            ("manufacturer", "Sonos"), ("model", model), ("fv", "p20.66.4-23300"), ("srcvers", "366.0"),
            ("serialNumber", address.replace(":", "-") + ":G"),
        ]),
    )
    expect = {"vendor": "Sonos", "model": model, "kind": "speaker", "stable_id": player_id, "name": name}
    return SimSpeaker(f"{advert_id}-sonos", (sonos, airplay), expect, synthetic=True)
