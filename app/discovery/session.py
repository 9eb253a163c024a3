"""The one place that puts fingerprints, registry and browser together, for the GUI and the CLI alike."""

from __future__ import annotations

from collections.abc import Sequence

from app.discovery.browser import Discovery
from app.discovery.fingerprints import Fingerprinter
from app.registry import DeviceRegistry


def build_discovery(
    *,
    interfaces: str | Sequence[str] | None = None,
    requery_interval_s: float = 60.0,
    resolve_timeout_s: float = 3.0,
    fingerprinter: Fingerprinter | None = None,
    registry: DeviceRegistry | None = None,
) -> tuple[DeviceRegistry, Discovery]:
    """A registry and a (not yet started) discovery feeding it."""
    fingerprinter = fingerprinter or Fingerprinter.from_resources()
    registry = registry or DeviceRegistry(fingerprinter)
    discovery = Discovery(
        registry,
        fingerprinter.service_types,
        interfaces=interfaces,
        requery_interval_s=requery_interval_s,
        resolve_timeout_s=resolve_timeout_s,
    )
    return registry, discovery
