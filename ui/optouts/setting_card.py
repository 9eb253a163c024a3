"""One vendor setting on the checklist: what it is, the value that protects, where to change it, and what
the user recorded (for the account, or for each of its speakers when the setting is set per speaker)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.optouts.catalog import Setting, Vendor
from app.optouts.recheck import Recheck
from app.optouts.status import ChecklistItem
from ui import theme
from ui.optouts.style import STATE_LEVELS, ago_text, badge, day_text, set_badge, until_text

NOT_RECORDED = "Not recorded"
_SEVERITY = [Recheck.RETIRED, Recheck.OK, Recheck.DUE_SOON, Recheck.TODO, Recheck.DUE, Recheck.OVERDUE,
             Recheck.VENDOR_CHANGED, Recheck.CHANGED]


def worst_state(items: list[ChecklistItem]) -> Recheck:
    return max((item.recheck.state for item in items), key=_SEVERITY.index)


def item_state_text(item: ChecklistItem, now: float) -> tuple[str, str]:
    """(words, level) for what an item's record says: 'Confirmed 3 days ago · re-check in 27 days'."""
    confirmation = item.confirmation
    state = item.recheck.state
    if state is Recheck.RETIRED:
        if confirmation is not None:
            return f"You had recorded “{confirmation.value}” ({ago_text(confirmation.confirmed_at, now)}).", "empty"
        return "", "empty"
    if confirmation is None:
        return "Not done yet.", "incomplete"
    when = f"Confirmed {ago_text(confirmation.confirmed_at, now)}"
    value = ""
    if not item.protective:
        value = f"You keep it at “{confirmation.value}”, which does not protect you. "
    if state.is_due:
        due = item.recheck.due_at
        tail = f"{state.label}" + (f" since {day_text(due)}" if due is not None and due <= now else "")
        reason = f" {item.recheck.reason}" if item.recheck.reason else ""
        return f"{value}{when} · {tail}.{reason}", "attention"
    due = item.recheck.due_at
    tail = f" · re-check {until_text(due, now)}" if due is not None else ""
    level = "incomplete" if not item.protective or state is Recheck.DUE_SOON else "protected"
    return f"{value}{when}{tail}.", level


def state_badge_text(state: Recheck, items: list[ChecklistItem]) -> str:
    if state is Recheck.OK and any(not i.protective for i in items if i.confirmed):
        return "Kept on by choice"
    if state is Recheck.OK:
        return "Done"
    return {Recheck.TODO: "To do", Recheck.DUE_SOON: "Re-check soon", Recheck.DUE: "Re-check due",
            Recheck.OVERDUE: "Overdue", Recheck.CHANGED: "Changed: re-check",
            Recheck.VENDOR_CHANGED: "Vendor change: re-check", Recheck.RETIRED: "Retired"}[state]


class TargetRow(QWidget):
    """The controls for one item: the done toggle, the recorded value, when it was confirmed, the note.

    Attributes:
        item: the ChecklistItem shown.
        done_check: checked when a protective value is recorded; clicking records the recommended
            value (or, unticking, forgets the record).
        value_combo: the recorded value, for choices ("Not recorded" first); None for tasks.
        state_label, note_label: the texts.

    Signals:
        confirm_requested(ChecklistItem, str value), clear_requested(ChecklistItem).
    """

    confirm_requested = Signal(object, str)
    clear_requested = Signal(object)

    def __init__(self, item: ChecklistItem, now: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        setting = item.setting
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(10)
        who = f"{item.target_name}: " if item.target_name else ("every speaker: " if setting.per_device else "")
        if setting.kind == "task":
            text = f"{who}done"
        else:
            text = f"{who}set to “{setting.recommended}”"
        self.done_check = QCheckBox(text[0].upper() + text[1:], self)
        self.done_check.setAccessibleName(f"{setting.title}{' on ' + item.target_name if item.target_name else ''}: "
                                          f"{'done' if setting.kind == 'task' else 'set to ' + setting.recommended}")
        self.done_check.clicked.connect(self._clicked)
        row.addWidget(self.done_check)
        self.value_combo: QComboBox | None = None
        if setting.kind == "choice":
            row.addSpacing(6)
            label = QLabel("Recorded &value:", self)
            label.setProperty("role", "hint")
            row.addWidget(label)
            self.value_combo = QComboBox(self)
            label.setBuddy(self.value_combo)
            self.value_combo.setAccessibleName(f"Recorded value of {setting.title}"
                                               f"{' on ' + item.target_name if item.target_name else ''}")
            self.value_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            longest = max(len(option) + (14 if option == setting.recommended else 0) for option in setting.options)
            self.value_combo.setMinimumContentsLength(min(longest, 36))
            self.value_combo.addItem(NOT_RECORDED, "")
            for option in setting.options:
                suffix = " (recommended)" if option == setting.recommended else (
                    " (also protects)" if setting.is_protective(option) else "")
                self.value_combo.addItem(option + suffix, option)
            self.value_combo.activated.connect(self._value_chosen)
            row.addWidget(self.value_combo)
        row.addStretch(1)
        layout.addLayout(row)
        self.state_label = theme.paragraph("", self, role="hint")
        self.state_label.setAccessibleName(f"{setting.title} status")
        self.state_label.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(self.state_label)
        self.note_label = theme.paragraph("", self, role="hint")
        self.note_label.setContentsMargins(24, 0, 0, 0)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.note_label)
        self.set_item(item, now)

    def set_item(self, item: ChecklistItem, now: float) -> None:
        self.item = item
        self.done_check.setChecked(item.protective)
        if self.value_combo is not None:
            index = self.value_combo.findData(item.confirmation.value if item.confirmation else "")
            self.value_combo.setCurrentIndex(max(index, 0))
        text, level = item_state_text(item, now)
        self.state_label.setText(text)
        self.state_label.setProperty("role", "error" if level == "attention" else "hint")
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)
        note = item.confirmation.note if item.confirmation else ""
        self.note_label.setText(f"Your note: {note}" if note else "")
        self.note_label.setVisible(bool(note))

    def _clicked(self, checked: bool) -> None:
        if checked:
            self.confirm_requested.emit(self.item, self.item.setting.recommended)
        else:
            self.clear_requested.emit(self.item)

    def _value_chosen(self, index: int) -> None:
        assert self.value_combo is not None
        value = self.value_combo.itemData(index)
        current = self.item.confirmation.value if self.item.confirmation else ""
        if value == current:
            return
        if value:
            self.confirm_requested.emit(self.item, value)
        else:
            self.clear_requested.emit(self.item)


