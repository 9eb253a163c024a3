"""The laws a request can cite, read from resources/erasure/laws.json (periods, templates, required facts)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from app.resources import resource_path


@dataclass(frozen=True)
class Period:
    """A statutory period: whole calendar months or days (exactly one is non-zero)."""

    months: int = 0
    days: int = 0


@dataclass(frozen=True)
class Law:
    """One law under which erasure can be requested.

    Attributes:
        law_id: "gdpr", "uk_gdpr" or "ccpa".
        title: short name for people; citation: the article or section a letter cites.
        template: the letter's file name in resources/erasure.
        response / extension: how long the business has to respond, and the one extension it may take.
        acknowledgment_business_days: receipt must be confirmed within this many business days (None: no rule).
        required_facts: the placeholders a letter under this law must fill.
        sources: URLs of the statute and guidance.
    """

    law_id: str
    title: str
    citation: str
    template: str
    response: Period
    extension: Period
    acknowledgment_business_days: int | None
    required_facts: tuple[str, ...]
    sources: tuple[str, ...]


def _period(data: dict) -> Period:
    return Period(months=int(data.get("months", 0)), days=int(data.get("days", 0)))


@cache
def load_laws() -> dict[str, Law]:
    """law id -> Law, in the file's order."""
    data = json.loads(resource_path("erasure", "laws.json").read_text(encoding="utf-8"))
    laws = {}
    for item in data["laws"]:
        ack = item.get("acknowledgment_business_days")
        laws[item["id"]] = Law(
            law_id=item["id"], title=item["title"], citation=item["citation"], template=item["template"],
            response=_period(item["response"]), extension=_period(item["extension"]),
            acknowledgment_business_days=int(ack) if ack is not None else None,
            required_facts=tuple(item["required_facts"]), sources=tuple(item["sources"]))
    return laws


def law(law_id: str) -> Law:
    """The law with this id. Raises KeyError for an unknown one."""
    return load_laws()[law_id]
