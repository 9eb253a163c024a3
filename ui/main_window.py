"""The main window: navigation between the pages, menus and shortcuts, status bar, dialogs."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.devices import Device, DeviceStatus
from ui import theme
from ui.adapters import RegistryAdapter
from ui.alerts import AlertNotifier
from ui.destinations.notices import NewOrganisationNotifier
from ui.bridge_adapter import BridgeAdapter
from ui.deletions.notices import VoiceRunNotifier
from ui.dialogs.about import AboutDialog
from ui.dialogs.add_device import AddDeviceDialog
from ui.dialogs.rename import RenameDialog
from ui.dialogs.rooms import RoomsDialog
from ui.dialogs.settings_dialog import SettingsDialog
from ui.models.devices_model import DevicesModel, Scope
from ui.pages.activity import ActivityPage
from ui.pages.bridges import BridgesPage
from ui.pages.deletions import DeletionsPage
from ui.pages.live import LivePage
from ui.pages.optouts import OptOutsPage
from ui.pages.overview import OverviewPage, plural
from ui.pages.speakers import SpeakersPage
from ui.tray import TrayIcon

log = logging.getLogger(__name__)

PAGE_KEYS = ("overview", "speakers", "live", "activity", "optouts", "deletions", "bridges")


def encode_bytes(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode("ascii")


def decode_bytes(text: str) -> QByteArray:
    return QByteArray.fromBase64(text.encode("ascii")) if text else QByteArray()


class MainWindow(QMainWindow):
    """Earmuff's window. Gets everything from `ctx` (an AppContext) and knows devices only via the adapter.

    Attributes:
        ctx: the AppContext.
        adapter: registry events as Qt signals.
        bridge_adapter: the bridge manager's news as Qt signals (None when the context has no manager).
        model: every device and group, for all pages.
        navigation: the page list on the left; `stack` holds the pages in the same order.
        pages: page key -> page widget.
        overview_page, speakers_page, bridges_page: the pages with live content.
        optouts_page: the Opt-outs page; its `reminders_due` becomes a tray notification (`_optouts_reminder`).
        deletions_page: voice deletions, portal reminders and legal requests; erasure deadlines and due portal
            reminders are told once a day (remind_erasure_deadlines, remind_portal_reminders).
        voice_notices: tells failed voice deletion runs once (None without bridges).
        tray: the TrayIcon (inert without a system tray).
        discovery_label, counts_label: the status bar texts.
        page_actions: Ctrl+1..7, one per page.
        dialogs opened last (kept so tests and the user can reach them): settings_dialog,
            about_dialog, add_dialog, rename_dialog, rooms_dialog, forget_box, startup_error_box.

    Signals:
        closed(): the window really closed (not hidden to the tray); the app should quit.
    """

    closed = Signal()

    def __init__(self, ctx, *, tray_available: bool | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._quitting = False
        self._shown_once = False
        self._told_about_tray = False
        self.settings_dialog: SettingsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self.add_dialog: AddDeviceDialog | None = None
        self.rename_dialog: RenameDialog | None = None
        self.rooms_dialog: RoomsDialog | None = None
        self.forget_box: QMessageBox | None = None
        self.startup_error_box: QMessageBox | None = None

        self.setWindowTitle("Earmuff" + (" (demo)" if getattr(ctx, "demo", False) else ""))
        self.setWindowIcon(theme.app_icon())
        self.setStyleSheet(theme.STYLE_SHEET)
        self.setMinimumSize(QSize(760, 520))

        self.model = DevicesModel(self)
        self.adapter = RegistryAdapter(ctx.registry, self)
        self.model.connect_adapter(self.adapter)
        self.adapter.device_added.connect(self._device_added)
        self.adapter.attach()  # before the snapshot, so nothing falls between the two
        self.model.load(ctx.registry.devices(), ctx.registry.groups())

        manager = getattr(ctx, "bridges", None)
        self.bridge_adapter = (BridgeAdapter(manager, self, recorder=getattr(ctx, "activation_recorder", None),
                                             voice_recorder=getattr(ctx, "voice_run_recorder", None))
                               if manager is not None else None)
        if self.bridge_adapter is not None:
            self.bridge_adapter.attach()  # before the pages read the statuses

        self.tray = TrayIcon(theme.app_icon(), self, available=tray_available)
        self.tray.show_requested.connect(self.bring_to_front)
        self.tray.quit_requested.connect(self.quit)
        self.tray.mute_all_requested.connect(self.mute_all)

        self._build_pages()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self.alerts = AlertNotifier(self, self.tray, self.bridge_adapter, lambda: self.ctx.settings)
        self.alerts.open_requested.connect(self.open_activation)
        self.new_destinations = None
        self.voice_notices = None
        if self.bridge_adapter is not None:
            self.new_destinations = NewOrganisationNotifier(self, self.tray, self.bridge_adapter)
            self.new_destinations.open_requested.connect(self.open_destinations)
            self.voice_notices = VoiceRunNotifier(self, self.tray, self.bridge_adapter)
            self.voice_notices.open_requested.connect(lambda: self.show_deletions("voice"))
        self.model.changed.connect(self._update_counts)
        self._update_counts()
        self._bridges_changed()
        self._restore_state()

    # -- building -------------------------------------------------------------------------------
    def _build_pages(self) -> None:
        settings = self.ctx.settings
        self.overview_page = OverviewPage(
            self.model, show_speakers=lambda: self.show_page("speakers"), add_speaker=self.add_speaker,
            adapter=self.bridge_adapter, activations=getattr(self.ctx, "activations", None),
            show_activity=self.show_activity_today, show_optouts=self.show_due_optouts,
        )
        self.speakers_page = SpeakersPage(self.model, show_other_devices=settings.show_other_devices)
        self.speakers_page.rename_requested.connect(self.rename_device)
        self.speakers_page.forget_requested.connect(self.forget_device)
        self.speakers_page.add_requested.connect(self.add_speaker)
        self.bridges_page = BridgesPage(self.model, self.bridge_adapter)
        self.bridges_page.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        if self.bridge_adapter is not None:
            self.bridge_adapter.bridge_updated.connect(self._bridges_changed)
            self.bridge_adapter.bridge_removed.connect(self._bridges_changed)
            self.bridge_adapter.alarm.connect(self._bridge_alarm)
        self.activity_page = ActivityPage(show_bridges=lambda: self.show_page("bridges"),
                                          adapter=self.bridge_adapter, ctx=self.ctx)
        self.activity_page.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.optouts_page = OptOutsPage(self.ctx, adapter=self.bridge_adapter, model=self.model)
        self.optouts_page.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.optouts_page.reminders_due.connect(self._optouts_reminder)
        self.optouts_page.due_changed.connect(self.overview_page.set_optouts_due)
        self.optouts_page.destinations_requested.connect(self.open_destinations)
        self.deletions_page = DeletionsPage(self.ctx, adapter=self.bridge_adapter, model=self.model)
        self.deletions_page.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.deletions_page.page_requested.connect(lambda: self.show_page("deletions"))
        self.deletions_page.bridges_requested.connect(lambda: self.show_page("bridges"))
        self.deletions_page.optout_requested.connect(self.show_optout)
        self.activity_page.deletion_requested.connect(self.request_deletion)
        # Erasure deadlines and portal reminders: checked at start and every hour; each is told once a day.
        self._erasure_told: set[tuple[int, str, str]] = set()
        self._portal_told: set[tuple[int, str]] = set()
        self._erasure_timer = QTimer(self)
        self._erasure_timer.setInterval(3600 * 1000)
        self._erasure_timer.timeout.connect(self.remind_erasure_deadlines)
        self._erasure_timer.timeout.connect(self.remind_portal_reminders)
        self._erasure_timer.start()
        QTimer.singleShot(0, self.remind_erasure_deadlines)
        QTimer.singleShot(0, self.remind_portal_reminders)
        pages = [
            self.overview_page,
            self.speakers_page,
            LivePage(show_bridges=lambda: self.show_page("bridges"), adapter=self.bridge_adapter, ctx=self.ctx),
            self.activity_page,
            self.optouts_page,
            self.deletions_page,
            self.bridges_page,
        ]
        self.pages = {page.page_key: page for page in pages}
        assert tuple(self.pages) == PAGE_KEYS

        central = QWidget(self)
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)

        side = QWidget(central)
        side.setObjectName("sidebar")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 16, 8, 12)
        side_layout.setSpacing(12)
        brand = QHBoxLayout()
        brand.setContentsMargins(10, 0, 0, 0)
        logo = QLabel(side)
        logo.setPixmap(theme.app_icon().pixmap(28, 28))
        brand.addWidget(logo)
        name = theme.heading("Earmuff", 2, side)
        brand.addWidget(name, 1)
        side_layout.addLayout(brand)

        self.navigation = QListWidget(side)
        self.navigation.setObjectName("navigation")
        self.navigation.setAccessibleName("Pages")
        self.navigation.setFixedWidth(168)
        self.navigation.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for number, page in enumerate(pages, start=1):
            item = QListWidgetItem(page.page_title)
            item.setToolTip(f"{page.page_title} (Ctrl+{number})")
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, f"Ctrl+{number}")
            self.navigation.addItem(item)
        side_layout.addWidget(self.navigation, 1)
        row.addWidget(side)

        self.stack = QStackedWidget(central)
        for page in pages:
            self.stack.addWidget(page)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.navigation.currentRowChanged.connect(self._page_changed)
        self.overview_page.attention_changed.connect(self._overview_attention)
        attention = self.overview_page.attention
        self._overview_attention(len(attention), any(a.critical for a in attention),
                                 "\n".join(a.text for a in attention))

    def _build_actions(self) -> None:
        self.page_actions: list[QAction] = []
        group = QActionGroup(self)
        for number, key in enumerate(PAGE_KEYS, start=1):
            action = QAction(self.pages[key].page_title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, k=key: self.show_page(k))
            group.addAction(action)
            self.addAction(action)
            self.page_actions.append(action)

        self.find_action = self._action("&Find speaker…", "Ctrl+F", self.find_speaker)
        self.settings_action = self._action("&Settings…", "Ctrl+,", self.open_settings)
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = self._action("&Quit", "Ctrl+Q", self.quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.about_action = self._action("&About Earmuff", None, self.open_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.refresh_action = self._action("Search the network &again", "F5", self.search_again)
        self.refresh_action.setToolTip("Ask every device on the network to announce itself now")
        self.mute_all_action = self._action("&Mute all speakers", "Ctrl+Shift+M", lambda: self.mute_all(True))
        self.unmute_all_action = self._action("&Unmute all speakers", "Ctrl+Shift+U", lambda: self.mute_all(False))
        self.rooms_action = self._action("Manage &rooms…", None, self.open_rooms)
        page = self.speakers_page
        self.add_action = page.add_action
        self.rename_action = page.rename_action
        self.forget_action = page.forget_action

    def _action(self, text: str, shortcut: str | None, slot) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.add_action)
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = bar.addMenu("&View")
        for action in self.page_actions:
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.find_action)
        speaker_menu = bar.addMenu("&Speaker")
        speaker_menu.addAction(self.rename_action)
        speaker_menu.addAction(self.forget_action)
        speaker_menu.addAction(self.rooms_action)
        speaker_menu.addSeparator()
        speaker_menu.addAction(self.mute_all_action)
        speaker_menu.addAction(self.unmute_all_action)
        speaker_menu.addSeparator()
        speaker_menu.addAction(self.add_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.discovery_label = QLabel(self._discovery_text())
        self.discovery_label.setAccessibleName("Discovery")
        status.addWidget(self.discovery_label, 1)
        self.counts_label = QLabel()
        self.counts_label.setAccessibleName("Device counts")
        status.addPermanentWidget(self.counts_label)

    # -- pages ------------------------------------------------------------------------------------
    def current_page_key(self) -> str:
        return PAGE_KEYS[max(self.stack.currentIndex(), 0)]

    def open_destinations(self, bridge_id: str, speaker_id: str) -> None:
        """A speaker's Destinations dialog, over the Bridges page (from a notice or the Opt-outs page)."""
        self.bring_to_front()
        self.show_page("bridges")
        self.bridges_page.open_destinations(bridge_id, speaker_id)

    def show_due_optouts(self) -> None:
        """The Opt-outs page, at the first privacy setting due for a re-check."""
        self.show_page("optouts")
        self.optouts_page.show_first_due()

    def show_page(self, key: str) -> None:
        if key in self.pages:
            self.navigation.setCurrentRow(PAGE_KEYS.index(key))

    def _page_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        self.page_actions[row].setChecked(True)

    def find_speaker(self) -> None:
        self.show_page("speakers")
        self.speakers_page.focus_filter()

    # -- status --------------------------------------------------------------------------------------
    def _discovery_text(self) -> str:
        describe = getattr(self.ctx, "describe_discovery", None)
        return describe() if describe else self.ctx.discovery.describe()

    def show_discovery_problem(self, message: str) -> None:
        """Discovery could not start: say so in the status bar and once in a dialog."""
        self.discovery_label.setText(f"Not listening: {message}")
        box = QMessageBox(QMessageBox.Icon.Warning, "Earmuff cannot look for speakers", message,
                          QMessageBox.StandardButton.Ok, self)
        box.setInformativeText("Check the network settings (File \u2192 Settings) and your network connection.")
        box.open()
        self.discovery_problem_box = box

    def _update_counts(self) -> None:
        devices = self.model.devices()
        speakers = [d for d in devices if Scope.SPEAKERS.accepts(d)]
        online = sum(1 for d in speakers if d.status is DeviceStatus.ONLINE)
        parts = [f"{plural(len(speakers), 'speaker')} ({online} online)"]
        others = sum(1 for d in devices if Scope.OTHER.accepts(d))
        if others:
            parts.append(plural(others, "other device"))
        bridges = sum(1 for d in devices if Scope.BRIDGES.accepts(d))
        if bridges:
            parts.append(plural(bridges, "bridge"))
        text = " · ".join(parts)
        self.counts_label.setText(text)
        self.tray.set_tooltip(f"Earmuff: {text}")

    def _device_added(self, device: Device) -> None:
        if self.ctx.settings.notify_new_speakers and device.kind.listens and not device.is_manual:
            made_by = " by ".join(x for x in (device.model, device.vendor) if x)
            what = f"{device.name} ({made_by})" if made_by else device.name
            self.tray.notify("New speaker found", f"{what} is on your network.")

    # -- bridges ------------------------------------------------------------------------------------
    def _bridges_changed(self, *_args) -> None:
        online = self.bridge_adapter is not None and any(s.online for s in self.bridge_adapter.statuses())
        self.tray.set_bridges_online(online)
        self.mute_all_action.setEnabled(online)
        self.unmute_all_action.setEnabled(online)

    def mute_all(self, muted: bool) -> int:
        """Mute (or unmute) every speaker of every online bridge; returns how many were asked."""
        if self.bridge_adapter is None:
            return 0
        count = self.bridge_adapter.manager.set_mute_all(muted, reason="all speakers, from Earmuff")
        verb = "Muting" if muted else "Unmuting"
        self.statusBar().showMessage(
            f"{verb} {plural(count, 'speaker')}…" if count else "No bridge is online: nothing to mute.", 5000)
        return count

    def request_deletion(self, record):
        """"Delete this recording…" on the Activity page: the ways to delete it, over the window."""
        return self.deletions_page.delete_recording(record, parent=self)

    def show_deletions(self, section: str) -> None:
        """The Deletions page on one of its tabs ("voice", "portal", "legal"), the window brought up."""
        self.bring_to_front()
        self.show_page("deletions")
        self.deletions_page.show_section(section)

    def show_optout(self, vendor_id: str, speaker_key: str) -> None:
        """The Opt-outs page at the setting a voice deletion needs, on the account the speaker is linked to (else
        any account of that vendor); without such an account, the dialog to add one."""
        from app.deletions.voice import PREREQUISITE_SETTING

        self.bring_to_front()
        self.show_page("optouts")
        page = self.optouts_page
        tracker = self.ctx.optouts
        accounts = [a for a in tracker.speaker_accounts(speaker_key) if a.vendor == vendor_id] if speaker_key else []
        accounts = accounts or [a for a in tracker.accounts() if a.vendor == vendor_id]
        if not accounts:
            page.open_account_dialog(vendor_id=vendor_id)
            return
        page.select_account(accounts[0].account_id)
        card = page.account_view.cards.get(PREREQUISITE_SETTING.get(vendor_id, ""))
        if card is not None:
            page.scroll.ensureWidgetVisible(card)
            card.setFocus(Qt.FocusReason.OtherFocusReason)

    def remind_portal_reminders(self) -> list[str]:
        """Tell (tray, else status bar) about portal reminders that are due, each once a day; returns what was told."""
        portal = self.deletions_page.portal
        if portal is None:
            return []
        now = self.deletions_page.now()
        today = time.strftime("%Y-%m-%d", time.localtime(now))
        told = []
        for reminder in portal.due():
            key = (reminder.id, today)
            if key in self._portal_told:
                continue
            self._portal_told.add(key)
            told.append(portal.title_of(reminder))
        if told:
            title = "Time to delete recordings on a vendor's page"
            message = "; ".join(told) + ". Earmuff shows the steps."
            if not self.tray.notify(title, message, on_click=lambda: self.show_deletions("portal")):
                self.statusBar().showMessage(f"{title}: {message}", 10000)
        return told

    def remind_erasure_deadlines(self) -> list[str]:
        """Tell (tray, else status bar) about erasure requests whose deadline is near or past; returns what was told."""
        today = self.deletions_page.tracker.today().isoformat()
        told = []
        for request, what in self.deletions_page.tracker.due_reminders():
            key = (request.request_id, what, today)
            if key in self._erasure_told:
                continue
            self._erasure_told.add(key)
            told.append(f"{request.vendor_name} ({request.account_label}): {what}")
        if told:
            title = "Erasure request deadline" + ("s" if len(told) > 1 else "")
            message = "; ".join(told)
            if not self.tray.notify(title, message, on_click=lambda: self.show_page("deletions")):
                self.statusBar().showMessage(f"{title}: {message}", 10000)
        return told

    def _optouts_reminder(self, title: str, message: str) -> None:
        """Opt-out settings are due for a re-check: a tray notification, or the status bar without a tray."""
        if not self.tray.notify(title, message, on_click=self.show_due_optouts):
            self.statusBar().showMessage(f"{title}: {message}", 10000)

    def _bridge_alarm(self, alarm) -> None:
        if self.voice_notices is not None and self.voice_notices.absorbs_alarm(alarm):
            return  # the voice deletion's own notice says it
        self.alerts.bridge_alarm(alarm)  # not twice: an upload-while-muted alert may have said it already

    def open_activation(self, bridge_id: str, speaker_id: str, start: float) -> None:
        """Bring the window up on the Activity page with that activation selected (an alert was clicked)."""
        self.bring_to_front()
        self.show_page("activity")
        self.activity_page.show_activation(bridge_id, speaker_id, start)

    def show_activity_today(self, key: tuple[str, str]) -> None:
        self.show_page("activity")
        self.activity_page.set_filters(speaker=key, range_key="today", flagged_only=False)

    def _overview_attention(self, count: int, critical: bool, summary: str) -> None:
        """The Overview's entry in the page list counts what needs attention."""
        item = self.navigation.item(PAGE_KEYS.index("overview"))
        title = self.overview_page.page_title
        item.setText(f"{title}  \u26a0 {count}" if count else title)
        item.setForeground(QColor("#c62828") if critical else self.navigation.palette().text())
        item.setToolTip(f"{title} (Ctrl+1)" + (f"\nNeeds attention:\n{summary}" if count else ""))
        item.setData(Qt.ItemDataRole.AccessibleTextRole,
                     f"{title}, {count} need{'s' if count == 1 else ''} attention" if count else title)

    # -- dialogs ----------------------------------------------------------------------------------------
    def open_settings(self) -> None:
        self.settings_dialog = SettingsDialog(self.ctx, tray_available=self.tray.available, parent=self)
        self.settings_dialog.saved.connect(self._settings_saved)
        self.settings_dialog.open()

    def _settings_saved(self, settings) -> None:
        self.speakers_page.set_show_other_devices(settings.show_other_devices)
        self.pages["live"].apply_settings(settings)
        self.discovery_label.setText(self._discovery_text())
        self.statusBar().showMessage("Settings saved.", 4000)

    def open_about(self) -> None:
        self.about_dialog = AboutDialog(self.ctx, self)
        self.about_dialog.open()

    def open_rooms(self) -> None:
        self.rooms_dialog = RoomsDialog(self.ctx, self)
        self.rooms_dialog.changed.connect(self.overview_page.refresh)
        self.rooms_dialog.open()

    def add_speaker(self) -> None:
        self.add_dialog = AddDeviceDialog(self.ctx.registry, self)
        self.add_dialog.added.connect(self._speaker_added)
        self.add_dialog.open()

    def _speaker_added(self, device: Device) -> None:
        self.model.upsert(device)
        self.show_page("speakers")
        self.speakers_page.filter_edit.clear()
        self.speakers_page.select_device(device.device_id)
        self.statusBar().showMessage(f"Added {device.name}.", 4000)

    def rename_device(self, device: Device) -> None:
        self.rename_dialog = RenameDialog(device, self.ctx.registry, self.ctx.rooms, self)
        self.rename_dialog.saved.connect(self.model.upsert)
        self.rename_dialog.open()

    def forget_device(self, device: Device) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Forget this device?")
        box.setText(f"Forget \u201c{device.name}\u201d?")
        box.setInformativeText(
            "Earmuff will stop listing it and drop the name and room you gave it. If it announces itself "
            "again, it will be found again as a new device."
        )
        forget = box.addButton("Forget", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _result: self._forget_answered(box, forget, device))
        self.forget_box = box
        box.open()

    def _forget_answered(self, box: QMessageBox, forget_button, device: Device) -> None:
        if box.clickedButton() is not forget_button:
            return
        try:
            self.ctx.registry.forget(device.device_id)
        except KeyError:
            pass  # already gone
        except ValueError as exc:  # it came back online meanwhile
            self.statusBar().showMessage(str(exc), 6000)
            return
        self.statusBar().showMessage(f"Forgot {device.name}.", 4000)

    def search_again(self) -> None:
        self.ctx.discovery.requery_now()
        self.statusBar().showMessage("Asking the network again…", 3000)

    # -- window life --------------------------------------------------------------------------------------
    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit(self) -> None:
        """Close for real, whatever the tray setting says."""
        self._quitting = True
        self.close()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if getattr(self.ctx, "startup_error", None) is not None:
                QTimer.singleShot(0, self._show_startup_error)

    def _show_startup_error(self) -> None:
        error = self.ctx.startup_error
        box = QMessageBox(QMessageBox.Icon.Warning, "Earmuff had a problem with its data", error.user_message,
                          QMessageBox.StandardButton.Ok, self)
        self.startup_error_box = box
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._quitting and self.ctx.settings.close_to_tray and self.tray.available:
            event.ignore()
            self.hide()
            if not self._told_about_tray:
                self._told_about_tray = True
                self.tray.notify("Earmuff is still running",
                                 "It keeps watching your speakers. Quit from the tray icon's menu.")
            return
        self.save_state()
        self.adapter.detach()
        if self.bridge_adapter is not None:
            self.bridge_adapter.detach()
        self.tray.hide()
        super().closeEvent(event)
        self.closed.emit()

    # -- remembering ------------------------------------------------------------------------------------
    def save_state(self) -> None:
        """Store geometry, window state, the page and the speakers' sort order in the settings."""
        column, order = self.speakers_page.sort_state()
        changes = dict(
            window_geometry=encode_bytes(self.saveGeometry()),
            window_state=encode_bytes(self.saveState()),
            last_page=self.current_page_key(),
            speakers_sort_column=column,
            speakers_sort_order=order,
        )
        try:
            update = getattr(self.ctx, "update_settings", None)
            if update is not None:
                update(**changes)
            else:
                self.ctx.save_settings(replace(self.ctx.settings, **changes))
        except (OSError, ValueError) as exc:
            log.warning("could not remember the window's state: %s", exc)

    def _restore_state(self) -> None:
        settings = self.ctx.settings
        if not (settings.window_geometry and self.restoreGeometry(decode_bytes(settings.window_geometry))):
            self.resize(1200, 760)
        if settings.window_state:
            self.restoreState(decode_bytes(settings.window_state))
        self.speakers_page.restore_sort(settings.speakers_sort_column, settings.speakers_sort_order)
        self.show_page(settings.last_page if settings.last_page in self.pages else "overview")
