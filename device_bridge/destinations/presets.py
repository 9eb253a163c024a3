"""Block presets for documented telemetry endpoints (resources/destinations/presets.json)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.resources import resource_path
from device_bridge.destinations.organisations import normalise_name


@dataclass(frozen=True)
class Preset:
    """A one-click block of a vendor's telemetry names.

    Attributes:
        id: "amazon-device-metrics"...
        title, organisation, why, caveat: what the app shows.
        names: the names it blocks (each with every name under it).
        sources: where the names come from ({"url" or "what", "shows"} dicts).
    """

    id: str
    title: str
    organisation: str
    names: tuple[str, ...]
    why: str
    sources: tuple[dict[str, str], ...]
    caveat: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "organisation": self.organisation, "names": list(self.names),
                "why": self.why, "caveat": self.caveat, "sources": list(self.sources)}


def load_presets(path: Path | None = None) -> dict[str, Preset]:
    """The presets by id (default: the shipped file); ValueError names what is wrong."""
    path = path or resource_path("destinations", "presets.json")
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    presets: dict[str, Preset] = {}
    for entry in data["presets"]:
        names = tuple(entry["names"])
        if not names or any(normalise_name(n) != n for n in names):
            raise ValueError(f"preset {entry['id']!r}: names must be lower-case host names")
        if not entry.get("sources"):
            raise ValueError(f"preset {entry['id']!r} has no source: a preset needs one")
        presets[entry["id"]] = Preset(entry["id"], entry["title"], entry["organisation"], names, entry["why"],
                                      tuple(entry["sources"]), entry.get("caveat", ""))
    return presets


@functools.cache
def shipped_presets() -> dict[str, Preset]:
    return load_presets()
