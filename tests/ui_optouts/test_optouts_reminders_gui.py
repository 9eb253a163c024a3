"""Re-check reminders with a clock the test moves: the page's banner, the signal the Overview page can use,
and the notification the main window passes to the tray (or the status bar without one)."""

from __future__ import annotations

from PySide6.QtCore import Qt


def confirm(page, account_id, setting_id):
    page.tracker.confirm(account_id, setting_id)


def test_a_confirmed_setting_comes_due_and_the_user_is_reminded_once(qtbot, ctx, window, page, clock):
    account = ctx.optouts.add_account("amazon", "Amazon - family")
    confirm(page, account.account_id, "amazon.sidewalk")        # re-check every 30 days
    confirm(page, account.account_id, "amazon.skill-permissions")  # every 90
    page.select_account(account.account_id)
    assert page.watch.check() == [] and not page.due_banner.isVisible()

    clock.advance(31)
    with qtbot.waitSignal(page.due_changed) as due, qtbot.waitSignal(page.reminders_due) as reminded:
        page.watch.check()
    assert [item.setting_id for item in due.args[0]] == ["amazon.sidewalk"]
    assert reminded.args == ["1 privacy setting to re-check",
                             "Amazon Sidewalk (Amazon - family). Open Opt-outs to check them."]
    # No tray in the test: the window shows it in the status bar instead.
    assert window.statusBar().currentMessage().startswith("1 privacy setting to re-check: Amazon Sidewalk")
    qtbot.waitUntil(lambda: page.due_banner.isVisible())
    assert page.due_label.text().startswith("1 privacy setting to re-check: Amazon Sidewalk (Amazon - family).")
    sidewalk = page.account_view.cards["amazon.sidewalk"]
    assert sidewalk.state_badge.text() == "Re-check due" and sidewalk.state_badge.property("level") == "attention"
    assert page.account_view.status_label.text() == "Re-check needed"
    assert page.accounts_list.item(0).text().splitlines()[1].startswith("Amazon · Re-check needed")

    with qtbot.assertNotEmitted(page.reminders_due):  # said once; not again the same day
        page.watch.check()

    qtbot.mouseClick(page.due_button, Qt.MouseButton.LeftButton)  # "Show": to the setting
    assert page.focusWidget() is page.account_view.cards["amazon.sidewalk"].rows[0].done_check
    confirm(page, account.account_id, "amazon.sidewalk")  # checked again
    qtbot.waitUntil(lambda: not page.due_banner.isVisible())
    assert page.watch.items == []


def test_a_reminder_goes_to_the_tray_when_there_is_one(qtbot, ctx, make_window, clock):
    window = make_window(ctx)
    told = []
    clicks = []
    window.tray.notify = lambda title, message, on_click=None: told.append((title, message)) or clicks.append(
        on_click) or True
    account = ctx.optouts.add_account("google", "Google")
    ctx.optouts.confirm(account.account_id, "google.web-app-activity")
    clock.advance(40)
    window.optouts_page.watch.check()
    assert told == [("1 privacy setting to re-check", "Web & App Activity (Google). Open Opt-outs to check them.")]
    clicks[0]()  # clicking the notification opens the setting
    assert window.current_page_key() == "optouts"


def test_overdue_items_are_checked_on_a_timer_without_the_page_being_open(qtbot, ctx, make_window, clock):
    account = ctx.optouts.add_account("sonos", "Sonos")
    ctx.optouts.confirm(account.account_id, "sonos.additional-usage-data")
    clock.advance(200)
    window = make_window(ctx)
    with qtbot.waitSignal(window.optouts_page.reminders_due) as reminded:
        pass  # the page looks once as soon as the event loop runs
    assert "1 overdue" in reminded.args[1]


def test_the_overview_shows_due_rechecks_and_takes_the_user_to_the_first(qtbot, ctx, window, clock):
    account = ctx.optouts.add_account("amazon", "Amazon - family")
    ctx.optouts.confirm(account.account_id, "amazon.sidewalk")
    overview = window.overview_page
    assert overview.recheck_banner.isHidden()
    clock.advance(31)
    window.optouts_page.watch.check()
    qtbot.waitUntil(lambda: not overview.recheck_banner.isHidden())
    assert overview.recheck_label.text() == "1 privacy setting to re-check: Amazon Sidewalk (Amazon - family)"
    qtbot.mouseClick(overview.recheck_button, Qt.MouseButton.LeftButton)
    assert window.current_page_key() == "optouts"
    ctx.optouts.confirm(account.account_id, "amazon.sidewalk")
    window.optouts_page.watch.check()
    qtbot.waitUntil(lambda: overview.recheck_banner.isHidden())
