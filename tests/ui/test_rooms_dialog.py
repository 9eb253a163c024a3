"""Managing rooms: add, rename (speakers follow), delete with undo, reorder; bad names are refused inline."""

from __future__ import annotations

UUID = "a96373438460a25e5b41cda821c59d55"


def open_rooms(qtbot, window):
    window.rooms_action.trigger()
    dialog = window.rooms_dialog
    qtbot.waitExposed(dialog)
    return dialog


def test_add_rename_delete_undo_and_reorder(qtbot, window, home, ctx):
    ctx.registry.service_seen(home.cast_speaker(UUID, "Kitchen speaker"))
    dialog = open_rooms(qtbot, window)

    dialog.new_edit.setText("Kitchen")
    dialog.add_button.click()
    dialog.new_edit.setText("Attic")
    dialog.add_button.click()
    assert ctx.rooms.list() == ["Kitchen", "Attic"]
    ctx.registry.set_user_fields(UUID, user_name=None, room="Kitchen")

    dialog.new_edit.setText("kitchen")  # rooms are unique regardless of case
    dialog.add_button.click()
    assert "already" in dialog.status_label.text()

    item = dialog.room_list.item(0)
    item.setText("Cooking")  # what finishing an in-place edit does
    assert ctx.rooms.list() == ["Cooking", "Attic"]
    assert ctx.registry.device(UUID).room == "Cooking"

    dialog.room_list.setCurrentRow(0)
    dialog.delete_button.click()
    assert ctx.rooms.list() == ["Attic"]
    assert ctx.registry.device(UUID).room is None
    assert "1 speaker now has no room" in dialog.status_label.text()
    dialog.undo_delete()
    assert ctx.rooms.list() == ["Cooking", "Attic"]
    assert ctx.registry.device(UUID).room == "Cooking"

    dialog.room_list.setCurrentRow(1)
    dialog.up_button.click()
    assert ctx.rooms.list() == ["Attic", "Cooking"]
    assert dialog.room_list.currentItem().text() == "Attic"
    dialog.reject()


def test_an_empty_or_taken_name_is_refused_and_nothing_changes(qtbot, window, ctx):
    ctx.rooms.add("Den")
    ctx.rooms.add("Hall")
    dialog = open_rooms(qtbot, window)
    dialog.room_list.item(0).setText("Hall")
    assert ctx.rooms.list() == ["Den", "Hall"]
    assert dialog.room_list.item(0).text() == "Den"
    assert "already" in dialog.status_label.text()
    dialog.room_list.item(0).setText("   ")
    assert ctx.rooms.list() == ["Den", "Hall"]
    assert "needs a name" in dialog.status_label.text()
    dialog.add_button.click()
    assert "Type a name" in dialog.status_label.text()
    dialog.reject()
