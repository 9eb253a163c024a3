"""Destination names: which ones are acceptable, and which organisation each belongs to (resources/destinations).

Names come off the wire (DNS answers, TLS server names), so anything that is not a plausible host name is
refused before it reaches the store or the app: letters, digits, "-" and "_" in labels of at most 63
characters, at most 253 in all, compared in lower case without a trailing dot. Internationalised names
stay in their ASCII form (xn--...).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.resources import resource_path

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def normalise_name(raw: str | bytes) -> str | None:
    """`raw` as a lower-case host name without a trailing dot, or None if it is not one."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
    name = raw.strip().lower().rstrip(".")
    if not name or len(name) > 253 or "." not in name:
        return None
    if not all(_LABEL.fullmatch(label) for label in name.split(".")):
        return None
    return name


def domain_of(name: str) -> str:
    """The name's last two labels ("metrics.example.net" -> "example.net"): its owner when no organisation
    is known. Approximate on purpose (no public-suffix list on the bridge): "bbc.co.uk" gives "co.uk"."""
    return ".".join(name.split(".")[-2:])


def under(name: str, suffix: str) -> bool:
    """Whether `name` is `suffix` or a name below it (on a label boundary)."""
    return name == suffix or name.endswith("." + suffix)


@dataclass(frozen=True)
class Organisation:
    """One organisation of the table.

    Attributes:
        name: "Amazon", "Google"...
        suffixes: the domains whose names are its.
        hosting: a cloud provider hosting others' services (a name there says where, not who).
        sources: what shows it ({"url", "shows"} dicts, as in the file).
    """

    name: str
    suffixes: tuple[str, ...]
    hosting: bool = False
    sources: tuple[dict[str, str], ...] = ()


class OrganisationTable:
    """Longest-suffix lookup of a name's organisation.

    Attributes:
        organisations: the table's entries, in file order.
    """

    def __init__(self, organisations: list[Organisation]) -> None:
        self.organisations = tuple(organisations)
        self._by_suffix: dict[str, Organisation] = {}
        for organisation in organisations:
            for suffix in organisation.suffixes:
                if suffix in self._by_suffix:
                    raise ValueError(f"{suffix!r} is listed for {self._by_suffix[suffix].name} and {organisation.name}")
                self._by_suffix[suffix] = organisation
        self._by_name = {o.name: o for o in organisations}

    @classmethod
    def load(cls, path: Path | None = None) -> OrganisationTable:
        """Read organisations.json (default: the shipped one); ValueError names what is wrong."""
        path = path or resource_path("destinations", "organisations.json")
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        organisations = []
        for entry in data["organisations"]:
            suffixes = tuple(entry["suffixes"])
            for suffix in suffixes:
                if normalise_name(suffix) != suffix:
                    raise ValueError(f"{entry['name']}: {suffix!r} is not a lower-case domain")
            if not entry.get("sources"):
                raise ValueError(f"{entry['name']}: every organisation needs a source")
            organisations.append(Organisation(entry["name"], suffixes, bool(entry.get("hosting", False)),
                                              tuple(entry["sources"])))
        return cls(organisations)

    def organisation_of(self, name: str) -> str | None:
        """The organisation `name` belongs to, or None when the table does not know."""
        found = self.lookup(name)
        return found.name if found is not None else None

    def lookup(self, name: str) -> Organisation | None:
        labels = name.split(".")
        for start in range(len(labels) - 1):  # longest suffix first; a bare TLD never matches
            found = self._by_suffix.get(".".join(labels[start:]))
            if found is not None:
                return found
        return None

    def owner_of(self, name: str) -> str:
        """Who receives traffic for `name`, for telling a new one: the organisation, else "domain:<domain>"."""
        organisation = self.organisation_of(name)
        return organisation if organisation is not None else f"domain:{domain_of(name)}"

    def get(self, organisation: str) -> Organisation | None:
        return self._by_name.get(organisation)

    def to_json(self) -> list[dict[str, Any]]:
        return [{"name": o.name, "suffixes": list(o.suffixes), "hosting": o.hosting, "sources": list(o.sources)}
                for o in self.organisations]


@functools.cache
def shipped_table() -> OrganisationTable:
    """The table in resources/destinations/organisations.json (read once)."""
    return OrganisationTable.load()
