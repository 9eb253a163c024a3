"""Destinations in words, for every page: byte sizes, an activation's destinations in one line, the new-organisation
notice. Qt-free; the UI shows what this says.

The Activity page's hook: `destinations_for_activation(manager, bridge_id, activation_id, on_done)` fetches an
activation's destinations off the GUI thread (the manager's worker pool; through the BridgeAdapter, call
`adapter.call("activation_destinations", bridge_id, activation_id, on_done=...)` instead to get the result on
the GUI thread), and `activation_summary(result)` gives the column's text: "46 kB to
avs-alexa-4-na.amazon.com (Amazon)", "+ 2 more".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from app.bridge_client.destinations import ActivationDestination, ActivationDestinations, NewOrganisation


def human_bytes(count: float) -> str:
    """'820 B', '46 kB', '1.4 MB' (powers of 1000, like network tools)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(count)} B"


def destination_text(name: str, organisation: str | None) -> str:
    """'avs-alexa-4-na.amazon.com (Amazon)', or the bare name when the organisation is unknown."""
    return f"{name} ({organisation})" if organisation else name


def activation_summary(result: ActivationDestinations | Sequence[ActivationDestination], *, shown: int = 1) -> str:
    """One line for an activation's destinations: the busiest `shown` with their upload, then how many more.
    '' when none are known; 'not worked out yet' while the bridge is still reading it."""
    if isinstance(result, ActivationDestinations):
        if not result.complete:
            return "not worked out yet"
        destinations: Sequence[ActivationDestination] = result.destinations
    else:
        destinations = result
    ordered = sorted(destinations, key=lambda d: -d.bytes_up)
    parts = [f"{human_bytes(d.bytes_up)} to {destination_text(d.name, d.organisation)}" for d in ordered[:shown]]
    rest = len(ordered) - len(parts)
    if rest > 0:
        parts.append(f"+ {rest} more")
    return ", ".join(parts)


def destinations_for_activation(manager: Any, bridge_id: str, activation_id: int,
                                on_done: Callable[[Any], None]) -> Any:
    """Ask the bridge which destinations received an activation's bytes; `on_done(Outcome)` gets
    ActivationDestinations or the error, on a worker thread. Returns the manager's Future."""
    return manager.activation_destinations(bridge_id, activation_id, on_done)


def new_organisation_notice(news: NewOrganisation, speaker_name: str) -> tuple[str, str]:
    """(title, message) for a speaker's first traffic to an organisation."""
    if news.organisation is None:
        title = f"{speaker_name} talks to someone new"
        body = (f"{speaker_name} sent data to {news.domain} for the first time ({news.name}). Earmuff does not "
                "know which organisation that is.")
    elif news.hosting:
        title = f"{speaker_name} uses {news.organisation}"
        body = (f"{speaker_name} sent data to {news.name}, hosted by {news.organisation}, for the first time. "
                f"{news.organisation} runs servers for many companies, so the receiver may be someone else.")
    else:
        title = f"{speaker_name} talks to {news.organisation}"
        body = f"{speaker_name} sent data to {news.organisation} for the first time ({news.name})."
    return title, body + " Open its destinations on the Bridges page to see more or block it."
