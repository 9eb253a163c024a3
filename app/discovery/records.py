"""What one mDNS/DNS-SD service advertised, kept exactly as received.

A `ServiceRecord` is the unit that discovery hands to the rest of the app. It is
frozen, holds the raw TXT rdata (so binary values and odd encodings survive),
and offers case-insensitive, first-duplicate-wins lookups over it, which is how
DNS-SD (RFC 6763 section 6.4) says TXT keys are to be read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TxtEntry:
    """One `key[=value]` string from a TXT record.

    Attributes:
        raw: the string's bytes as sent.
        key: the key decoded for display (UTF-8, bad bytes replaced).
        value: the value's bytes; None when the string had no '=' at all
            (a boolean attribute), b"" for `key=`.
    """

    raw: bytes
    key: str
    value: bytes | None

    @property
    def text(self) -> str | None:
        """The value decoded as UTF-8 with bad bytes replaced, or None."""
        if self.value is None:
            return None
        return self.value.decode("utf-8", errors="replace")

    @property
    def is_binary(self) -> bool:
        """True when the value is not printable UTF-8 text."""
        if self.value is None:
            return False
        try:
            decoded = self.value.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return any(ch < " " and ch not in "\t" for ch in decoded)

    def display_value(self) -> str:
        """A one-line rendering: text as is, binary as hex, boolean as '(no value)'."""
        if self.value is None:
            return "(no value)"
        if self.is_binary:
            return "0x" + self.value.hex()
        return self.text or ""


def parse_txt(rdata: bytes) -> tuple[TxtEntry, ...]:
    """Split TXT rdata into entries; never raises.

    A length byte that runs past the end keeps the bytes that are there (and logs
    it); empty strings are skipped, as RFC 6763 section 6.1 allows.
    """
    entries: list[TxtEntry] = []
    pos = 0
    size = len(rdata)
    while pos < size:
        length = rdata[pos]
        pos += 1
        chunk = rdata[pos : pos + length]
        if len(chunk) < length:
            log.info("TXT record truncated: string wants %d bytes, %d left", length, len(chunk))
        pos += length
        if not chunk:
            continue
        key_bytes, sep, value = chunk.partition(b"=")
        entries.append(
            TxtEntry(
                raw=chunk,
                key=key_bytes.decode("utf-8", errors="replace"),
                value=value if sep else None,
            )
        )
    return tuple(entries)


def build_txt(pairs: dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]]) -> bytes:
    """Encode key/value pairs as TXT rdata (the inverse of `parse_txt`).

    Used by the simulated home to send exactly the bytes a real device sends.
    """
    items = pairs.items() if isinstance(pairs, dict) else pairs
    out = bytearray()
    for key, value in items:
        chunk = key.encode("utf-8")
        if value is not None:
            chunk += b"=" + (value if isinstance(value, bytes) else value.encode("utf-8"))
        if len(chunk) > 255:
            raise ValueError(f"TXT string for key {key!r} is longer than 255 bytes")
        out.append(len(chunk))
        out += chunk
    return bytes(out) if out else b"\x00"


def instance_of(name: str, service_type: str) -> str:
    """The instance part of a full service name ("Kitchen._raop._tcp.local." -> "Kitchen")."""
    suffix = "." + service_type
    if name.lower().endswith(suffix.lower()):
        return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class ServiceRecord:
    """One resolved DNS-SD service instance.

    Attributes:
        service_type: e.g. "_googlecast._tcp.local.".
        name: the full service name, e.g. "Kitchen._raop._tcp.local.".
        server: the target host name from the SRV record, e.g. "Kitchen.local.".
        port: the SRV port.
        addresses: every address seen for the server, IPv4 then IPv6 (with scope), sorted.
        txt: the raw TXT rdata.
        seen_at: wall-clock time (time.time()) this version was received.
    """

    service_type: str
    name: str
    server: str | None
    port: int | None
    addresses: tuple[str, ...] = ()
    txt: bytes = b""
    seen_at: float = 0.0
    _lookup: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        """Identity of the service: the same instance seen twice has the same key."""
        return (self.service_type.lower(), self.name.lower())

    @property
    def instance(self) -> str:
        return instance_of(self.name, self.service_type)

    @cached_property
    def entries(self) -> tuple[TxtEntry, ...]:
        return parse_txt(self.txt)

    def _index(self) -> dict[str, TxtEntry]:
        if not self._lookup:
            for entry in self.entries:
                self._lookup.setdefault(entry.key.lower(), entry)
        return self._lookup

    def has(self, key: str) -> bool:
        return key.lower() in self._index()

    def get(self, key: str) -> str | None:
        """The first value for `key`, any case, decoded; None if absent or valueless."""
        entry = self._index().get(key.lower())
        return entry.text if entry else None

    def get_bytes(self, key: str) -> bytes | None:
        entry = self._index().get(key.lower())
        return entry.value if entry else None

    def txt_dict(self) -> dict[str, str | None]:
        """First-wins, case-folded view for JSON output and rule matching."""
        return {k: e.text for k, e in self._index().items()}
