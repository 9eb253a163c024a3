"""The Speakers page: the table follows the registry, sorts, filters, separates non-speakers,
shows groups and raw records, and renames, adds and forgets through the registry."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from app.devices import DeviceStatus
from ui.models.devices_model import Column

UUID_A = "a96373438460a25e5b41cda821c59d55"
UUID_B = "b0000000000000000000000000000002"
UUID_C = "c0000000000000000000000000000003"
GROUP = "5C0AEC54CDB9439BA3FF66DA777A9B00"


def table_column(page, column: Column, table=None) -> list[str]:
    table = table or page.speakers_table
    proxy = table.model()
    return [proxy.index(row, column).data() for row in range(proxy.rowCount())]


def focus_table(qtbot, window):
    window.show_page("speakers")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.speakers_page.speakers_table.setFocus()
    qtbot.waitUntil(window.speakers_page.speakers_table.hasFocus)


def test_table_follows_added_updated_and_offline_events(qtbot, window, home):
    page = window.speakers_page
    assert page._speakers_stack.currentWidget() is page.speakers_empty
    record = home.cast_speaker(UUID_A, "Kitchen speaker", address="192.168.1.20")
    qtbot.waitUntil(lambda: table_column(page, Column.NAME) == ["Kitchen speaker"])
    assert page._speakers_stack.currentWidget() is page.speakers_table
    assert table_column(page, Column.VENDOR) == ["Google"]
    assert table_column(page, Column.MODEL) == ["Google Home Mini"]
    assert table_column(page, Column.ADDRESSES) == ["192.168.1.20"]
    assert table_column(page, Column.STATUS) == ["Online"]
    assert table_column(page, Column.LAST_SEEN) == ["Now"]

    home.cast_speaker(UUID_A, "Kitchen Nest", address="192.168.1.21")  # renamed in the vendor's app, new lease
    qtbot.waitUntil(lambda: table_column(page, Column.NAME) == ["Kitchen Nest"])
    assert table_column(page, Column.ADDRESSES) == ["192.168.1.21"]

    home.gone(record)
    qtbot.waitUntil(lambda: table_column(page, Column.STATUS) == ["Offline"])
    assert table_column(page, Column.LAST_SEEN) != ["Now"]


def test_events_from_a_discovery_thread_reach_the_table(qtbot, window, home):
    import threading

    worker = threading.Thread(target=home.cast_speaker, args=(UUID_A, "From a thread"))
    worker.start()
    worker.join(5)
    qtbot.waitUntil(lambda: table_column(window.speakers_page, Column.NAME) == ["From a thread"])


def test_sorting_by_name_status_and_last_seen(qtbot, window, home):
    page = window.speakers_page
    home.cast_speaker(UUID_A, "Bedroom", seen_at=1_700_000_100.0)
    old = home.cast_speaker(UUID_B, "attic", address="192.168.1.9", seen_at=1_700_000_000.0)
    home.cast_speaker(UUID_C, "Cellar", address="192.168.1.100", seen_at=1_700_000_200.0)
    home.gone(old)
    qtbot.waitUntil(lambda: page.speakers_proxy.rowCount() == 3)
    table = page.speakers_table
    table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
    assert table_column(page, Column.NAME) == ["attic", "Bedroom", "Cellar"]  # case does not matter
    table.sortByColumn(Column.STATUS, Qt.SortOrder.AscendingOrder)
    assert table_column(page, Column.NAME) == ["Bedroom", "Cellar", "attic"]  # online first, then by name
    table.sortByColumn(Column.LAST_SEEN, Qt.SortOrder.AscendingOrder)
    assert table_column(page, Column.NAME)[-1] == "attic"  # most recently seen first
    table.sortByColumn(Column.ADDRESSES, Qt.SortOrder.AscendingOrder)
    assert table_column(page, Column.ADDRESSES) == ["192.168.1.9", "192.168.1.20", "192.168.1.100"]  # numeric
    header = table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(Column.NAME) + 10, header.height() // 2))
    assert table.horizontalHeader().sortIndicatorSection() == Column.NAME


def test_devices_that_are_not_speakers_are_listed_apart(qtbot, window, home):
    page = window.speakers_page
    window.show_page("speakers")
    home.cast_speaker(UUID_A, "Kitchen speaker")
    home.fire_tv("Living room Fire TV")
    home.bridge("Hall bridge")
    qtbot.waitUntil(lambda: page.other_proxy.rowCount() == 1)
    assert table_column(page, Column.NAME) == ["Kitchen speaker"]
    assert table_column(page, Column.NAME, page.other_table) == ["Living room Fire TV"]
    assert table_column(page, Column.KIND, page.other_table) == ["Media player"]
    assert page.other_toggle.text() == "Other devices on your network (1)"
    assert page.other_table.isVisibleTo(window)
    qtbot.mouseClick(page.other_toggle, Qt.MouseButton.LeftButton)  # collapse
    assert not page.other_table.isVisibleTo(window)
    bridges = window.bridges_page
    assert [bridges.proxy.index(r, Column.NAME).data() for r in range(bridges.proxy.rowCount())] == ["Hall bridge"]
    assert "Pairing" in bridges.pairing_note.text()


def test_groups_are_shown_as_groups_of_listed_speakers(qtbot, window, home):
    page = window.speakers_page
    home.cast_speaker(UUID_A, "Bedroom Speaker")
    home.cast_group(UUID_A, GROUP, "Whole house")
    qtbot.waitUntil(lambda: page.groups_tree.topLevelItemCount() == 1)
    assert page.speakers_proxy.rowCount() == 1  # the group is not a speaker of its own
    group = page.groups_tree.topLevelItem(0)
    assert group.text(0).startswith("Whole house")
    assert [group.child(i).text(0) for i in range(group.childCount())] == ["Bedroom Speaker"]
    assert page.groups_heading.text() == "Groups (1)"
    page.select_device(UUID_A)
    facts = page.details.as_text()
    assert "Plays in: Whole house (cast speaker group)" in facts


def test_details_list_every_service_and_raw_txt_with_binary_as_hex(qtbot, window, home):
    page = window.speakers_page
    home.cast_speaker(UUID_A, "Bedroom Speaker", extra={"bs": b"\x00\xfa\x8f\x01"})
    qtbot.waitUntil(lambda: page.speakers_proxy.rowCount() == 1)
    page.speakers_table.selectRow(0)
    details = page.details
    assert details.title_label.text() == "Bedroom Speaker"
    tree = details.services_tree
    assert tree.topLevelItemCount() == 1
    service = tree.topLevelItem(0)
    assert service.text(0) == "Google Cast"
    fields = {service.child(i).text(0): service.child(i).text(1) for i in range(service.childCount())}
    assert fields["Type"] == "_googlecast._tcp.local."
    assert fields["Instance name"] == f"Google-Home-Mini-{UUID_A}"
    assert fields["Host"] == f"{UUID_A[:8]}.local."
    assert fields["Port"] == "8009"
    assert fields["Addresses"] == "192.168.1.20"
    txt = service.child(service.childCount() - 1)
    entries = {txt.child(i).text(0): txt.child(i).text(1) for i in range(txt.childCount())}
    assert entries["bs"] == "0x00fa8f01"
    assert entries["rs"] == "(no value)"
    assert entries["fn"] == "Bedroom Speaker"
    assert "Binary value" in txt.child(list(entries).index("bs")).toolTip(1)
    assert "txt: bs = 0x00fa8f01" in details.as_text()


def test_rename_and_room_through_the_dialog_are_stored(qtbot, window, home, ctx):
    page = window.speakers_page
    home.cast_speaker(UUID_A, "Google-Home-Mini")
    qtbot.waitUntil(lambda: page.speakers_proxy.rowCount() == 1)
    focus_table(qtbot, window)
    qtbot.keyClick(page.speakers_table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: window.rename_dialog is not None and window.rename_dialog.isVisible())
    dialog = window.rename_dialog
    assert dialog.name_edit.text() == "Google-Home-Mini"
    dialog.name_edit.setText("Kitchen speaker")
    dialog.room_combo.setCurrentText("Kitchen")
    with qtbot.waitSignal(dialog.saved):
        qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    device = ctx.registry.device(UUID_A)
    assert (device.user_name, device.room) == ("Kitchen speaker", "Kitchen")
    assert "Kitchen" in ctx.rooms.list()
    assert table_column(page, Column.NAME) == ["Kitchen speaker"]
    assert table_column(page, Column.ROOM) == ["Kitchen"]

    # An existing room is reused whatever its case; an empty name goes back to the advertised one.
    page.rename_action.trigger()
    dialog = window.rename_dialog
    assert dialog.room_combo.findText("Kitchen") >= 0
    dialog.name_edit.clear()
    dialog.room_combo.setCurrentText("kitchen")
    dialog.accept()
    device = ctx.registry.device(UUID_A)
    assert (device.user_name, device.room) == (None, "Kitchen")
    assert ctx.rooms.list() == ["Kitchen"]


def test_rename_survives_a_restart(qtbot, window, home, ctx, data_dir):
    from app.context import AppContext

    home.cast_speaker(UUID_A, "Google-Home-Mini")
    qtbot.waitUntil(lambda: window.speakers_page.speakers_proxy.rowCount() == 1)
    window.speakers_page.rename_action.trigger()
    dialog = window.rename_dialog
    dialog.name_edit.setText("Den speaker")
    dialog.room_combo.setCurrentText("Den")
    dialog.accept()
    window.quit()
    ctx.close()
    again = AppContext.create(data_dir, interfaces=("127.0.0.1",))
    try:
        device = again.registry.device(UUID_A)
        assert (device.user_name, device.room, device.status) == ("Den speaker", "Den", DeviceStatus.OFFLINE)
    finally:
        again.close()


def test_add_by_ip_shows_errors_inline_and_keeps_the_dialog_open(qtbot, window, ctx):
    window.add_action.trigger()
    dialog = window.add_dialog
    assert dialog.isVisible()
    assert not dialog.add_button.isEnabled()
    qtbot.keyClicks(dialog.address_edit, "192.168.1.300")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.error_label.isVisible()
    assert "not an IP address" in dialog.error_label.text()
    assert ctx.registry.devices() == []

    dialog.address_edit.setText("192.168.1.30")  # editing clears the old complaint
    assert not dialog.error_label.isVisible()
    dialog.name_edit.setText("Kitchen Echo")
    with qtbot.waitSignal(dialog.added):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    page = window.speakers_page
    assert window.current_page_key() == "speakers"
    assert page.current_device().name == "Kitchen Echo"
    assert table_column(page, Column.STATUS) == ["Added by hand"]

    window.add_action.trigger()  # the same address again is refused, in the dialog
    dialog = window.add_dialog
    dialog.address_edit.setText("192.168.1.30")
    dialog.accept()
    assert dialog.isVisible() and "already" in dialog.error_label.text()
    dialog.reject()


def test_forget_asks_first_and_only_for_offline_devices(qtbot, window, home, ctx):
    page = window.speakers_page
    record = home.cast_speaker(UUID_A, "Old speaker")
    qtbot.waitUntil(lambda: page.speakers_proxy.rowCount() == 1)
    page.select_device(UUID_A)
    assert not page.forget_action.isEnabled()  # online: it would come straight back

    home.gone(record)
    qtbot.waitUntil(page.forget_action.isEnabled)
    focus_table(qtbot, window)
    qtbot.keyClick(page.speakers_table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: window.forget_box is not None and window.forget_box.isVisible())
    box = window.forget_box
    assert "Old speaker" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert ctx.registry.device(UUID_A) is not None

    page.forget_action.trigger()
    box = window.forget_box
    forget = next(b for b in box.buttons() if b.text() == "Forget")
    forget.click()
    qtbot.waitUntil(lambda: page.speakers_proxy.rowCount() == 0)
    assert ctx.registry.device(UUID_A) is None
    assert page.current_device() is None
    assert not page.forget_action.isEnabled()


def test_ctrl_f_filters_the_speakers(qtbot, window, home):
    page = window.speakers_page
    home.cast_speaker(UUID_A, "Kitchen speaker")
    home.cast_speaker(UUID_B, "Bedroom speaker", address="192.168.1.21")
    qtbot.waitUntil(lambda: page.speakers_proxy.rowCount() == 2)
    window.show_page("overview")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page_key() == "speakers"
    assert page.filter_edit.hasFocus()
    qtbot.keyClicks(page.filter_edit, "kitch")
    assert table_column(page, Column.NAME) == ["Kitchen speaker"]
    page.filter_edit.setText(".21")
    assert table_column(page, Column.NAME) == ["Bedroom speaker"]
    page.filter_edit.setText("nothing like it")
    assert page.speakers_proxy.rowCount() == 0
    assert page.no_match_label.isVisibleTo(window)
    # Delete in the filter edits the text; it does not forget anything.
    page.filter_edit.setText("x")
    page.filter_edit.setCursorPosition(0)
    qtbot.keyClick(page.filter_edit, Qt.Key.Key_Delete)
    assert page.filter_edit.text() == ""
    assert page.speakers_proxy.rowCount() == 2
