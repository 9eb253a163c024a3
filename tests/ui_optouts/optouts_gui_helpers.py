"""Shared by the Opt-outs GUI tests: speakers announcing themselves the way discovery hands them over."""

from __future__ import annotations

import time

from app.discovery.records import ServiceRecord, build_txt

CAST = "_googlecast._tcp.local."


def cast_speaker(registry, uuid: str, name: str, *, model: str = "Google Nest Mini",
                 address: str = "192.168.1.20") -> str:
    """A Google speaker announcing itself, as discovery hands it to the registry; returns its device id."""
    txt = {"id": uuid, "md": model, "fn": name, "ve": "05", "rs": None}
    registry.service_seen(ServiceRecord(CAST, f"{model.replace(' ', '-')}-{uuid}.{CAST}", f"{uuid[:8]}.local.",
                                        8009, (address,), build_txt(txt), time.time()))
    return uuid
