"""Request letters rendered from the templates in resources/erasure (string.Template placeholders)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from string import Template
from zoneinfo import ZoneInfo

from app.erasure.deadlines import Deadlines
from app.erasure.laws import Law
from app.resources import resource_path

DEFAULT_ERASE_WHAT = ("- all voice recordings of me and of my household captured by my devices, and their "
                      "transcripts;\n- any derived data (voice profiles, inferences) made from them.")
DEFAULT_LEGAL_BASIS = {
    "gdpr": "Article 17(1)(a) GDPR: the data are no longer necessary for the purposes for which they were "
            "collected; and Article 17(1)(b): I withdraw any consent on which the processing is based.",
    "uk_gdpr": "Article 17(1)(a) UK GDPR: the data are no longer necessary for the purposes for which they "
               "were collected; and Article 17(1)(b): I withdraw any consent on which the processing is based.",
    "ccpa": "California Civil Code section 1798.105(a): a consumer has the right to request that a business "
            "delete any personal information about the consumer which the business has collected from the "
            "consumer.",
}


@dataclass(frozen=True)
class CitedActivation:
    """A recording the letter names: when it started and on which device."""

    start: float
    device: str


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str

    @property
    def text(self) -> str:
        return f"Subject: {self.subject}\n\n{self.body}"


def format_activations(cited: list[CitedActivation], tz: dt.tzinfo | str | None = None) -> str:
    """One line per cited recording: date, time (with the zone) and device; "" when none."""
    if not cited:
        return ""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    lines = ["\nIn particular, the recordings made at these times:"]
    for item in sorted(cited, key=lambda c: c.start):
        moment = dt.datetime.fromtimestamp(item.start, dt.UTC)
        moment = moment.astimezone(zone) if zone is not None else moment.astimezone()
        lines.append(f"- {moment:%Y-%m-%d} at {moment:%H:%M:%S} {moment.tzname()}, device: {item.device}")
    return "\n".join(lines) + "\n"


def render_letter(law: Law, *, requester_name: str, account_identifier: str, vendor_name: str,
                  deadlines: Deadlines, request_date: dt.date, cited: list[CitedActivation] = (),
                  erase_what: str = DEFAULT_ERASE_WHAT, tz: dt.tzinfo | str | None = None) -> Letter:
    """The letter for this law. Raises ValueError when a required fact is empty."""
    values = {
        "requester_name": requester_name.strip(),
        "account_identifier": account_identifier.strip(),
        "vendor_name": vendor_name.strip(),
        "erase_what": erase_what.strip(),
        "legal_basis": DEFAULT_LEGAL_BASIS.get(law.law_id, law.citation),
        "response_deadline": deadlines.response.isoformat(),
        "acknowledgment_deadline": deadlines.acknowledgment.isoformat() if deadlines.acknowledgment else "",
        "request_date": request_date.isoformat(),
        "cited_activations": format_activations(list(cited), tz),
    }
    missing = [fact for fact in law.required_facts if not values.get(fact)]
    if missing:
        raise ValueError("the letter needs: " + ", ".join(f.replace("_", " ") for f in missing))
    text = Template(resource_path("erasure", law.template).read_text(encoding="utf-8")).substitute(values)
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {law.template} does not start with a Subject: line")
    return Letter(subject=first.removeprefix("Subject: ").strip(), body=rest.lstrip("\n"))
