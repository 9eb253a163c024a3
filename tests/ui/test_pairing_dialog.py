"""Pairing from the Bridges page against a real bridge (TLS on 127.0.0.1): by address, from discovery,
with wrong codes, lockout, no keyring, an unreachable address, and re-pairing after a certificate change."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

# WORKAROUND: test folders are not packages; the shared bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import keyring_backend  # noqa: E402
from keyring.backends import fail  # noqa: E402

from app.bridge_client import CERTIFICATE_CHANGED_MESSAGE, Connection  # noqa: E402
from app.bridge_client.pairing import probe  # noqa: E402
from app.discovery.records import ServiceRecord, build_txt  # noqa: E402
from app.secrets import SERVICE  # noqa: E402
from ui.dialogs.pair_bridge import fingerprint_lines  # noqa: E402

NET_MS = 15_000


@pytest.fixture
def page(window, ctx, memory_keyring):
    ctx.bridges.start()
    window.show_page("bridges")
    return window.bridges_page


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def open_dialog(qtbot, page, address: str):
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    dialog = page.pair_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.address_edit.setText(address)
    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    return dialog


def enter_code(qtbot, dialog, code: str) -> None:
    dialog.code_edit.clear()
    qtbot.keyClicks(dialog.code_edit, code)
    qtbot.mouseClick(dialog.pair_button, Qt.MouseButton.LeftButton)


def test_pairing_by_address_shows_the_fingerprint_then_the_bridge_and_its_speakers(qtbot, page, bridges,
                                                                                    memory_keyring):
    bridge = bridges.start()
    dialog = open_dialog(qtbot, page, f"127.0.0.1:{bridge.port}")
    assert dialog.status_label.text() == "Connecting…"
    qtbot.waitUntil(lambda: dialog.found_box.isVisible(), timeout=NET_MS)
    assert dialog.fingerprint_label.text() == fingerprint_lines(bridge.fingerprint)
    assert "Demo bridge" in dialog.name_label.text()
    assert not dialog.warning_label.isVisible()
    assert not dialog.pair_button.isEnabled()  # no code yet

    with qtbot.waitSignal(dialog.paired, timeout=NET_MS) as paired:
        enter_code(qtbot, dialog, bridge.pairing_code())
    assert paired.args[0].bridge_id == bridge.bridge_id
    assert not dialog.isVisible()
    assert memory_keyring.passwords[(SERVICE, bridge.bridge_id)]
    qtbot.waitUntil(lambda: bridge.bridge_id in page.cards and page.cards[bridge.bridge_id].status.online,
                    timeout=NET_MS)
    card = page.cards[bridge.bridge_id]
    qtbot.waitUntil(lambda: len(card.controls) == 3, timeout=NET_MS)
    assert card.connection_label.text() == "Online"
    assert [c.name_label.text() for c in card.controls.values()] == [
        "Kitchen speaker", "Bedroom speaker", "Living room speaker"]
    assert page.window().statusBar().currentMessage() == "Paired with Demo bridge."


def test_a_wrong_code_is_explained_and_the_dialog_stays_open(qtbot, page, bridges):
    bridge = bridges.start()
    dialog = open_dialog(qtbot, page, f"127.0.0.1:{bridge.port}")
    qtbot.waitUntil(lambda: dialog.found_box.isVisible(), timeout=NET_MS)
    enter_code(qtbot, dialog, wrong(bridge.pairing_code()))
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=NET_MS)
    assert "not the bridge's current pairing code" in dialog.error_label.text()
    assert dialog.isVisible() and page.cards == {}


def test_after_five_wrong_codes_the_dialog_counts_down_the_lockout(qtbot, page, bridges):
    bridge = bridges.start()
    dialog = open_dialog(qtbot, page, f"127.0.0.1:{bridge.port}")
    qtbot.waitUntil(lambda: dialog.found_box.isVisible(), timeout=NET_MS)
    for _ in range(6):
        enter_code(qtbot, dialog, wrong(bridge.pairing_code()))
        qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=NET_MS)
        if dialog.locked_seconds:
            break
    assert "Too many wrong codes" in dialog.error_label.text()
    assert "more second" in dialog.error_label.text()
    assert 0 < dialog.locked_seconds <= 60
    assert not dialog.pair_button.isEnabled()
    dialog.reject()


def test_an_address_with_nothing_there_says_so(qtbot, page, bridges):
    bridge = bridges.start()
    port = bridge.port
    bridge.stop()
    dialog = open_dialog(qtbot, page, f"127.0.0.1:{port}")
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=NET_MS)
    assert dialog.error_label.text().startswith(f"Cannot reach 127.0.0.1:{port}")
    assert not dialog.found_box.isVisible() and dialog.connect_button.isEnabled()


def test_without_a_keyring_pairing_says_what_to_install(qtbot, page, bridges):
    bridge = bridges.start()
    dialog = open_dialog(qtbot, page, f"127.0.0.1:{bridge.port}")
    qtbot.waitUntil(lambda: dialog.found_box.isVisible(), timeout=NET_MS)
    with keyring_backend(fail.Keyring()):
        enter_code(qtbot, dialog, bridge.pairing_code())
        qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=NET_MS)
    assert "gnome-keyring" in dialog.error_label.text()
    assert page.cards == {}


def test_a_bridge_found_on_the_network_is_offered_for_pairing(qtbot, page, ctx, bridges):
    bridge = bridges.start()
    record = ServiceRecord("_earmuff._tcp.local.", "Demo bridge._earmuff._tcp.local.", "pi.local.", bridge.port,
                           ("127.0.0.1",), build_txt({"id": bridge.bridge_id, "name": "Demo bridge", "v": "0.1.0",
                                                      "fp": bridge.fingerprint[:16], "api": "1"}), 1.0)
    ctx.registry.service_seen(record)
    qtbot.waitUntil(lambda: bridge.bridge_id in page.found_rows)
    row = page.found_rows[bridge.bridge_id]
    assert row.name_label.text() == "Demo bridge" and row.address_label.text() == f"127.0.0.1:{bridge.port}"
    assert not page.empty_state.isVisible()
    qtbot.mouseClick(row.pair_button, Qt.MouseButton.LeftButton)
    dialog = page.pair_dialog
    qtbot.waitUntil(lambda: dialog.found_box.isVisible(), timeout=NET_MS)  # it connects by itself
    assert not dialog.warning_label.isVisible()  # the print matches what the bridge announced
    with qtbot.waitSignal(dialog.paired, timeout=NET_MS):
        enter_code(qtbot, dialog, bridge.pairing_code())
    qtbot.waitUntil(lambda: bridge.bridge_id in page.cards)
    assert bridge.bridge_id not in page.found_rows  # paired bridges are listed once, as paired


def test_an_announced_fingerprint_that_does_not_match_is_a_warning(qtbot, page, ctx, bridges):
    bridge = bridges.start()
    record = ServiceRecord("_earmuff._tcp.local.", "Demo bridge._earmuff._tcp.local.", "pi.local.", bridge.port,
                           ("127.0.0.1",), build_txt({"id": bridge.bridge_id, "name": "Demo bridge",
                                                      "fp": "0000000000000000"}), 1.0)
    ctx.registry.service_seen(record)
    qtbot.waitUntil(lambda: bridge.bridge_id in page.found_rows)
    qtbot.mouseClick(page.found_rows[bridge.bridge_id].pair_button, Qt.MouseButton.LeftButton)
    dialog = page.pair_dialog
    qtbot.waitUntil(lambda: dialog.found_box.isVisible(), timeout=NET_MS)
    assert dialog.warning_label.isVisible() and "intercepting" in dialog.warning_label.text()
    dialog.reject()


def test_a_changed_certificate_is_explained_and_re_pairing_fixes_it(qtbot, page, ctx, bridges):
    bridge = bridges.start("real")
    ctx.bridges.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    qtbot.waitUntil(lambda: bridge.bridge_id in page.cards and page.cards[bridge.bridge_id].status.online,
                    timeout=NET_MS)
    bridge.stop()
    reinstalled = bridges.start("reinstalled", port=bridge.port)  # same address, new certificate
    card = page.cards[bridge.bridge_id]
    qtbot.waitUntil(lambda: card.status.connection is Connection.CERTIFICATE_CHANGED, timeout=NET_MS)
    assert card.problem_label.text() == CERTIFICATE_CHANGED_MESSAGE
    assert card.repair_button.isVisible()
    assert all(not c.toggle.isEnabled() for c in card.controls.values())

    qtbot.mouseClick(card.repair_button, Qt.MouseButton.LeftButton)
    dialog = page.pair_dialog
    qtbot.waitUntil(lambda: dialog.found_box.isVisible(), timeout=NET_MS)
    assert "different certificate than when you paired" in dialog.warning_label.text()
    assert "not the bridge that was announced" in dialog.warning_label.text()  # a new install, a new id
    with qtbot.waitSignal(dialog.paired, timeout=NET_MS):
        enter_code(qtbot, dialog, reinstalled.pairing_code())
    qtbot.waitUntil(lambda: reinstalled.bridge_id in page.cards and page.cards[reinstalled.bridge_id].status.online,
                    timeout=NET_MS)
    qtbot.waitUntil(lambda: bridge.bridge_id not in page.cards)  # the reset bridge's old entry went with it
