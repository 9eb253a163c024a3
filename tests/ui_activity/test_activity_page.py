"""The Activity page on the app's real SQLite activation cache, fed through the bridge adapter's real signals:
honest empty states, rows newest first with units and explained flags, filters (speaker, days, custom dates
checked, flagged only), the per-day chart, sorting, live updates that keep the selection and the scroll,
activations in progress, the keyboard, and nothing that offers to delete a recording yet."""

from __future__ import annotations

import datetime as dt

import pytest
from activity_helpers import BEDROOM, BRIDGE, KITCHEN, activation, bridge_status
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QApplication

from app.activations import FLAG_TEXT, ActivationRecord, describe_flags
from app.bridge_client import Connection
from ui.models.activity_model import Column, InProgress
from ui.pages.activity import midnight

TODAY = dt.date.today()


def noon(days_ago: int) -> float:
    """Midday, local time, `days_ago` days ago: safely inside that day whenever the test runs."""
    return midnight(TODAY - dt.timedelta(days=days_ago)) + 12 * 3600


def add(qtbot, window, ctx, *records: ActivationRecord) -> None:
    """Store records in the cache and tell the window, as the recorder does after a sync."""
    page = window.activity_page
    before = len(page.model.records)
    ctx.activations.upsert_many(records)
    window.bridge_adapter.activations_changed.emit()
    qtbot.waitUntil(lambda: len(page.model.records) != before or page._stack.currentIndex() == 2
                    and not page._reload_timer.isActive())


def texts(page, column: Column) -> list[str]:
    model = page.model
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def ids(page) -> list[int]:
    return [r.activation_id for r in page.model.records]


@pytest.fixture
def page(window):
    window.bridge_adapter.bridge_updated.emit(bridge_status())
    window.show_page("activity")
    return window.activity_page


@pytest.fixture
def week(qtbot, window, ctx, page):
    """Activations today, 3, 20 and 100 days ago; two flagged."""
    add(qtbot, window, ctx,
        activation(1, KITCHEN, noon(0), bytes_up=221_000),
        activation(2, BEDROOM, noon(0) + 600, flags={"no_speech_nearby"}, bytes_up=46_500, seconds=8),
        activation(3, KITCHEN, noon(3), flags={"while_muted", "no_speech_nearby"}, bytes_up=1_260_000,
                   seconds=72),
        activation(4, BEDROOM, noon(20), bytes_up=900),
        activation(5, KITCHEN, noon(100)))
    return page


def deletion_is_hooked_up(page) -> bool:
    """The one deletion action is a live button ("Delete this recording…": the ways to delete it), not a dead one."""
    buttons = [b for b in page.findChildren(QAbstractButton) if "delet" in b.text().lower()]
    actions = [a for a in page.findChildren(QAction) if "delet" in a.text().lower()]
    return buttons == [page.delete_button] and not actions and page.delete_button.receivers("2clicked()") > 0


def test_without_a_bridge_it_explains_and_leads_to_the_bridges_page(qtbot, window):
    page = window.activity_page
    window.show_page("activity")
    assert page.no_bridge_state.isVisible()
    assert "bridge" in page.no_bridge_state.body_label.text()
    qtbot.mouseClick(page.no_bridge_state.action_button, Qt.MouseButton.LeftButton)
    assert window.current_page_key() == "bridges"


def test_a_paired_bridge_without_activations_says_none_yet(page):
    assert page.no_activations_state.isVisible()
    assert page.no_activations_state.title_label.text() == "No activations yet"


def test_rows_come_newest_first_in_plain_units_with_flags_explained(qtbot, week):
    page = week
    page.set_filters(range_key="all")
    assert ids(page) == [2, 1, 3, 4, 5]
    assert texts(page, Column.WHEN)[0].startswith("Today ")
    assert texts(page, Column.SPEAKER)[:2] == ["Bedroom speaker", "Kitchen speaker"]
    assert texts(page, Column.DURATION)[:3] == ["8 s", "6 s", "1 min 12 s"]
    assert texts(page, Column.SENT) == ["46.5 kB", "221 kB", "1.3 MB", "900 B", "221 kB"]
    assert texts(page, Column.PEAK)[1] == "73.7 kB/s" and texts(page, Column.CONFIDENCE)[0] == "97%"
    assert texts(page, Column.FLAGS)[:3] == ["Nobody was speaking", "", "Uploaded while muted, Nobody was speaking"]
    model = page.model
    tip = model.data(model.index(2, Column.FLAGS), Qt.ItemDataRole.ToolTipRole)
    assert tip == describe_flags(frozenset({"while_muted", "no_speech_nearby"}))
    assert tip.startswith(FLAG_TEXT["while_muted"])

    page.table.selectRow(2)
    details = page.details.toPlainText()
    assert "Kitchen speaker" in details and "on Demo bridge" in details and "1,260,000 bytes" in details
    assert "Uploaded while muted: the mute did not hold." in details
    assert "Nobody was speaking: the room microphone heard no speech" in details
    page.table.selectRow(1)
    assert "Not flagged" in page.details.toPlainText()
    assert deletion_is_hooked_up(page)


