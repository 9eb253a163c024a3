"""The destinations in the bridge's SQLite file (tables from store.py's migration 4): per speaker and name the
organisation, first and last seen, bytes up and down; the addresses each name had; bytes per name in
minute and hour bins; each activation's destinations; and the destination blocks with their drop counts.

Only names, addresses, byte counts and times are stored. Retention follows the activations': what was last
seen `retention_days` ago goes (activation destinations go with their activation), and minute bins go after
`traffic_history_hours`, as the 1-second traffic history does; hour bins keep the longer view.

Bookkeeping is written in batches without an fsync (`save`); blocks are written durably, as the user's
commands.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MINUTE = 60
HOUR = 3600
STEPS = (MINUTE, HOUR)


@dataclass(frozen=True)
class StoredBlock:
    """A destination block as stored.

    Attributes:
        id, speaker_id: which block of which speaker.
        kind: "name" (the name and every name under it), "organisation" or "preset" (a preset's id).
        value: the name, organisation or preset id.
        created: epoch seconds.
        dropped_packets, dropped_bytes: what it dropped so far (all time, across restarts).
    """

    id: int
    speaker_id: str
    kind: str
    value: str
    created: float
    dropped_packets: int = 0
    dropped_bytes: int = 0


class DestinationRepository:
    """Reads and writes the destination tables through a BridgeStore's connection (thread-safe as it is)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    # --- writing ---------------------------------------------------------------------------------------

    def save(self, *, destinations: Iterable[tuple] = (), addresses: Iterable[tuple] = (), bins: Iterable[tuple] = (),
             drops: Iterable[tuple] = (), activations: Iterable[tuple] = ()) -> None:
        """One commit (not fsynced) of what the tracker gathered since the last:

        destinations: (speaker_id, name, organisation, first_seen, last_seen, add_up, add_down);
        addresses: (speaker_id, name, address, first_seen, last_seen);
        bins: (speaker_id, step, start, name, add_up, add_down);
        drops: (block_id, add_packets, add_bytes);
        activations: (activation_id, name, organisation, bytes_up, bytes_down).
        """
        destinations, addresses, bins = list(destinations), list(addresses), list(bins)
        drops, activations = list(drops), list(activations)
        if not (destinations or addresses or bins or drops or activations):
            return
        with self._store.transaction(durable=False) as conn:
            conn.executemany(
                """INSERT INTO destinations (speaker_id, name, organisation, first_seen, last_seen, bytes_up, bytes_down)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (speaker_id, name) DO UPDATE SET organisation = excluded.organisation,
                     first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen),
                     bytes_up = bytes_up + excluded.bytes_up, bytes_down = bytes_down + excluded.bytes_down""",
                destinations,
            )
            conn.executemany(
                """INSERT INTO destination_addresses (speaker_id, name, address, first_seen, last_seen)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (speaker_id, name, address) DO UPDATE SET
                     first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)""",
                addresses,
            )
            conn.executemany(
                """INSERT INTO destination_traffic (speaker_id, step, start, name, bytes_up, bytes_down)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (speaker_id, step, start, name) DO UPDATE SET
                     bytes_up = bytes_up + excluded.bytes_up, bytes_down = bytes_down + excluded.bytes_down""",
                bins,
            )
            conn.executemany(
                "UPDATE destination_blocks SET dropped_packets = dropped_packets + ?, "
                "dropped_bytes = dropped_bytes + ? WHERE id = ?",
                [(packets, size, block_id) for block_id, packets, size in drops],
            )
            conn.executemany(
                """INSERT INTO activation_destinations (activation_id, name, organisation, bytes_up, bytes_down)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (activation_id, name) DO UPDATE SET bytes_up = excluded.bytes_up,
                     bytes_down = excluded.bytes_down""",
                activations,
            )

    def prune(self, now: float, *, minute_bins_s: float, retention_s: float) -> None:
        """Forget what is past retention (see the module docstring)."""
        with self._store.transaction(durable=False) as conn:
            conn.execute("DELETE FROM destinations WHERE last_seen < ?", (now - retention_s,))
            conn.execute("DELETE FROM destination_addresses WHERE last_seen < ?", (now - retention_s,))
            conn.execute("DELETE FROM destination_traffic WHERE step = ? AND start < ?",
                         (MINUTE, math.floor(now - minute_bins_s)))
            conn.execute("DELETE FROM destination_traffic WHERE step = ? AND start < ?",
                         (HOUR, math.floor(now - retention_s)))
            conn.execute("DELETE FROM activation_destinations WHERE activation_id NOT IN (SELECT id FROM activations)")

    # --- reading ---------------------------------------------------------------------------------------

    def names(self, speaker_id: str) -> list[str]:
        return [row[0] for row in self._store.query("SELECT name FROM destinations WHERE speaker_id = ?",
                                                    (speaker_id,))]

    def destinations(self, speaker_id: str) -> list[dict[str, Any]]:
        """Every destination of the speaker with its all-time (within retention) totals, busiest first."""
        rows = self._store.query(
            "SELECT name, organisation, first_seen, last_seen, bytes_up, bytes_down FROM destinations "
            "WHERE speaker_id = ? ORDER BY bytes_up + bytes_down DESC, name", (speaker_id,))
        addresses = self.addresses(speaker_id)
        return [{"name": name, "organisation": organisation, "first_seen": first, "last_seen": last,
                 "bytes_up": up, "bytes_down": down, "addresses": addresses.get(name, [])}
                for name, organisation, first, last, up, down in rows]

    def addresses(self, speaker_id: str) -> dict[str, list[str]]:
        """Each name's addresses, most recently seen first."""
        found: dict[str, list[str]] = {}
        for name, address in self._store.query(
                "SELECT name, address FROM destination_addresses WHERE speaker_id = ? ORDER BY last_seen DESC",
                (speaker_id,)):
            found.setdefault(name, []).append(address)
        return found

    def recent_addresses(self, speaker_id: str, since: float) -> list[tuple[str, str, float]]:
        """(name, address, last seen) seen since `since`."""
        return self._store.query(
            "SELECT name, address, last_seen FROM destination_addresses WHERE speaker_id = ? AND last_seen >= ?",
            (speaker_id, since))

    def traffic(self, speaker_id: str, step: int, start: float, end: float) -> list[tuple[int, str, int, int]]:
        """(bin start, name, bytes up, bytes down) of the bins of `step` seconds that overlap [start, end)."""
        return self._store.query(
            "SELECT start, name, bytes_up, bytes_down FROM destination_traffic WHERE speaker_id = ? AND step = ? "
            "AND start > ? AND start < ? ORDER BY start",
            (speaker_id, step, math.floor(start) - step, end))

    def organisations_of(self, speaker_id: str) -> dict[str, str | None]:
        return dict(self._store.query("SELECT name, organisation FROM destinations WHERE speaker_id = ?",
                                      (speaker_id,)))

    def activation_destinations(self, activation_id: int) -> list[dict[str, Any]] | None:
        """The destinations of one activation, busiest first; None if they were never worked out."""
        rows = self._store.query(
            "SELECT name, organisation, bytes_up, bytes_down FROM activation_destinations WHERE activation_id = ? "
            "ORDER BY bytes_up DESC, name", (int(activation_id),))
        if not rows:
            return None
        return [{"name": name, "organisation": organisation, "bytes_up": up, "bytes_down": down}
                for name, organisation, up, down in rows if name]

    def mark_activation(self, activation_id: int) -> None:
        """Record that an activation's destinations were worked out and it had none (a row with an empty name,
        which `activation_destinations` leaves out)."""
        self.save(activations=[(int(activation_id), "", None, 0, 0)])

    # --- blocks ------------------------------------------------------------------------------------------

    def add_block(self, speaker_id: str, kind: str, value: str, created: float) -> StoredBlock:
        """Store a new block durably; ValueError if the speaker has the same block already."""
        with self._store.transaction() as conn:
            exists = conn.execute("SELECT id FROM destination_blocks WHERE speaker_id = ? AND kind = ? AND value = ?",
                                  (speaker_id, kind, value)).fetchone()
            if exists is not None:
                raise ValueError(f"{speaker_id} already blocks {kind} {value!r} (block {exists[0]})")
            cursor = conn.execute(
                "INSERT INTO destination_blocks (speaker_id, kind, value, created) VALUES (?, ?, ?, ?)",
                (speaker_id, kind, value, created))
            block_id = int(cursor.lastrowid)
        return StoredBlock(block_id, speaker_id, kind, value, created)

    def delete_block(self, block_id: int) -> bool:
        with self._store.transaction() as conn:
            return conn.execute("DELETE FROM destination_blocks WHERE id = ?", (int(block_id),)).rowcount > 0

    def blocks(self) -> list[StoredBlock]:
        return [StoredBlock(*row) for row in self._store.query(
            "SELECT id, speaker_id, kind, value, created, dropped_packets, dropped_bytes FROM destination_blocks "
            "ORDER BY id")]