def details_html(setting: Setting, vendor: Vendor) -> str:
    """The 'Where and why' text: trade-off, where, by voice, devices, re-check, sources, last verified."""
    def unverified(field_name: str) -> str:
        note = setting.uncertainty(field_name)
        return f" <i>(unverified: {html.escape(note.note)})</i>" if note else ""

    rows = [f"<b>Trade-off:</b> {html.escape(setting.trade_off)}{unverified('trade_off')}"]
    recommended = f"<b>Recommended:</b> {html.escape(setting.recommended)}{unverified('recommended')}"
    if setting.recommended_note:
        recommended += f" — {html.escape(setting.recommended_note)}"
    others = [p for p in setting.protective if p != setting.recommended]
    if others:
        recommended += " (also protects: " + ", ".join(html.escape(p) for p in others) + ")"
    rows.append(recommended)
    steps = " › ".join(html.escape(step) for step in setting.where.steps)
    rows.append(f"<b>Where:</b> {steps}{unverified('where.app')}")
    if setting.where.web:
        rows.append(f"<b>On the web:</b> <a href=\"{html.escape(setting.where.web)}\">"
                    f"{html.escape(setting.where.web)}</a>{unverified('where.web')}")
    voice = setting.voice
    if voice.available in ("yes", "partly"):
        text = f"“{html.escape(voice.phrase)}”" + (f" ({html.escape(voice.note)})" if voice.note else "")
        rows.append(f"<b>By voice{' (partly)' if voice.available == 'partly' else ''}:</b> {text}{unverified('voice')}")
    elif voice.available == "no":
        rows.append("<b>By voice:</b> no" + (f" ({html.escape(voice.note)})" if voice.note else ""))
    families = ", ".join(html.escape(vendor.families.get(f, f)) for f in setting.families)
    rows.append(f"<b>Applies to:</b> {families}" + (" — set on each speaker" if setting.per_device else ""))
    if not setting.is_retired:
        again = f"<b>Re-check:</b> every {setting.recheck_days} days once confirmed"
        if setting.recheck_reason:
            again += f" — {html.escape(setting.recheck_reason)}"
        rows.append(again)
    for change in vendor.changes_for(setting.setting_id):
        when = f"{html.escape(change.date_text)}: " if change.date_text else ""
        rows.append(f"<b>Vendor change:</b> {when}{html.escape(change.summary)}")
    links = " ".join(f"<a href=\"{html.escape(s.url)}\">[{html.escape(s.key)}]</a>" for s in setting.sources)
    rows.append(f"<b>Sources:</b> {links} · last verified {setting.last_verified.isoformat()}")
    return "<br>".join(rows)


