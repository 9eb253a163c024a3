"""The Overview page: a friendly search state first, then speakers counted by room and status."""

from __future__ import annotations

from PySide6.QtCore import Qt

UUID_A = "a0000000000000000000000000000001"
UUID_B = "b0000000000000000000000000000002"
UUID_C = "c0000000000000000000000000000003"


def cards(page) -> dict[str, str]:
    grid = page.cards_grid
    found = {}
    for i in range(grid.count()):
        card = grid.itemAt(i).widget()
        if card is not None:
            room, _, summary = card.accessibleName().partition(": ")
            found[room] = summary
    return found


def test_first_run_says_it_is_looking_with_a_busy_indicator(qtbot, window):
    page = window.overview_page
    assert page.showing_first_run
    assert page.first_run.title_label.text() == "Looking for speakers on your network…"
    assert page.first_run.busy_bar.isVisibleTo(window)
    assert page.first_run.busy_bar.maximum() == 0  # indeterminate
    qtbot.mouseClick(page.first_run.action_button, Qt.MouseButton.LeftButton)
    assert window.add_dialog is not None and window.add_dialog.isVisible()
    window.add_dialog.reject()


def test_other_devices_alone_do_not_end_the_search_state(qtbot, window, home):
    home.fire_tv()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    window.overview_page.refresh()
    assert window.overview_page.showing_first_run


def test_counts_by_room_and_status(qtbot, window, home, ctx):
    page = window.overview_page
    home.cast_speaker(UUID_A, "Kitchen speaker")
    gone = home.cast_speaker(UUID_B, "Fridge speaker", address="192.168.1.21")
    home.cast_speaker(UUID_C, "Bedroom speaker", address="192.168.1.22")
    home.fire_tv()
    home.gone(gone)
    ctx.rooms.add("Kitchen")
    ctx.registry.set_user_fields(UUID_A, user_name=None, room="Kitchen")
    ctx.registry.set_user_fields(UUID_B, user_name=None, room="Kitchen")
    qtbot.waitUntil(lambda: not page.showing_first_run and "Kitchen" in cards(page), timeout=3000)
    assert page.headline_label.text() == "3 smart speakers in your home"
    assert page.online_tile.number_label.text() == "2"
    assert page.offline_tile.number_label.text() == "1"
    assert page.rooms_tile.number_label.text() == "1"
    assert page.status_label.text() == "2 online · 1 offline."
    found = cards(page)
    assert found["Kitchen"] == "2 speakers, 1 online · 1 offline"
    assert found["No room yet"] == "1 speaker, 1 online · 0 offline"
    assert page.room_hint.isVisibleTo(window)
    assert "1 other device that is not a speaker" in page.others_label.text()
    qtbot.mouseClick(page.open_speakers_button, Qt.MouseButton.LeftButton)
    assert window.current_page_key() == "speakers"


def test_manual_speakers_are_counted_as_added_by_hand(qtbot, window, ctx):
    ctx.registry.add_manual("192.168.1.50", name="Hall Echo")
    page = window.overview_page
    qtbot.waitUntil(lambda: not page.showing_first_run)
    assert page.manual_tile.isVisibleTo(window)
    assert page.manual_tile.number_label.text() == "1"
    assert page.status_label.text() == "0 online · 1 added by hand."
