"""Where bridge tokens live: the operating system's keyring, never a file of ours.

Service "earmuff-bridge", user name = the bridge's id. Without a usable keyring
(no Secret Service on a headless Linux, keyring's "fail" backend) every call
raises `SecretStoreUnavailable` with a message naming what to install; Earmuff
does not fall back to plain text. The demo keeps its token in memory
(`MemorySecretStore`). Keyring calls may block (an unlock prompt): call them
off the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import keyring
import keyring.errors

log = logging.getLogger(__name__)

SERVICE = "earmuff-bridge"

INSTALL_HINT = (
    "Earmuff keeps the bridge's access key in your system's keyring, and no keyring is available. "
    "On Linux install and unlock GNOME Keyring (package gnome-keyring) or KWallet (package kwalletmanager); "
    "on macOS the Keychain and on Windows the Credential Manager are used automatically. "
    "Earmuff never stores the key in a plain file."
)

# Backends that would keep the secret readable on disk, or not at all: refused.
_REFUSED_BACKENDS = {
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyrings.alt.file.PlaintextKeyring",
    "keyrings.alt.file.EncryptedKeyring",  # asks for a password on the terminal
}


class SecretStoreUnavailable(Exception):
    """No usable keyring. `user_message` says what to install.

    Attributes:
        user_message: plain sentences for a dialog.
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or "no usable keyring")
        self.user_message = INSTALL_HINT if not detail else f"{INSTALL_HINT} ({detail})"


class SecretStore(Protocol):
    """Keeps one token per bridge."""

    persistent: bool

    def get_token(self, bridge_id: str) -> str | None: ...

    def set_token(self, bridge_id: str, token: str) -> None: ...

    def delete_token(self, bridge_id: str) -> None: ...


class KeyringSecretStore:
    """Tokens in the OS keyring through the `keyring` package (whatever backend it picked)."""

    persistent = True

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def _backend(self):
        backend = keyring.get_keyring()
        name = f"{type(backend).__module__}.{type(backend).__qualname__}"
        if name in _REFUSED_BACKENDS:
            raise SecretStoreUnavailable(f"keyring backend {name}")
        return backend

    def check(self) -> None:
        """Raise SecretStoreUnavailable now rather than at the first token."""
        self._backend()

    def get_token(self, bridge_id: str) -> str | None:
        try:
            return self._backend().get_password(self.service, bridge_id)
        except keyring.errors.NoKeyringError as error:
            raise SecretStoreUnavailable(str(error)) from error
        except keyring.errors.KeyringError as error:
            raise SecretStoreUnavailable(f"reading from the keyring failed: {error}") from error

    def set_token(self, bridge_id: str, token: str) -> None:
        try:
            self._backend().set_password(self.service, bridge_id, token)
        except keyring.errors.NoKeyringError as error:
            raise SecretStoreUnavailable(str(error)) from error
        except keyring.errors.KeyringError as error:
            raise SecretStoreUnavailable(f"saving to the keyring failed: {error}") from error

    def delete_token(self, bridge_id: str) -> None:
        """Remove the token; no error when there was none."""
        try:
            self._backend().delete_password(self.service, bridge_id)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.NoKeyringError as error:
            raise SecretStoreUnavailable(str(error)) from error
        except keyring.errors.KeyringError as error:
            raise SecretStoreUnavailable(f"removing from the keyring failed: {error}") from error


class MemorySecretStore:
    """Tokens in this process only (the demo): gone when Earmuff quits."""

    persistent = False

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def get_token(self, bridge_id: str) -> str | None:
        with self._lock:
            return self._tokens.get(bridge_id)

    def set_token(self, bridge_id: str, token: str) -> None:
        with self._lock:
            self._tokens[bridge_id] = token

    def delete_token(self, bridge_id: str) -> None:
        with self._lock:
            self._tokens.pop(bridge_id, None)
