"""The Overview's bridge part: per speaker today's activations and flagged ones (from the real cache, local
midnight on), its mute and the bridge's last contact, and what needs attention, also counted on the
Overview's entry in the page list. The discovered-speaker summary keeps working beside it."""

from __future__ import annotations

import datetime as dt

import pytest
from activity_helpers import BEDROOM, KITCHEN, activation, bridge_status
from PySide6.QtCore import Qt

from app.bridge_client import Connection, SpeakerState
from ui.main_window import PAGE_KEYS
from ui.pages.activity import midnight

TODAY = dt.date.today()
MIDNIGHT = midnight(TODAY)


def cards(page) -> dict[str, object]:
    return {card.speaker.state.name: card for card in page.speaker_cards.values()}


def nav_text(window) -> str:
    return window.navigation.item(PAGE_KEYS.index("overview")).text()


def show(qtbot, window, status) -> None:
    page = window.overview_page
    window.bridge_adapter.bridge_updated.emit(status)
    qtbot.waitUntil(lambda: not page._bridges_timer.isActive() and set(cards(page)) == {
        s.name for s in status.speakers})


@pytest.fixture
def today(ctx):
    ctx.activations.upsert_many([
        activation(1, KITCHEN, MIDNIGHT + 60),
        activation(2, KITCHEN, MIDNIGHT + 120, flags={"no_speech_nearby"}),
        activation(3, KITCHEN, MIDNIGHT + 180),
        activation(4, BEDROOM, MIDNIGHT + 240, flags={"while_muted"}),
        activation(5, KITCHEN, MIDNIGHT - 600, flags={"while_muted"}),  # yesterday: not today's
    ])


def test_without_a_bridge_the_overview_is_as_before(window):
    page = window.overview_page
    assert page.showing_first_run and not page.attention_banner.isVisibleTo(window)
    assert nav_text(window) == "Overview"


def test_each_speaker_shows_today_and_what_needs_attention(qtbot, window, ctx, today):
    page = window.overview_page
    show(qtbot, window, bridge_status())
    assert not page.showing_first_run
    assert page.headline_label.text() == "Today on your bridges: 2 speakers"
    found = cards(page)
    kitchen, bedroom = found["Kitchen speaker"], found["Bedroom speaker"]
    assert kitchen.today_label.text() == "Today: 3 activations \u00b7 1 flagged"
    assert bedroom.today_label.text() == "Today: 1 activation \u00b7 1 flagged"
    assert kitchen.mute_label.text() == "Muted \u00b7 confirmed by the mute light"
    assert kitchen.contact_label.text() == "on Demo bridge \u00b7 Online"
    assert bedroom.mute_label.text() == "Not muted \u00b7 not confirmed (no sense line)"

    texts = [item.text for item in page.attention]
    assert texts == ["Bedroom speaker uploaded while muted today: its mute did not hold.",
                     "Kitchen speaker: 1 flagged upload today."]
    assert page.attention[0].critical and not page.attention[1].critical
    assert page.attention_banner.isVisible() and page.attention_title.text() == "\u26a0 2 things need your attention"
    assert not bedroom.badge.isHidden() and bedroom.badge.text() == "\u26a0 1"
    assert nav_text(window) == "Overview  \u26a0 2"
    item = window.navigation.item(PAGE_KEYS.index("overview"))
    assert "uploaded while muted" in item.toolTip()
    assert item.data(Qt.ItemDataRole.AccessibleTextRole) == "Overview, 2 need attention"

    # A new activation today is counted as soon as the cache says so.
    ctx.activations.upsert_many([activation(6, BEDROOM, MIDNIGHT + 300)])
    window.bridge_adapter.activations_changed.emit()
    qtbot.waitUntil(lambda: cards(page)["Bedroom speaker"].today_label.text() == "Today: 2 activations \u00b7 1 flagged")

    qtbot.mouseClick(cards(page)["Kitchen speaker"].activity_button, Qt.MouseButton.LeftButton)
    activity = window.activity_page
    assert window.current_page_key() == "activity"
    assert activity.selected_speaker() == KITCHEN and activity.range_combo.currentData() == "today"
    assert [r.activation_id for r in activity.model.records] == [3, 2, 1]


def test_a_mute_that_does_not_hold_or_is_not_confirmed_needs_attention(qtbot, window):
    page = window.overview_page
    show(qtbot, window, bridge_status(kitchen=SpeakerState("kitchen", "Kitchen speaker", True, "mismatch", False,
                                                           has_sense=True)))
    assert [(a.text, a.critical) for a in page.attention] == [
        ("Kitchen speaker: the mute is not holding (the mute light says otherwise).", True)]
    assert cards(page)["Kitchen speaker"].mute_label.property("role") == "error"
    show(qtbot, window, bridge_status(kitchen=SpeakerState("kitchen", "Kitchen speaker", True, "unconfirmed",
                                                           has_sense=True)))
    qtbot.waitUntil(lambda: [a.text for a in page.attention] == ["Kitchen speaker: mute not confirmed yet."])
    show(qtbot, window, bridge_status())
    qtbot.waitUntil(lambda: page.attention == [])
    assert not page.attention_banner.isVisible() and nav_text(window) == "Overview"


def test_an_offline_bridge_needs_attention_and_shows_its_last_contact(qtbot, window, today):
    page = window.overview_page
    seen = MIDNIGHT + 8 * 3600 + 5 * 60
    show(qtbot, window, bridge_status(Connection.OFFLINE, last_contact=seen, problem="No answer.",
                                      kitchen=SpeakerState("kitchen", "Kitchen speaker", True, "mismatch",
                                                           has_sense=True)))
    kitchen = cards(page)["Kitchen speaker"]
    assert kitchen.contact_label.text() == "on Demo bridge \u00b7 Offline \u00b7 last contact 08:05"
    offline = [a for a in page.attention if a.speaker_id is None]
    assert [a.text for a in offline] == [
        "Demo bridge is offline \u00b7 last contact 08:05: Earmuff cannot see what its speakers send."]
    assert not any("mute is not holding" in a.text for a in page.attention)  # an old state is not news
    assert kitchen.badge.text() == "\u26a0 2"  # the bridge's problem and its own flagged upload


def test_discovered_speakers_and_bridge_speakers_show_together(qtbot, window, ctx, today):
    ctx.registry.add_manual("192.168.1.50", name="Hall Echo")
    page = window.overview_page
    show(qtbot, window, bridge_status())
    qtbot.waitUntil(lambda: page.headline_label.text() == "1 smart speaker in your home")
    assert page.tiles_host.isVisible() and page.bridge_heading.isVisible()
    assert page.open_speakers_button.isVisible()
    assert set(cards(page)) == {"Kitchen speaker", "Bedroom speaker"}
