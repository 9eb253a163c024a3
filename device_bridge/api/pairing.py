"""Pairing: a 6-digit code (and optionally a button press) in exchange for a bearer token.

The code is random (secrets), renewed after every successful pairing and every 10 minutes, logged, and
written to `<data dir>/pairing-code` (mode 0600, replaced atomically) so `earmuff-bridge pair-code` can
show it. Five wrong codes lock pairing for a minute; the count and the lock are kept in the store, so a
restart does not reset them. With a pairing button configured, a press opens a 60-second window and
pairing is refused outside it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device_bridge.api.auth import Authenticator
from device_bridge.paths import write_private_file

log = logging.getLogger(__name__)

CODE_FILE = "pairing-code"
CODE_DIGITS = 6
CODE_LIFETIME_S = 600.0
MAX_FAILURES = 5
LOCKOUT_S = 60.0
BUTTON_WINDOW_S = 60.0
_META_FAILURES = "pairing.failures"
_META_LOCKED_UNTIL = "pairing.locked_until"


class PairingError(Exception):
    """Pairing was refused; `status` is the HTTP status the API answers with."""

    status = 400


class WrongCode(PairingError):
    status = 401

    def __init__(self) -> None:
        super().__init__("wrong pairing code")


class PairingLocked(PairingError):
    """Too many wrong codes. Attributes: retry_after (seconds, rounded up)."""

    status = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(-(-retry_after // 1)))
        super().__init__(f"too many wrong codes: pairing is locked for {self.retry_after} s")


class ButtonRequired(PairingError):
    status = 403

    def __init__(self) -> None:
        super().__init__("press the pairing button on the bridge first")


@dataclass(frozen=True)
class Paired:
    """A successful pairing. Attributes: token (shown once, never stored), token_id, client_name."""

    token: str
    token_id: int
    client_name: str


def read_code_file(data_dir: Path) -> str:
    """The code a running bridge wrote into `data_dir` (raises OSError if there is none)."""
    return (Path(data_dir) / CODE_FILE).read_text(encoding="ascii").strip()


class PairingManager:
    """The current pairing code, the lockout and the optional pairing button.

    Thread-safe. `refresh()` renews an expired code; the service calls it every second, and every
    other method calls it first, so a controllable clock in tests renews the code without a thread.

    Attributes:
        mode: "open", "button" (a button is configured and its window is closed) or "locked".
    """

    def __init__(
        self,
        store: Any,
        data_dir: Path,
        authenticator: Authenticator,
        *,
        clock: Callable[[], float] = time.time,
        button_pin: int | str | None = None,
    ) -> None:
        self._store = store
        self._code_file = Path(data_dir) / CODE_FILE
        self._auth = authenticator
        self._clock = clock
        self._button_pin = button_pin
        self._lock = threading.RLock()
        self._code = ""
        self._code_issued = 0.0
        self._window_until = 0.0
        self._button: Any = None
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Make the first code and open the pairing button (gpiozero, on the current pin factory)."""
        with self._lock:
            self._renew("bridge started")
        if self._button_pin is not None:
            from gpiozero import DigitalInputDevice  # the pin factory is chosen by the caller

            # A momentary push button between the pin and ground, using the Pi's internal pull-up.
            self._button = DigitalInputDevice(self._button_pin, pull_up=True, bounce_time=None)
            self._button.when_activated = self.open_window

    def close(self) -> None:
        """Release the button and remove the code file (the code dies with the bridge). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            button, self._button = self._button, None
        if button is not None:
            button.close()
        self._code_file.unlink(missing_ok=True)

    # --- state -----------------------------------------------------------------------------------

    @property
    def authenticator(self) -> Authenticator:
        return self._auth

    @property
    def button_configured(self) -> bool:
        return self._button_pin is not None

    def current_code(self) -> str:
        with self._lock:
            self.refresh()
            return self._code

    def code_expires_at(self) -> float:
        with self._lock:
            self.refresh()
            return self._code_issued + CODE_LIFETIME_S

    @property
    def mode(self) -> str:
        with self._lock:
            now = self._clock()
            if self._locked_until(now) > now:
                return "locked"
            if self.button_configured and now >= self._window_until:
                return "button"
            return "open"

    def retry_after(self) -> float | None:
        """Seconds until pairing unlocks, or None if it is not locked."""
        with self._lock:
            now = self._clock()
            until = self._locked_until(now)
            return until - now if until > now else None

    def refresh(self) -> None:
        """Renew the code if it is 10 minutes old."""
        with self._lock:
            if not self._closed and self._clock() - self._code_issued >= CODE_LIFETIME_S:
                self._renew("the code expired")

    def open_window(self) -> None:
        """The pairing button was pressed: accept a pairing for the next 60 s."""
        with self._lock:
            self._window_until = self._clock() + BUTTON_WINDOW_S
        log.info("pairing button pressed: pairing is open for %d s (code %s)", BUTTON_WINDOW_S, self.current_code())

    # --- pairing ---------------------------------------------------------------------------------

    def pair(self, code: str, client_name: str) -> Paired:
        """Check the code and issue a token.

        Raises:
            PairingLocked: five wrong codes in a row; retry after the lock.
            ButtonRequired: a pairing button is configured and was not pressed in the last 60 s.
            WrongCode: the code does not match (counts towards the lock).
        """
        with self._lock:
            self.refresh()
            now = self._clock()
            until = self._locked_until(now)
            if until > now:
                raise PairingLocked(until - now)
            if self.button_configured and now >= self._window_until:
                raise ButtonRequired()
            typed = "".join(ch for ch in code if ch not in " -")
            if not hmac.compare_digest(typed.encode("utf-8"), self._code.encode("ascii")):
                failures = self._failures() + 1
                if failures >= MAX_FAILURES:
                    self._store.set_meta(_META_LOCKED_UNTIL, repr(now + LOCKOUT_S))
                    log.warning("pairing locked for %d s after %d wrong codes", LOCKOUT_S, failures)
                self._store.set_meta(_META_FAILURES, str(failures))
                raise WrongCode()
            token, token_id = self._auth.issue(client_name)
            self._store.set_meta(_META_FAILURES, "0")
            self._window_until = 0.0
            self._renew(f"paired with {client_name!r}")
        log.info("paired with %r (token %d)", client_name, token_id)
        return Paired(token=token, token_id=token_id, client_name=client_name)

    # --- internals (lock held) -------------------------------------------------------------------

    def _failures(self) -> int:
        try:
            return int(self._store.get_meta(_META_FAILURES) or 0)
        except ValueError:
            return 0

    def _locked_until(self, now: float) -> float:
        raw = self._store.get_meta(_META_LOCKED_UNTIL)
        if not raw:
            return 0.0
        try:
            until = float(raw)
        except ValueError:
            until = 0.0
        if until <= now:
            # The lock is over: the next five wrong codes lock again.
            self._store.set_meta(_META_LOCKED_UNTIL, "")
            self._store.set_meta(_META_FAILURES, "0")
            return 0.0
        return until

    def _renew(self, why: str) -> None:
        old = self._code
        while self._code == old:
            self._code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        self._code_issued = self._clock()
        write_private_file(self._code_file, f"{self._code}\n".encode("ascii"))
        log.info("pairing code: %s (valid for %d minutes; %s)", self._code, CODE_LIFETIME_S // 60, why)
