"""Pairing with a bridge: find it, let the user compare its certificate fingerprint, then send the code."""

from __future__ import annotations

import math

from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.bridge_client import BridgeProbe, Outcome, PairingLocked, group_fingerprint
from ui import theme
from ui.bridge_adapter import BridgeAdapter


def fingerprint_lines(fingerprint: str) -> str:
    """The grouped fingerprint on two lines of 16 pairs, as it is easiest to compare."""
    pairs = group_fingerprint(fingerprint).split(":")
    return "\n".join(":".join(pairs[i:i + 16]) for i in range(0, len(pairs), 16))


class PairBridgeDialog(QDialog):
    """Connects to a bridge, shows its fingerprint to compare, and pairs with the 6-digit code.

    Nothing here blocks: the manager probes and pairs on its workers; results come back through
    the adapter. Errors stay in the dialog so the user can correct the address or the code.

    Attributes:
        address_edit, connect_button: where the bridge is.
        found_box: the bridge's name and fingerprint once it answered (hidden before).
        name_label, fingerprint_label, warning_label: what the bridge showed, and doubts about it.
        code_edit, pair_button: the pairing code.
        status_label: "Connecting…", "Pairing…".
        error_label: what went wrong.
        probe_result: the BridgeProbe of the bridge that answered (None before).

    Signals:
        paired(PairedBridge): the bridge was paired and its token stored.
    """

    paired = Signal(object)

    def __init__(self, adapter: BridgeAdapter, *, address: str = "", expected_id: str | None = None,
                 expected_fingerprint_prefix: str | None = None, pinned_fingerprint: str | None = None,
                 title: str = "Pair with a bridge", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._expected_id = expected_id
        self._expected_prefix = (expected_fingerprint_prefix or "").lower() or None
        self._pinned = (pinned_fingerprint or "").lower() or None
        self.probe_result: BridgeProbe | None = None
        self._busy = False
        self._locked_until = 0.0
        self._lock_timer = QTimer(self)
        self._lock_timer.setInterval(1000)
        self._lock_timer.timeout.connect(self._tick_lock)
        self._seconds_left = 0
        self.setWindowTitle(title)
        self.setMinimumWidth(560)

        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        layout.addWidget(theme.paragraph(
            "Pairing lets this computer control the bridge. You need the 6-digit code the bridge shows: "
            "run “earmuff-bridge pair-code” on the bridge, or look in its log.", self))

        address_row = QHBoxLayout()
        address_label = QLabel("&Address:", self)
        self.address_edit = QLineEdit(address, self)
        self.address_edit.setPlaceholderText("for example 192.168.1.60 or earmuff-pi.local:8443")
        self.address_edit.setAccessibleName("Bridge address")
        address_label.setBuddy(self.address_edit)
        self.connect_button = QPushButton("&Connect", self)
        self.connect_button.setAccessibleName("Connect to the bridge")
        self.connect_button.clicked.connect(self.connect_to_bridge)
        self.address_edit.returnPressed.connect(self.connect_to_bridge)
        self.address_edit.textChanged.connect(self._address_changed)
        address_row.addWidget(address_label)
        address_row.addWidget(self.address_edit, 1)
        address_row.addWidget(self.connect_button)
        layout.addLayout(address_row)

        self.found_box = QGroupBox("The bridge that answered", self)
        found = QVBoxLayout(self.found_box)
        self.name_label = QLabel(self.found_box)
        self.name_label.setWordWrap(True)
        found.addWidget(self.name_label)
        found.addWidget(theme.paragraph(
            "Compare this certificate fingerprint with the one the bridge prints (earmuff-bridge pair-code, or "
            "its log). Pair only if they are the same: then nobody can listen in between.", self.found_box,
            role="hint"))
        self.fingerprint_label = QLabel(self.found_box)
        self.fingerprint_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                       | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.fingerprint_label.setAccessibleName("Certificate fingerprint")
        found.addWidget(self.fingerprint_label)
        self.warning_label = theme.paragraph("", self.found_box, role="error")
        self.warning_label.setVisible(False)
        found.addWidget(self.warning_label)
        form = QFormLayout()
        self.code_edit = QLineEdit(self.found_box)
        self.code_edit.setMaxLength(6)
        self.code_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,6}"), self.code_edit))
        self.code_edit.setPlaceholderText("6 digits")
        self.code_edit.setAccessibleName("Pairing code")
        self.code_edit.setMaximumWidth(140)
        self.code_edit.textChanged.connect(self._update_buttons)
        self.code_edit.returnPressed.connect(self.pair)
        form.addRow("Pairing &code:", self.code_edit)
        found.addLayout(form)
        self.found_box.setVisible(False)
        layout.addWidget(self.found_box)

        self.status_label = theme.paragraph("", self, role="hint")
        self.status_label.setAccessibleName("Progress")
        self.status_label.setVisible(False)
        layout.addWidget(self.status_label)
        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setAccessibleName("Error")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.pair_button = self.buttons.addButton("&Pair", QDialogButtonBox.ButtonRole.AcceptRole)
        self.pair_button.setAccessibleName("Pair")
        self.buttons.accepted.connect(self.pair)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._update_buttons()
        if address:
            QTimer.singleShot(0, self.connect_to_bridge)

    # -- finding the bridge --------------------------------------------------------------------------
    def connect_to_bridge(self) -> None:
        if self._busy or not self.address_edit.text().strip():
            return
        self.probe_result = None
        self.found_box.setVisible(False)
        self._set_busy("Connecting…")
        self._adapter.call("probe", self.address_edit.text(), on_done=self._probed)

    def _probed(self, outcome: Outcome) -> None:
        self._set_busy(None)
        if not outcome.ok:
            self._show_error(outcome.message)
            return
        found: BridgeProbe = outcome.value
        self.probe_result = found
        info = found.info
        self.name_label.setText(
            f"<b>{_escape(info.name)}</b> at {_escape(found.host)}:{found.port} · version {_escape(info.version)}"
            f" · time zone {_escape(info.time_zone)}")
        self.fingerprint_label.setText(fingerprint_lines(found.fingerprint))
        warnings = []
        if self._expected_id and info.bridge_id != self._expected_id:
            warnings.append("This is not the bridge that was announced at this address.")
        if self._expected_prefix and not found.fingerprint.startswith(self._expected_prefix):
            warnings.append("This certificate is not the one the bridge announced on the network. Someone may be "
                            "intercepting: do not pair unless the fingerprint matches what the bridge prints.")
        if self._pinned and found.fingerprint != self._pinned:
            warnings.append(
                "This is a different certificate than when you paired. That is expected after you reset or "
                "reinstalled the bridge; otherwise do not pair.\nPreviously: " + fingerprint_lines(self._pinned))
        if info.pairing == "button":
            warnings.append("This bridge has a pairing button: press it, then enter the code within a minute.")
        self.warning_label.setText("\n\n".join(warnings))
        self.warning_label.setVisible(bool(warnings))
        self.found_box.setVisible(True)
        self.error_label.setVisible(False)
        self._update_buttons()
        self._fit()
        self.code_edit.setFocus()

    def _address_changed(self) -> None:
        if self.probe_result is not None:
            self.probe_result = None
            self.found_box.setVisible(False)
        self._update_buttons()

    # -- pairing --------------------------------------------------------------------------------------
    def pair(self) -> None:
        if not self.pair_button.isEnabled():
            return
        assert self.probe_result is not None
        self._set_busy("Pairing…")
        self._adapter.call("pair", self.probe_result, self.code_edit.text(), on_done=self._paired)

    def _paired(self, outcome: Outcome) -> None:
        self._set_busy(None)
        if not outcome.ok:
            if isinstance(outcome.error, PairingLocked):
                self._start_lock(outcome.error.retry_after)
            self._show_error(outcome.message)
            self.code_edit.selectAll()
            self.code_edit.setFocus()
            return
        self.paired.emit(outcome.value)
        self.accept()

    def _start_lock(self, seconds: float) -> None:
        self._seconds_left = max(1, math.ceil(seconds))
        self._lock_timer.start()
        self._update_buttons()

    def _tick_lock(self) -> None:
        self._seconds_left -= 1
        if self._seconds_left <= 0:
            self._lock_timer.stop()
            self._show_error("You can try the code again now.")
        else:
            self._show_error(
                f"Too many wrong codes. The bridge refuses pairing for {self._seconds_left} more "
                f"second{'s' if self._seconds_left != 1 else ''}; wait, then enter the current code.")
        self._update_buttons()

    @property
    def locked_seconds(self) -> int:
        return self._seconds_left if self._lock_timer.isActive() else 0

    # -- state ------------------------------------------------------------------------------------------
    def _set_busy(self, text: str | None) -> None:
        self._busy = text is not None
        self.status_label.setText(text or "")
        self.status_label.setVisible(self._busy)
        if self._busy:
            self.error_label.setVisible(False)
        self._update_buttons()

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self._fit()

    def _fit(self) -> None:
        # WORKAROUND: a dialog does not grow by itself when wrapped labels appear in it, so the new
        # lines were cut off; ask the layout for the height at the current width.
        layout = self.layout()
        layout.activate()
        height = layout.heightForWidth(self.width()) if layout.hasHeightForWidth() else layout.sizeHint().height()
        if height > self.height():
            self.resize(self.width(), height)

    def _update_buttons(self) -> None:
        self.connect_button.setEnabled(not self._busy and bool(self.address_edit.text().strip()))
        self.address_edit.setReadOnly(self._busy)
        ready = (self.probe_result is not None and len(self.code_edit.text()) == 6 and not self._busy
                 and not self._lock_timer.isActive())
        self.pair_button.setEnabled(ready)
        self.pair_button.setDefault(self.probe_result is not None)
        self.connect_button.setDefault(self.probe_result is None)

    def reject(self) -> None:
        self._lock_timer.stop()
        super().reject()

    def done(self, result: int) -> None:
        self._lock_timer.stop()
        super().done(result)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
