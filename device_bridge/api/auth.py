"""Bearer tokens: made at pairing, stored only as their SHA-256, checked on every request, revocable."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Writing last_used on every request would put an fsync on the mute path; once a minute is plenty.
TOUCH_INTERVAL_S = 60.0


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A paired client, as the bridge knows it (never the token itself).

    Attributes:
        id: the token's number, used to revoke it.
        client_name: what the client called itself at pairing ("Anna's laptop").
        created: epoch seconds.
        last_used: epoch seconds, or None; updated at most once a minute.
    """

    id: int
    client_name: str
    created: float
    last_used: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TokenInfo:
        return cls(
            id=int(row["id"]),
            client_name=str(row["client_name"]),
            created=float(row["created"]),
            last_used=None if row.get("last_used") is None else float(row["last_used"]),
        )


class Authenticator:
    """Checks bearer tokens against the store.

    A revoked token is refused from the next request on; open event streams of that token ask
    `is_revoked` and end as well.
    """

    def __init__(self, store: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._revoked: set[int] = set()

    def issue(self, client_name: str) -> tuple[str, int]:
        """A new token for `client_name`: (token, token id). Only its hash is kept."""
        token = new_token()
        token_id = self._store.add_token(hash_token(token), client_name)
        return token, int(token_id)

    def check(self, token: str) -> TokenInfo | None:
        """The token's record, or None if it is unknown or revoked."""
        if not token:
            return None
        row = self._store.find_token(hash_token(token))
        if row is None:
            return None
        info = TokenInfo.from_row(row)
        now = self._clock()
        if info.last_used is None or now - info.last_used >= TOUCH_INTERVAL_S:
            self._store.touch_token(info.id)
        return info

    def tokens(self) -> list[TokenInfo]:
        return [TokenInfo.from_row(row) for row in self._store.list_tokens()]

    def revoke(self, token_id: int) -> bool:
        """Forget a token; False if there was no such token."""
        removed = bool(self._store.revoke_token(token_id))
        if removed:
            with self._lock:
                self._revoked.add(token_id)
        return removed

    def is_revoked(self, token_id: int) -> bool:
        with self._lock:
            return token_id in self._revoked