def test_enter_on_a_row_opens_its_details(qtbot, window, week):
    page = week
    page.table.setFocus()
    qtbot.waitUntil(page.table.hasFocus)
    page.table.selectRow(0)
    qtbot.keyClick(page.table, Qt.Key.Key_Down)
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert page.details.hasFocus()
    assert page.selected_row().activation_id == 1
    assert "Kitchen speaker" in page.details.toPlainText()


def test_the_filters_narrow_by_speaker_days_and_flags(qtbot, week):
    page = week
    assert page.range_combo.currentData() == "7d"
    assert ids(page) == [2, 1, 3]
    combo = page.speaker_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["All speakers", "Bedroom speaker",
                                                                 "Kitchen speaker"]
    combo.setCurrentIndex(combo.findText("Kitchen speaker"))
    assert page.selected_speaker() == KITCHEN
    assert ids(page) == [1, 3]
    combo.setCurrentIndex(0)
    for key, expected in (("today", [2, 1]), ("30d", [2, 1, 3, 4]), ("all", [2, 1, 3, 4, 5])):
        page.range_combo.setCurrentIndex(page.range_combo.findData(key))
        assert ids(page) == expected, key
    page.flagged_check.setChecked(True)
    assert ids(page) == [2, 3]
    assert page.summary_label.text().startswith("2 activations \u00b7 2 flagged")
    page.flagged_check.setChecked(False)

    # Custom dates: the days shown are inclusive, in local time; the wrong way round is refused plainly.
    page.range_combo.setCurrentIndex(page.range_combo.findData("custom"))
    assert page.from_edit.isVisible() and page.to_edit.isVisible()
    page.set_filters(days=(TODAY - dt.timedelta(days=20), TODAY - dt.timedelta(days=3)))
    assert ids(page) == [3, 4]
    page.set_filters(days=(TODAY, TODAY - dt.timedelta(days=3)))
    assert page.range_error_label.isVisible()
    assert "\u201cfrom\u201d day is after the \u201cto\u201d day" in page.range_error_label.text()
    assert ids(page) == [] and not page.export_button.isEnabled() and not page.chart.isVisible()
    page.set_filters(days=(TODAY - dt.timedelta(days=3), TODAY))
    assert not page.range_error_label.isVisible() and ids(page) == [2, 1, 3]

    # Nothing matches: said so, with one click back to everything.
    page.set_filters(speaker=BEDROOM, range_key="7d", flagged_only=True)
    assert ids(page) == [2]
    page.set_filters(days=(TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)))
    assert page.no_match_label.isVisible() and page.no_match_label.text() == "No activation matches these filters."
    qtbot.mouseClick(page.show_all_button, Qt.MouseButton.LeftButton)
    assert ids(page) == [2, 1, 3, 4, 5] and page.table.isVisible()
    assert page.selected_speaker() is None and not page.flagged_check.isChecked()


def test_the_chart_counts_each_local_day_per_speaker_like_the_cache(qtbot, window, ctx, page):
    add(qtbot, window, ctx, *[activation(n, KITCHEN if n % 3 else BEDROOM, noon(n % 9) + n * 60,
                                         flags={"during_schedule"} if n % 4 == 0 else ())
                              for n in range(1, 40)])
    page.set_filters(range_key="30d")
    first = TODAY - dt.timedelta(days=29)
    assert page.chart.days[0] == first and page.chart.days[-1] == TODAY and len(page.chart.days) == 30
    expected = ctx.activations.per_day(midnight(first), midnight(TODAY + dt.timedelta(days=1)))
    shown = {(day, *key): count for day, per in page.chart.counts.items() for key, count in per.items()}
    assert shown == expected
    assert page.chart.total() == 39
    assert list(page.chart.names.values()) == ["Bedroom speaker", "Kitchen speaker"]
    kitchen_bar = page.chart.bars[KITCHEN].opts
    assert kitchen_bar["height"][-1] == expected.get((TODAY, *KITCHEN), 0)
    assert list(kitchen_bar["y0"]) == list(page.chart.bars[BEDROOM].opts["height"])  # stacked on the bedroom's

    page.flagged_check.setChecked(True)
    assert page.chart.total() == sum(1 for n in range(1, 40) if n % 4 == 0)