class SettingCard(QFrame):
    """A vendor setting with its items (one for the account, or one per linked speaker).

    Attributes:
        setting, vendor: what it shows.
        rows: TargetRows in item order (none for a retired setting).
        title_label, summary_label, state_badge, unverified_badge: the texts.
        open_button: opens the vendor's page; guide_button: "I changed it…" (hidden when retired).
        details_toggle, details_label: "Where and why", folded away until asked for.

    Signals:
        open_requested(Setting), guide_requested(Setting), confirm_requested(ChecklistItem, str),
        clear_requested(ChecklistItem).
    """

    open_requested = Signal(object)
    guide_requested = Signal(object)
    confirm_requested = Signal(object, str)
    clear_requested = Signal(object)

    def __init__(self, setting: Setting, vendor: Vendor, items: list[ChecklistItem], now: float,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setting = setting
        self.vendor = vendor
        self.rows: list[TargetRow] = []
        self.setProperty("role", "card")
        self.setProperty("retired", setting.is_retired)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(setting.title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(4)

        header = QHBoxLayout()
        header.setSpacing(8)
        self.title_label = QLabel(setting.title, self)
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.05)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)
        header.addWidget(self.title_label, 1)
        self.unverified_badge = badge("Unverified", "unverified", self)
        self.unverified_badge.setToolTip("\n".join(u.note for u in setting.uncertain))
        self.unverified_badge.setVisible(bool(setting.uncertain))
        header.addWidget(self.unverified_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        if setting.per_device and not setting.is_retired:
            header.addWidget(badge("Per speaker", "empty", self), 0, Qt.AlignmentFlag.AlignVCenter)
        self.state_badge = badge("", "empty", self)
        self.state_badge.setAccessibleName(f"{setting.title} state")
        header.addWidget(self.state_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(header)

        summary = setting.summary
        if setting.is_retired and setting.retired is not None:
            summary = f"Retired on {setting.retired.date.isoformat()}: {setting.retired.note} {summary}"
            replacement = vendor.setting(setting.retired.replacement) if setting.retired.replacement else None
            if replacement is not None:
                summary += f" Use “{replacement.title}” instead."
        self.summary_label = theme.paragraph(summary, self)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.summary_label)
        if setting.uncertainty("summary"):
            layout.addWidget(theme.paragraph(f"Unverified: {setting.uncertainty('summary').note}", self, role="hint"))

        self._rows_box = QVBoxLayout()
        self._rows_box.setSpacing(2)
        layout.addLayout(self._rows_box)
        self.retired_label = theme.paragraph("", self, role="hint")
        layout.addWidget(self.retired_label)

        actions = QHBoxLayout()
        actions.setSpacing(8)
        self.details_toggle = QToolButton(self)
        self.details_toggle.setObjectName("details_toggle")
        self.details_toggle.setText("Where and why")
        self.details_toggle.setCheckable(True)
        self.details_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.details_toggle.setAccessibleName(f"Where and why: {setting.title}")
        self.details_toggle.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.details_toggle.toggled.connect(self._show_details)
        actions.addWidget(self.details_toggle)
        actions.addStretch(1)
        url = setting.where.url
        self.open_button = QPushButton("Open settings page" if setting.where.web else "Open vendor help", self)
        self.open_button.setAccessibleName(f"Open the vendor page for {setting.title}")
        self.open_button.setToolTip(url or "The vendor has no web page for this: use the app (see Where and why).")
        self.open_button.setEnabled(bool(url))
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self.setting))
        actions.addWidget(self.open_button)
        self.guide_button = QPushButton("I changed it…", self)
        self.guide_button.setAccessibleName(f"I changed {setting.title}")
        self.guide_button.setToolTip("Step by step: where to change it, then record what you set.")
        self.guide_button.clicked.connect(lambda: self.guide_requested.emit(self.setting))
        self.guide_button.setVisible(not setting.is_retired)
        actions.addWidget(self.guide_button)
        layout.addLayout(actions)
        self.details_label = QLabel(details_html(setting, vendor), self)
        self.details_label.setWordWrap(True)
        self.details_label.setTextFormat(Qt.TextFormat.RichText)
        self.details_label.setOpenExternalLinks(True)
        self.details_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.details_label.setContentsMargins(16, 0, 0, 4)
        self.details_label.setVisible(False)
        layout.addWidget(self.details_label)
        self.set_items(items, now)

    def item_keys(self) -> list[tuple[int, str, str]]:
        return [row.item.key for row in self.rows]

    def set_items(self, items: list[ChecklistItem], now: float) -> None:
        state = worst_state(items) if items else Recheck.TODO
        level = STATE_LEVELS[state]
        if level == "protected" and any(item.confirmed and not item.protective for item in items):
            level = "incomplete"
        set_badge(self.state_badge, state_badge_text(state, items), level)
        if self.setting.is_retired:
            texts = [item_state_text(item, now)[0] for item in items]
            self.retired_label.setText(" ".join(t for t in texts if t))
            self.retired_label.setVisible(any(texts))
            return
        self.retired_label.setVisible(False)
        if [item.key for item in items] != self.item_keys():
            for row in self.rows:
                self._rows_box.removeWidget(row)
                row.deleteLater()
            self.rows = []
            for item in items:
                row = TargetRow(item, now, self)
                row.confirm_requested.connect(self.confirm_requested)
                row.clear_requested.connect(self.clear_requested)
                self._rows_box.addWidget(row)
                self.rows.append(row)
        else:
            for row, item in zip(self.rows, items, strict=True):
                row.set_item(item, now)

    def _show_details(self, shown: bool) -> None:
        self.details_label.setVisible(shown)
        self.details_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
