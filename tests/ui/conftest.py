"""GUI test fixtures: a real AppContext in a temp data dir (discovery never started), and a window on it.

Devices arrive the way discovery delivers them: `ServiceRecord`s fed to the real
registry, which fingerprints and merges them and tells the window's adapter.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # tests/conftest.py does this too; harmless twice

import pytest  # noqa: E402

from app.discovery.records import ServiceRecord, build_txt  # noqa: E402

# WORKAROUND: test folders are not packages; the real-bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import Bridges, MemoryKeyring, keyring_backend  # noqa: E402

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
def ctx(data_dir):
    from app.context import AppContext
    from app.logging_setup import teardown_logging

    context = AppContext.create(data_dir, interfaces=("127.0.0.1",))
    yield context
    context.close()
    teardown_logging()


@pytest.fixture
def home(ctx) -> Home:
    return Home(ctx.registry)


@pytest.fixture
def make_window(qtbot, ctx):
    """Builds MainWindows on `ctx` (no tray unless asked); closes them all before ctx closes."""
    from ui.main_window import MainWindow

    windows = []

    def make(**kwargs):
        kwargs.setdefault("tray_available", False)
        window = MainWindow(ctx, **kwargs)
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.adapter.attached:
            window.quit()


@pytest.fixture
def window(make_window, qtbot):
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    return window


def pytest_collection_modifyitems(items):
    # WORKAROUND: the offscreen platform plugin warns "This plugin does not support
    # propagateSizeHints()" whenever a dialog with a minimum size is shown; it is
    # about the plugin, not our code, and real platforms do not say it.
    for item in items:
        if "tests/ui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"))


@pytest.fixture
def memory_keyring():
    """An in-memory keyring backend for the test (never keyrings.alt's plaintext file)."""
    with keyring_backend(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture
def bridges(tmp_path):
    """Real bridges (BridgeService, TLS on 127.0.0.1, MockFactory pins), stopped after the test."""
    started = Bridges(tmp_path / "bridges")
    yield started
    started.close()
