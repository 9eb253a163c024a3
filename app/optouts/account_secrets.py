"""An account's e-mail address, kept in the operating system's keyring and never in Earmuff's database.

Service "earmuff-account", user name "account-<id>" (account ids are never reused, so a stale entry
cannot attach itself to a new account). Keyring calls may block on an unlock prompt, so they run on
one worker thread; each call takes a callback that gets a `SecretResult` on that thread (the UI moves
it to the GUI thread). `close()` stops the worker; call it when the app closes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from app.secrets import KeyringSecretStore, SecretStore, SecretStoreUnavailable

log = logging.getLogger(__name__)

SERVICE = "earmuff-account"
NO_KEYRING = (
    "Earmuff keeps account e-mail addresses only in your system's keyring, never in its own files, and no "
    "keyring can be used here. On Linux install and unlock GNOME Keyring (package gnome-keyring) or KWallet; "
    "macOS and Windows have one built in."
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def keyring_user(account_id: int) -> str:
    return f"account-{int(account_id)}"


def check_email(text: str) -> str:
    """The address trimmed; ValueError with a message when it does not look like one."""
    email = text.strip()
    if not _EMAIL.match(email):
        raise ValueError(f"{email!r} does not look like an e-mail address (name@example.com).")
    return email


@dataclass(frozen=True)
class SecretResult:
    """The value of a keyring call, or the reason it failed (exactly one matters).

    Attributes:
        account_id: the account concerned.
        value: the e-mail read (None: none stored), or None for writes.
        error: a message for the user when the keyring could not be used.
    """

    account_id: int
    value: str | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


Callback = Callable[[SecretResult], None]


class AccountSecrets:
    """E-mail addresses of opt-out accounts in a SecretStore (the keyring; memory in the demo)."""

    def __init__(self, store: SecretStore | None = None) -> None:
        self.store: SecretStore = store if store is not None else KeyringSecretStore(SERVICE)
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def persistent(self) -> bool:
        return bool(getattr(self.store, "persistent", True))

    def _submit(self, account_id: int, work: Callable[[], Any], callback: Callback | None) -> None:
        def task() -> None:
            try:
                result = SecretResult(account_id, value=work())
            except SecretStoreUnavailable as error:
                result = SecretResult(account_id, error=f"{NO_KEYRING} ({error})")
            except Exception as error:  # noqa: BLE001 - a bug or an odd backend: still answer
                log.exception("keyring call for account %s failed", account_id)
                result = SecretResult(account_id, error=f"The keyring failed: {error}")
            if callback is not None:
                try:
                    callback(result)
                except Exception:  # noqa: BLE001
                    log.exception("keyring callback failed")

        if self._closed:
            if callback is not None:
                callback(SecretResult(account_id, error="Earmuff is closing."))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="earmuff-account-secrets")
        self._pool.submit(task)

    def get_email(self, account_id: int, callback: Callback) -> None:
        self._submit(account_id, lambda: self.store.get_token(keyring_user(account_id)), callback)

    def set_email(self, account_id: int, email: str, callback: Callback | None = None) -> None:
        """Store the address (check it first with `check_email`)."""
        self._submit(account_id, lambda: self.store.set_token(keyring_user(account_id), email), callback)

    def delete_email(self, account_id: int, callback: Callback | None = None) -> None:
        self._submit(account_id, lambda: self.store.delete_token(keyring_user(account_id)), callback)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the calls submitted so far are done (tests; closing)."""
        if self._pool is not None:
            self._pool.submit(lambda: None).result(timeout)

    def close(self) -> None:
        """Finish what was asked and stop the worker. Idempotent."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
