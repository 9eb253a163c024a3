"""What can go wrong when talking to a bridge, each with a sentence a homeowner can act on.

Every error carries `user_message`; the UI shows it as it is. `BridgeError`
is the base the manager catches: anything else escaping a request is a bug.
"""

from __future__ import annotations

CERTIFICATE_CHANGED_MESSAGE = (
    "The bridge presented a different certificate than when you paired. If you reset or reinstalled "
    "the bridge, pair again; otherwise someone may be intercepting."
)


class BridgeError(Exception):
    """A request to a bridge did not do what was asked.

    Attributes:
        user_message: plain sentences for the UI.
    """

    def __init__(self, user_message: str, detail: str | None = None) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


class BridgeUnreachable(BridgeError):
    """No answer: the bridge is off, the address is wrong, or the network is down."""


class CertificateChanged(BridgeError):
    """The certificate is not the one pinned at pairing; nothing was sent after the handshake.

    Attributes:
        expected: the pinned fingerprint (hex).
    """

    def __init__(self, expected: str, detail: str | None = None) -> None:
        super().__init__(CERTIFICATE_CHANGED_MESSAGE, detail)
        self.expected = expected


class NotAuthorized(BridgeError):
    """The bridge refused the token (revoked, or the bridge was reset)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            "The bridge no longer accepts this computer. It may have been reset, or this computer was "
            "removed from its list. Pair again to control it.",
            detail,
        )


class RequestRejected(BridgeError):
    """The bridge understood the request and said no (a 4xx with its reason in `detail`).

    Attributes:
        status: the HTTP status.
        detail: the bridge's own explanation.
        retry_after: seconds the bridge asks to wait (429), else None.
    """

    def __init__(self, status: int, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail, f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class BridgeFailed(BridgeError):
    """The bridge answered with an error of its own (5xx) or with something that is not its API."""


class WrongCode(RequestRejected):
    """The pairing code was not the bridge's current one."""

    def __init__(self, detail: str = "wrong pairing code") -> None:
        super().__init__(401, detail)
        self.user_message = (
            "That code is not the bridge's current pairing code. Check the code shown by "
            "`earmuff-bridge pair-code` on the bridge (it changes every 10 minutes) and try again."
        )


class PairingLocked(RequestRejected):
    """Too many wrong codes: the bridge refuses pairing for `retry_after` seconds."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(429, detail or "pairing locked", retry_after=max(0.0, float(retry_after)))
        seconds = max(1, round(self.retry_after))
        self.user_message = (
            f"Too many wrong codes. The bridge refuses pairing for {seconds} more "
            f"second{'s' if seconds != 1 else ''}; wait, then enter the current code."
        )


class PairingButtonNeeded(RequestRejected):
    """The bridge has a pairing button and its window is closed."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(403, detail or "press the pairing button on the bridge first")
        self.user_message = (
            "This bridge has a pairing button. Press it, then enter the code within a minute."
        )
