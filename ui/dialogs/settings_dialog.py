"""The settings dialog: discovery timing and interfaces, what the lists show, tray and notifications."""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.activations import FLAG_TEXT
from app.audio import list_input_devices
from app.discovery.browser import DiscoveryError
from app.settings import (
    ALERT_INTERVAL_RANGE_S,
    REQUERY_RANGE_S,
    RESOLVE_TIMEOUT_RANGE_S,
    Settings,
)
from ui import theme

log = logging.getLogger(__name__)


class SettingsDialog(QDialog):
    """Edits the user-facing fields of `Settings`; saves through `ctx.save_settings`.

    Values are checked by `Settings.validate()`; a problem is shown in the dialog,
    next to the field's name, and the dialog stays open.

    Attributes:
        requery_spin, resolve_spin, interfaces_edit: discovery.
        show_other_check, notify_check, tray_check: behaviour.
        mic_check, mic_combo: this computer's microphone for the Live page (on or off, which one).
        alert_checks: Settings field -> its checkbox (alert_while_muted, ...); alert_interval_spin: the rate limit.
        error_label: the current problem, if any.

    Signals:
        saved(Settings): the stored settings, after a successful save.
    """

    saved = Signal(object)

    def __init__(self, ctx, *, tray_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        settings: Settings = ctx.settings
        self.setWindowTitle("Earmuff settings")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)

        discovery = QGroupBox("Finding speakers", self)
        form = QFormLayout(discovery)
        self.requery_spin = QSpinBox(discovery)
        self.requery_spin.setRange(*REQUERY_RANGE_S)
        self.requery_spin.setSuffix(" s")
        self.requery_spin.setValue(settings.requery_interval_s)
        self.requery_spin.setAccessibleName("Ask the network again every, in seconds")
        self.requery_spin.setToolTip("Some speakers only answer when asked; Earmuff asks again this often.")
        form.addRow("Ask the network again &every:", self.requery_spin)
        self.resolve_spin = QDoubleSpinBox(discovery)
        self.resolve_spin.setRange(*RESOLVE_TIMEOUT_RANGE_S)
        self.resolve_spin.setDecimals(1)
        self.resolve_spin.setSingleStep(0.5)
        self.resolve_spin.setSuffix(" s")
        self.resolve_spin.setValue(settings.resolve_timeout_s)
        self.resolve_spin.setAccessibleName("Wait for a device's details up to, in seconds")
        form.addRow("Wait for a device's details &up to:", self.resolve_spin)
        self.interfaces_edit = QLineEdit(settings.discovery_interfaces, discovery)
        self.interfaces_edit.setAccessibleName("Network interfaces to listen on")
        self.interfaces_edit.setPlaceholderText("all")
        self.interfaces_edit.setToolTip(
            "\u201call\u201d listens on every network this computer is on. To listen on some only, list "
            "this computer's addresses on them, separated by commas, for example 192.168.1.10"
        )
        form.addRow("&Listen on:", self.interfaces_edit)
        form.addRow(
            "",
            theme.paragraph(
                "\u201call\u201d, or this computer's IPv4 addresses separated by commas.", discovery, role="hint"
            ),
        )
        if getattr(ctx, "demo", False):
            form.addRow("", theme.paragraph("The demo always listens on 127.0.0.1 only.", discovery, role="hint"))
        layout.addWidget(discovery)

        behaviour = QGroupBox("Lists and notifications", self)
        column = QVBoxLayout(behaviour)
        self.show_other_check = QCheckBox(
            "List &devices that are not speakers (TVs, streaming sticks…) on the Speakers page", behaviour
        )
        self.show_other_check.setChecked(settings.show_other_devices)
        column.addWidget(self.show_other_check)
        self.notify_check = QCheckBox("&Tell me when a new speaker appears", behaviour)
        self.notify_check.setChecked(settings.notify_new_speakers)
        column.addWidget(self.notify_check)
        self.tray_check = QCheckBox("&Keep running in the system tray when I close the window", behaviour)
        self.tray_check.setChecked(settings.close_to_tray)
        if not tray_available:
            self.tray_check.setEnabled(False)
            self.tray_check.setToolTip("This desktop has no system tray, so closing the window quits Earmuff.")
            self.notify_check.setToolTip("Notifications appear through the system tray, which this desktop lacks.")
            self.notify_check.setEnabled(False)
        column.addWidget(self.tray_check)
        layout.addWidget(behaviour)
        layout.addWidget(self._build_microphone(settings))
        layout.addWidget(self._build_alerts(settings, tray_available))

        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setAccessibleName("Error")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults,
            self,
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        layout.addWidget(self.buttons)

        self._fields = {
            "requery_interval_s": (self.requery_spin, "Ask the network again every"),
            "resolve_timeout_s": (self.resolve_spin, "Wait for a device's details"),
            "discovery_interfaces": (self.interfaces_edit, "Listen on"),
        }
        # WORKAROUND: shown at its minimum size hint, which leaves out the wrapped labels' height for width,
        # the dialog squeezed every section; its size hint counts them.
        self.resize(self.sizeHint())

    def edited(self) -> Settings:
        """The current settings with this dialog's values (not validated)."""
        return replace(
            self._ctx.settings,
            requery_interval_s=self.requery_spin.value(),
            resolve_timeout_s=float(self.resolve_spin.value()),
            discovery_interfaces=self.interfaces_edit.text().strip() or "all",
            show_other_devices=self.show_other_check.isChecked(),
            notify_new_speakers=self.notify_check.isChecked(),
            close_to_tray=self.tray_check.isChecked(),
            **self._microphone_values(),
            **self._alert_values(),
        )

    def restore_defaults(self) -> None:
        defaults = Settings()
        self.requery_spin.setValue(defaults.requery_interval_s)
        self.resolve_spin.setValue(defaults.resolve_timeout_s)
        self.interfaces_edit.setText(defaults.discovery_interfaces)
        self.show_other_check.setChecked(defaults.show_other_devices)
        if self.notify_check.isEnabled():
            self.notify_check.setChecked(defaults.notify_new_speakers)
        if self.tray_check.isEnabled():
            self.tray_check.setChecked(defaults.close_to_tray)
        self._restore_microphone(defaults)
        self._restore_alerts(defaults)

    # -- microphone -------------------------------------------------------------------------------------
    def _build_microphone(self, settings: Settings) -> QGroupBox:
        """This computer's microphone for the Live page: on or off, and which one."""
        box = QGroupBox("Microphone", self)
        column = QVBoxLayout(box)
        self.mic_check = QCheckBox("Use this computer's &microphone for speakers whose bridge has none", box)
        self.mic_check.setChecked(settings.desktop_mic_enabled)
        column.addWidget(self.mic_check)
        form = QFormLayout()
        self.mic_combo = QComboBox(box)
        self.mic_combo.setAccessibleName("Microphone to use")
        self.mic_combo.addItem("The system's default microphone", "")
        devices = list_input_devices()
        for device in devices:
            self.mic_combo.addItem(device.name + (" (default)" if device.is_default else ""), device.name)
        if settings.desktop_mic_device and self.mic_combo.findData(settings.desktop_mic_device) < 0:
            self.mic_combo.addItem(f"{settings.desktop_mic_device} (not connected)", settings.desktop_mic_device)
        self.mic_combo.setCurrentIndex(max(0, self.mic_combo.findData(settings.desktop_mic_device)))
        form.addRow("Mi&crophone:", self.mic_combo)
        column.addLayout(form)
        if not devices:
            column.addWidget(theme.paragraph("No microphone is connected to this computer right now.", box,
                                             role="hint"))
        column.addWidget(theme.paragraph(
            "Earmuff only measures how loud the room is and whether someone is speaking, in memory, while the "
            "Live page is open. Audio is never recorded, stored or sent anywhere.", box, role="hint"))
        self.mic_combo.setEnabled(self.mic_check.isChecked())
        self.mic_check.toggled.connect(self.mic_combo.setEnabled)
        return box

    def _microphone_values(self) -> dict:
        return {"desktop_mic_enabled": self.mic_check.isChecked(),
                "desktop_mic_device": str(self.mic_combo.currentData() or "")}

    def _restore_microphone(self, defaults: Settings) -> None:
        self.mic_check.setChecked(defaults.desktop_mic_enabled)
        self.mic_combo.setCurrentIndex(max(0, self.mic_combo.findData(defaults.desktop_mic_device)))

    # -- alerts -----------------------------------------------------------------------------------------
    def _build_alerts(self, settings: Settings, tray_available: bool) -> QGroupBox:
        """Which flagged uploads raise a notification, and how often at most per speaker."""
        box = QGroupBox("Alerts", self)
        column = QVBoxLayout(box)
        self.alert_checks: dict[str, QCheckBox] = {}
        column.addWidget(QLabel("Alert me when:", box))
        for field, text in (
            ("alert_while_muted", "A muted speaker uploads &anyway: the mute did not hold (critical)"),
            ("alert_during_schedule", "A speaker uploads during its &quiet time (a mute schedule)"),
            ("alert_no_speech_nearby", "A speaker uploads while the room microphone hears &nobody (a false wake-up)"),
        ):
            check = QCheckBox(text, box)
            check.setChecked(getattr(settings, field))
            check.setToolTip(FLAG_TEXT[field.removeprefix("alert_")])
            column.addWidget(check)
            self.alert_checks[field] = check
        form = QFormLayout()
        self.alert_interval_spin = QSpinBox(box)
        self.alert_interval_spin.setRange(*ALERT_INTERVAL_RANGE_S)
        self.alert_interval_spin.setSingleStep(10)
        self.alert_interval_spin.setSuffix(" s")
        self.alert_interval_spin.setValue(settings.alert_min_interval_s)
        self.alert_interval_spin.setAccessibleName("At most one alert per speaker and kind every, in seconds")
        self.alert_interval_spin.setToolTip(
            "A speaker that keeps misfiring raises one alert in this time; the next one says how many more came.")
        form.addRow("At most one alert per speaker and kind e&very:", self.alert_interval_spin)
        column.addLayout(form)
        if not tray_available:
            column.addWidget(theme.paragraph(
                "This desktop has no system tray: alerts appear in the window's status bar instead.", box,
                role="hint"))
        return box

    def _alert_values(self) -> dict:
        return {**{field: check.isChecked() for field, check in self.alert_checks.items()},
                "alert_min_interval_s": self.alert_interval_spin.value()}

    def _restore_alerts(self, defaults: Settings) -> None:
        for field, check in self.alert_checks.items():
            check.setChecked(getattr(defaults, field))
        self.alert_interval_spin.setValue(defaults.alert_min_interval_s)

    def accept(self) -> None:
        settings = self.edited()
        try:
            settings.validate()
            self._ctx.save_settings(settings)
        except ValueError as exc:
            self._show_problem(str(exc))
            return
        except DiscoveryError as exc:
            # The settings are stored; only restarting discovery with them failed.
            log.warning("discovery did not restart with the new settings: %s", exc)
            self._show_problem(f"Saved, but Earmuff cannot listen with these settings: {exc}")
            self.saved.emit(self._ctx.settings)
            return
        self.saved.emit(self._ctx.settings)
        super().accept()

    def _show_problem(self, message: str) -> None:
        field, _, problem = message.partition(": ")
        widget, label = self._fields.get(field, (None, ""))
        if widget is not None:
            message = f"{label}: {problem}"
            widget.setFocus()
        self.error_label.setText(message)
        self.error_label.setVisible(True)