def test_sorting_by_meaning_keeps_the_activation_in_progress_on_top_and_the_selection(qtbot, window, week):
    page = week
    page.set_filters(range_key="all")
    page.table.selectRow(ids(page).index(4))
    window.bridge_adapter.activation_event.emit(BRIDGE, "activation_started",
                                                {"speaker_id": "bedroom", "start": noon(0) + 900,
                                                 "confidence": 0.9, "flags": []})
    assert isinstance(page.model.row_at(0), InProgress)
    page.table.sortByColumn(Column.SENT, Qt.SortOrder.AscendingOrder)
    assert ids(page) == [4, 2, 5, 1, 3]  # 900 B first, 1.3 MB last; equal sizes by time
    assert isinstance(page.model.row_at(0), InProgress)
    assert page.selected_row().activation_id == 4
    page.table.sortByColumn(Column.FLAGS, Qt.SortOrder.DescendingOrder)
    assert ids(page)[:2] == [3, 2]  # sent while muted first
    assert isinstance(page.model.row_at(0), InProgress) and page.selected_row().activation_id == 4


def test_live_updates_keep_the_selection_and_the_scroll_position(qtbot, window, ctx, page):
    add(qtbot, window, ctx, *[activation(n, KITCHEN, noon(0) - n * 60) for n in range(1, 80)])
    page.set_filters(range_key="today")
    page.table.selectRow(40)
    page.table.verticalScrollBar().setValue(30)
    top = page.model.row_at(30).activation_id
    add(qtbot, window, ctx, activation(100, BEDROOM, noon(0) + 60), activation(101, KITCHEN, noon(0) + 120))
    assert ids(page)[:2] == [101, 100]
    assert page.selected_row().activation_id == 41
    assert page.model.row_at(page.table.verticalScrollBar().value()).activation_id == top

    # At the very top, new activations come into view.
    page.table.verticalScrollBar().setValue(0)
    add(qtbot, window, ctx, activation(102, KITCHEN, noon(0) + 180))
    assert page.table.verticalScrollBar().value() == 0 and ids(page)[0] == 102


def test_an_activation_in_progress_shows_on_top_until_it_ends(qtbot, window, ctx, week):
    page = week
    adapter = window.bridge_adapter
    start = noon(0) + 3600
    adapter.activation_event.emit(BRIDGE, "activation_started",
                                  {"speaker_id": "kitchen", "start": start, "confidence": 0.93,
                                   "flags": ["while_muted"]})
    row = page.model.row_at(0)
    assert isinstance(row, InProgress) and row.speaker_name == "Kitchen speaker"
    assert texts(page, Column.DURATION)[0] == "in progress" and texts(page, Column.FLAGS)[0] == "Uploaded while muted"
    assert "1 in progress" in page.summary_label.text()
    page.table.selectRow(0)
    assert "still sending" in page.details.toPlainText()

    # The flagged-only filter keeps it (it is flagged); another speaker's filter hides it.
    page.set_filters(speaker=BEDROOM)
    assert not any(isinstance(page.model.row_at(r), InProgress) for r in range(page.model.rowCount()))
    page.set_filters(speaker=None)
    page.table.selectRow(0)

    ctx.activations.upsert_many([activation(9, KITCHEN, start, flags={"while_muted"})])
    adapter.activations_changed.emit()
    adapter.activation_event.emit(BRIDGE, "activation_ended",
                                  {"id": 9, "speaker_id": "kitchen", "start": start, "end": start + 6,
                                   "bytes_up": 221_000, "peak_rate": 7e4, "confidence": 0.93,
                                   "flags": ["while_muted"]})
    assert page.model.rowCount() == 4 and ids(page)[0] == 9
    assert page.selected_row().activation_id == 9  # the selection followed it from "in progress"

    # A bridge that goes offline cannot say how its activations end: the row does not linger.
    adapter.activation_event.emit(BRIDGE, "activation_started", {"speaker_id": "bedroom", "start": start + 60,
                                                                 "confidence": 0.9, "flags": []})
    assert isinstance(page.model.row_at(0), InProgress)
    adapter.bridge_updated.emit(bridge_status(Connection.OFFLINE, problem="No answer."))
    assert not isinstance(page.model.row_at(0), InProgress)


def test_the_filters_and_the_table_are_reachable_by_keyboard(qtbot, window, week):
    page = week
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page.speaker_combo.setFocus()
    order = []
    for _ in range(5):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order == [page.range_combo, page.flagged_check, page.export_button, page.table, page.details]
    page.set_filters(range_key="custom")
    page.range_combo.setFocus()
    qtbot.keyClick(page.range_combo, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.from_edit


def test_showing_an_activation_widens_filters_that_hide_it(week):
    page = week
    page.set_filters(speaker=BEDROOM, flagged_only=True)
    assert page.show_activation(BRIDGE, "kitchen", noon(100))
    assert page.selected_row().activation_id == 5
    assert page.range_combo.currentData() == "all" and page.selected_speaker() is None
    assert not page.show_activation(BRIDGE, "kitchen", noon(1))  # not in the cache (yet)
