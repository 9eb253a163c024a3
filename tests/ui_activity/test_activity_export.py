"""Exporting the Activity page's rows to CSV: Ctrl+E and the file dialog, a file that reads back with csv (ISO
times, flags by name with their explanation), and a write that fails leaving no half-written file."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from activity_helpers import BEDROOM, BRIDGE, KITCHEN, activation, bridge_status
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.activations import FLAG_TEXT
from ui.models.activity_model import CSV_HEADER, write_csv
from ui.pages.activity import midnight

TODAY = dt.date.today()
NOON = midnight(TODAY) + 12 * 3600


@pytest.fixture
def page(qtbot, window, ctx):
    window.bridge_adapter.bridge_updated.emit(bridge_status())
    ctx.activations.upsert_many([
        activation(1, KITCHEN, NOON - 3600, bytes_up=221_000),
        activation(2, BEDROOM, NOON - 600, flags={"no_speech_nearby", "while_muted"}, bytes_up=46_000, seconds=8),
        activation(3, KITCHEN, NOON - 86400 * 40),
    ])
    window.bridge_adapter.activations_changed.emit()
    window.show_page("activity")
    page = window.activity_page
    qtbot.waitUntil(lambda: len(page.model.records) == 2)
    return page


def read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@contextmanager
def read_only_directory(path: Path):
    """A directory nobody can create files in, root included (this suite runs as root in CI)."""
    path.mkdir()
    path.chmod(0o555)
    immutable = False
    probe = path / ".probe"
    try:
        probe.touch()
    except PermissionError:
        pass
    else:  # root ignores the mode bits: make the directory immutable instead
        probe.unlink()
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if result.returncode != 0:
            pytest.skip(f"cannot make a read-only directory here: {result.stderr.decode().strip()}")
        immutable = True
    try:
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


def test_the_rows_shown_export_to_csv_that_reads_back(qtbot, window, page, tmp_path):
    target = tmp_path / "activity.csv"
    with qtbot.waitSignal(page.status_message) as said:
        assert page.export_csv(str(target))
    assert said.args == [f"Exported 2 activations to {target}."]
    rows = read(target)
    assert list(rows[0]) == list(CSV_HEADER)
    assert [r["speaker"] for r in rows] == ["Bedroom speaker", "Kitchen speaker"]  # as shown: newest first
    muted = rows[0]
    start = dt.datetime.fromisoformat(muted["start"])
    assert start.tzinfo is not None and start.timestamp() == pytest.approx(NOON - 600)
    assert dt.datetime.fromisoformat(muted["end"]).timestamp() == pytest.approx(NOON - 592)
    assert muted["duration_s"] == "8.0" and muted["bytes_sent"] == "46000" and muted["bridge"] == "Demo bridge"
    assert muted["speaker_id"] == "bedroom" and muted["bridge_id"] == BRIDGE
    assert muted["flags"] == "while_muted no_speech_nearby"
    assert muted["flag_explanations"] == f"{FLAG_TEXT['while_muted']} | {FLAG_TEXT['no_speech_nearby']}"
    assert rows[1]["flags"] == "" and rows[1]["flag_explanations"] == ""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left

    # The filters decide what goes out, in the table's order.
    page.set_filters(range_key="all", flagged_only=False)
    page.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # by speaker
    page.export_csv(str(target))
    assert [r["speaker"] for r in read(target)] == ["Bedroom speaker", "Kitchen speaker", "Kitchen speaker"]


def test_ctrl_e_asks_where_and_writes_there(qtbot, window, page, tmp_path):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.navigation.setFocus()  # the shortcut works wherever the focus is on the page's window
    qtbot.keyClick(window.navigation, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = page.export_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.acceptMode() is QFileDialog.AcceptMode.AcceptSave
    assert Path(dialog.selectedFiles()[0]).name == f"earmuff-activity-{TODAY:%Y-%m-%d}.csv"
    target = tmp_path / "mine"
    dialog.setDirectory(str(tmp_path))
    dialog.selectFile(str(target))
    dialog.accept()
    assert len(read(tmp_path / "mine.csv")) == 2  # the .csv suffix added
    assert window.statusBar().currentMessage().startswith("Exported 2 activations")


def test_ctrl_e_on_another_page_does_nothing(qtbot, window, page):
    window.show_page("speakers")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert page.export_dialog is None


def test_a_failed_write_says_so_and_leaves_nothing_half_written(qtbot, page, tmp_path):
    with read_only_directory(tmp_path / "locked") as locked:
        assert not page.export_csv(str(locked / "activity.csv"))
        box = page.export_error_box
        assert box is not None and box.isVisible() and box.icon() is QMessageBox.Icon.Warning
        assert str(locked / "activity.csv") in box.text() and "Nothing was saved" in box.informativeText()
        assert os.listdir(locked) == []
        box.accept()


def test_a_file_is_replaced_whole_or_not_at_all(page, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "activity.csv"
    target.write_text("the previous export\n", encoding="utf-8")

    def broken_rows():
        yield page.model.records[0]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_csv(target, broken_rows())
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert [p.name for p in folder.iterdir()] == ["activity.csv"]
