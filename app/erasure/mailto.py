"""mailto: URLs per RFC 6068: percent-encoded UTF-8, line breaks as %0D%0A."""

from __future__ import annotations

from urllib.parse import quote

# RFC 6068 section 2: in hfvalue, "&", "=", "#", "%", "?" and anything outside unreserved/some sub-delims
# must be encoded; encoding everything but unreserved characters is always safe.
_SAFE = "-._~"


def _encode(text: str, safe: str = _SAFE) -> str:
    return quote(text, safe=safe, encoding="utf-8")


def mailto_url(to: str = "", *, subject: str = "", body: str = "") -> str:
    """A mailto: URL for the user's mail client. Line breaks in the body become CRLF (%0D%0A)."""
    address = _encode(to.strip(), safe=_SAFE + "@!$'*+,;") if to else ""
    fields = []
    if subject:
        fields.append("subject=" + _encode(subject))
    if body:
        normalised = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
        fields.append("body=" + _encode(normalised))
    return "mailto:" + address + ("?" + "&".join(fields) if fields else "")
