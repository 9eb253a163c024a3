"""Qt signals for the Qt-free opt-out parts: tracker changes, keyring results, due re-checks."""

from __future__ import annotations

import itertools
import logging
import sqlite3
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.optouts.account_secrets import AccountSecrets, SecretResult
from app.optouts.reminders import ReminderLog, notification
from app.optouts.tracker import OptOutTracker

log = logging.getLogger(__name__)

#: How often due re-checks are looked for while Earmuff runs.
CHECK_INTERVAL_MS = 60 * 60 * 1000


class SecretsAdapter(QObject):
    """Runs AccountSecrets calls (on their worker thread) and hands each result to a slot on the GUI thread."""

    _finished = Signal(int, object)  # request id, SecretResult

    def __init__(self, secrets: AccountSecrets, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.secrets = secrets
        self._ids = itertools.count(1)
        self._pending: dict[int, Callable[[SecretResult], None]] = {}
        self._finished.connect(self._deliver)

    def call(self, method: str, *args, on_done: Callable[[SecretResult], None]) -> None:
        """`secrets.<method>(*args, callback)`; `on_done(SecretResult)` runs on the GUI thread."""
        request_id = next(self._ids)
        self._pending[request_id] = on_done

        def callback(result: SecretResult) -> None:  # on the worker thread
            try:
                self._finished.emit(request_id, result)
            except RuntimeError:
                log.debug("keyring result after the page was deleted")

        getattr(self.secrets, method)(*args, callback)

    @Slot(int, object)
    def _deliver(self, request_id: int, result: SecretResult) -> None:
        on_done = self._pending.pop(request_id, None)
        if on_done is not None:
            on_done(result)

    @property
    def pending(self) -> int:
        return len(self._pending)


class ReminderWatch(QObject):
    """Looks for due re-checks now, after every change, and every CHECK_INTERVAL_MS.

    Attributes:
        tracker: the OptOutTracker.
        items: the due items found last.
        log: what the user was last reminded of.

    Signals:
        due_changed(list): the due items (DueItem) whenever the set changes.
        reminder(str title, str message): a desktop notification is worth showing now.
    """

    due_changed = Signal(list)
    reminder = Signal(str, str)

    def __init__(self, tracker: OptOutTracker, clock: Callable[[], float] = time.time,
                 parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.tracker = tracker
        self.items: list = []
        self.log = ReminderLog()
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> list:
        """Look now; emit `due_changed` if the set changed and `reminder` if it is worth telling."""
        now = self._clock()
        try:
            items = self.tracker.due_items(now)
        except sqlite3.ProgrammingError:  # the database closed: Earmuff is quitting
            self._timer.stop()
            return []
        if [(i.key, i.state) for i in items] != [(i.key, i.state) for i in self.items]:
            self.items = items
            self.due_changed.emit(items)
        if self.log.worth_telling(items, now):
            self.log.told_about(items, now)
            self.reminder.emit(*notification(items))
        return items

    def stop(self) -> None:
        self._timer.stop()
