"""Where a bridge's speakers send data, as frozen snapshots of the bridge's JSON (the /v1 destination routes).

Parsing is strict about types and lenient about extra fields; a malformed object raises ValueError, which the
session turns into BridgeFailed. Nothing here does I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def _text(data: dict, key: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} is not text")
    return value


def _int(data: dict, key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key!r} is not a whole number")
    return value


def _number(data: dict, key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key!r} is not a number")
    return float(value)


def _object(data: Any, what: str) -> dict:
    if not isinstance(data, dict):
        raise ValueError(f"{what} is a {type(data).__name__}, not an object")
    return data


def _strings(data: dict, key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key!r} is not a list of text")
    return tuple(value)


@dataclass(frozen=True)
class Destination:
    """A name (or an address, when the bridge saw no name) a speaker sent data to.

    Attributes:
        name, organisation (None: unknown), hosting (a cloud provider hosting others' services).
        bytes_up, bytes_down: in the range asked for (all kept when no range).
        first_seen, last_seen: epoch seconds. addresses: most recent first.
        blocked_by: ids of the speaker's blocks that cover it.
    """

    name: str
    organisation: str | None
    bytes_up: int
    bytes_down: int
    first_seen: float
    last_seen: float
    hosting: bool = False
    addresses: tuple[str, ...] = ()
    blocked_by: tuple[int, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Destination:
        data = _object(data, "a destination")
        blocked = data.get("blocked_by", [])
        if not isinstance(blocked, list) or not all(isinstance(b, int) for b in blocked):
            raise ValueError("'blocked_by' is not a list of ids")
        return cls(name=_text(data, "name"), organisation=_text(data, "organisation", optional=True),
                   bytes_up=_int(data, "bytes_up"), bytes_down=_int(data, "bytes_down"),
                   first_seen=_number(data, "first_seen"), last_seen=_number(data, "last_seen"),
                   hosting=bool(data.get("hosting", False)), addresses=_strings(data, "addresses"),
                   blocked_by=tuple(blocked))

    @property
    def shown_organisation(self) -> str:
        """The organisation as a table shows it."""
        return self.organisation or "unknown organisation"


@dataclass(frozen=True)
class OrganisationSeries:
    """One organisation's bytes per step (or a domain's, for names without a known organisation)."""

    organisation: str | None
    label: str
    up: tuple[int, ...]
    down: tuple[int, ...]


@dataclass(frozen=True)
class DestinationHistory:
    """Bytes per organisation over time: series[k].up[i] covers [t0 + i * step, t0 + (i + 1) * step)."""

    speaker_id: str
    t0: float
    step: float
    series: tuple[OrganisationSeries, ...]

    @classmethod
    def from_json(cls, data: Any) -> DestinationHistory:
        data = _object(data, "a destination history")
        series = []
        for item in data.get("series", []):
            item = _object(item, "a series")
            up, down = item.get("up"), item.get("down")
            if not isinstance(up, list) or not isinstance(down, list) or len(up) != len(down):
                raise ValueError("a series' up and down are not lists of the same length")
            series.append(OrganisationSeries(_text(item, "organisation", optional=True), _text(item, "label"),
                                             tuple(int(v) for v in up), tuple(int(v) for v in down)))
        step = _number(data, "step")
        if step <= 0:
            raise ValueError("'step' is not positive")
        return cls(_text(data, "speaker_id"), _number(data, "t0"), step, tuple(series))


@dataclass(frozen=True)
class ActivationDestination:
    name: str
    organisation: str | None
    bytes_up: int
    bytes_down: int


@dataclass(frozen=True)
class ActivationDestinations:
    """Where one activation's bytes went, busiest first; `complete` is False until the bridge has read it all."""

    activation_id: int
    complete: bool
    destinations: tuple[ActivationDestination, ...]

    @classmethod
    def from_json(cls, data: Any) -> ActivationDestinations:
        data = _object(data, "activation destinations")
        items = data.get("destinations", [])
        if not isinstance(items, list):
            raise ValueError("'destinations' is not a list")
        found = []
        for item in items:
            item = _object(item, "a destination")
            found.append(ActivationDestination(_text(item, "name"), _text(item, "organisation", optional=True),
                                               _int(item, "bytes_up"), _int(item, "bytes_down")))
        return cls(_int(data, "activation_id"), bool(data.get("complete", False)), tuple(found))


@dataclass(frozen=True)
class Block:
    """A destination block a bridge enforces for one speaker.

    Attributes:
        id, speaker_id, kind ("name", "organisation", "preset"), value, title (in words), created.
        dropped_packets, dropped_bytes: what it dropped so far.
        addresses: what it drops now. also_affects: other names at those addresses, stopped too.
    """

    id: int
    speaker_id: str
    kind: str
    value: str
    title: str
    created: float
    dropped_packets: int = 0
    dropped_bytes: int = 0
    addresses: tuple[str, ...] = ()
    also_affects: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Block:
        data = _object(data, "a block")
        return cls(id=_int(data, "id"), speaker_id=_text(data, "speaker_id"), kind=_text(data, "kind"),
                   value=_text(data, "value"), title=_text(data, "title"), created=_number(data, "created"),
                   dropped_packets=_int(data, "dropped_packets"), dropped_bytes=_int(data, "dropped_bytes"),
                   addresses=_strings(data, "addresses"), also_affects=_strings(data, "also_affects"))


@dataclass(frozen=True)
class BlockPreset:
    """A one-click block of documented telemetry names, with its sources ({"url" or "what", "shows"})."""

    id: str
    title: str
    organisation: str
    names: tuple[str, ...]
    why: str
    caveat: str = ""
    sources: tuple[dict, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> BlockPreset:
        data = _object(data, "a preset")
        sources = data.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
            raise ValueError("'sources' is not a list of objects")
        return cls(_text(data, "id"), _text(data, "title"), _text(data, "organisation"), _strings(data, "names"),
                   _text(data, "why"), _text(data, "caveat", optional=True) or "", tuple(sources))


@dataclass(frozen=True)
class NewOrganisation:
    """A bridge's `new_destination_org` event: a speaker sent data to an organisation (or unknown domain) for
    the first time.

    Attributes:
        bridge_id, speaker_id: whose speaker.
        organisation: None for a domain the bridge's table does not know. domain: the name's domain.
        name: the first name of it. time: epoch seconds. hosting: a cloud provider's name.
    """

    bridge_id: str
    speaker_id: str
    organisation: str | None
    domain: str
    name: str
    time: float
    hosting: bool = False

    @classmethod
    def from_event(cls, bridge_id: str, speaker_id: str, data: Any) -> NewOrganisation:
        data = _object(data, "the event's data")
        return cls(bridge_id, speaker_id, _text(data, "organisation", optional=True), _text(data, "domain"),
                   _text(data, "name"), _number(data, "time"), bool(data.get("hosting", False)))

    @property
    def who(self) -> str:
        """'Amazon', or 'example.net (an organisation Earmuff does not know)'."""
        return self.organisation or f"{self.domain} (an organisation Earmuff does not know)"
