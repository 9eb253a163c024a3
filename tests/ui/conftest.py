"""GUI test fixtures: a real AppContext in a temp data dir (discovery never started), and a window on it.

Devices arrive the way discovery delivers them: `ServiceRecord`s fed to the real
registry, which fingerprints and merges them and tells the window's adapter.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # tests/conftest.py does this too; harmless twice

import pytest  # noqa: E402

from gui_fixtures import bridges, ctx, make_window, memory_keyring  # noqa: E402, F401 - fixtures for this folder

from app.discovery.records import ServiceRecord, build_txt  # noqa: E402

CAST = "_googlecast._tcp.local."
AIRPLAY = "_airplay._tcp.local."
FIRE_TV = "_amzn-wplay._tcp.local."
BRIDGE = "_earmuff._tcp.local."


class Home:
    """Builds realistic adverts and hands them to the registry, as discovery would."""

    def __init__(self, registry) -> None:
        self.registry = registry

    def cast_speaker(self, uuid: str, name: str, *, model: str = "Google Home Mini", address: str = "192.168.1.20",
                     extra: dict | None = None, seen_at: float = 1_700_000_000.0) -> ServiceRecord:
        txt = {"id": uuid, "md": model, "fn": name, "ve": "05", "rs": None, **(extra or {})}
        record = ServiceRecord(CAST, f"Google-Home-Mini-{uuid}.{CAST}", f"{uuid[:8]}.local.", 8009, (address,),
                               build_txt(txt), seen_at)
        self.registry.service_seen(record)
        return record

    def cast_group(self, leader_uuid: str, group_uuid: str, name: str) -> ServiceRecord:
        record = ServiceRecord(CAST, f"Google-Cast-Group-{group_uuid}-1.{CAST}", f"{leader_uuid[:8]}.local.", 42515,
                               ("192.168.1.20",), build_txt({"id": group_uuid, "md": "Google Cast Group", "fn": name}),
                               1_700_000_000.0)
        self.registry.service_seen(record)
        return record

    def fire_tv(self, name: str = "Living room Fire TV", address: str = "192.168.1.40") -> ServiceRecord:
        record = ServiceRecord(FIRE_TV, f"{name}-abc.{FIRE_TV}", "firetv.local.", 8009, (address,),
                               build_txt({"s": "649079E36FF650C95604A3397843E704", "ad": "A2LWARUGJLBYEW",
                                          "n": name, "c": "Ts", "v": "1"}), 1_700_000_000.0)
        self.registry.service_seen(record)
        return record

    def bridge(self, name: str = "Kitchen bridge", address: str = "192.168.1.60") -> ServiceRecord:
        record = ServiceRecord(BRIDGE, f"{name}.{BRIDGE}", "earmuff-pi.local.", 8443, (address,),
                               build_txt({"id": "bridge-1", "name": name, "v": "0.1"}), 1_700_000_000.0)
        self.registry.service_seen(record)
        return record

    def gone(self, record: ServiceRecord) -> None:
        self.registry.service_gone(record.service_type, record.name)


@pytest.fixture
def home(ctx) -> Home:
    return Home(ctx.registry)


@pytest.fixture
def window(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    return window
