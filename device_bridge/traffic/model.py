"""What the bridge's traffic code passes around: counter readings, per-interval samples, activations.

Plain frozen dataclasses and one Protocol, so sources (nftables, sysfs, pcap replay, simulation), the
sampler, the detector and the monitor agree on types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Union

FLAGS = ("while_muted", "during_schedule", "no_speech_nearby", "deletion_command")
#: Flags that only inform: an activation with no other flag is not "flagged" (not a problem to report).
INFORMATIONAL_FLAGS = ("deletion_command",)


@dataclass(frozen=True)
class Counters:
    """Cumulative counters of one speaker as read from a source at one instant (they only grow, until a reset)."""

    up_bytes: int
    up_packets: int
    down_bytes: int
    down_packets: int


@dataclass(frozen=True)
class TrafficSample:
    """One speaker's traffic over one interval (the sampler's is 0.1 s).

    Attributes:
        speaker_id: the speaker's config id.
        time: epoch seconds at the END of the interval (replay: seconds from the capture's first packet).
        interval_s: the interval's length; the sample covers [time - interval_s, time).
        up_bytes, down_bytes, up_packets, down_packets: what crossed in that interval (uplink = to the
            internet, not to the local network).
    """

    speaker_id: str
    time: float
    interval_s: float
    up_bytes: int
    down_bytes: int
    up_packets: int
    down_packets: int

    @property
    def up_rate(self) -> float:
        """Uplink in bytes per second over the interval (0 for an empty interval)."""
        return self.up_bytes / self.interval_s if self.interval_s > 0 else 0.0

    @property
    def down_rate(self) -> float:
        """Downlink in bytes per second over the interval (0 for an empty interval)."""
        return self.down_bytes / self.interval_s if self.interval_s > 0 else 0.0


@dataclass(frozen=True)
class Activation:
    """A burst of uplink that carried audio to the cloud.

    Attributes:
        speaker_id: the speaker's config id.
        start, end: epoch seconds (replay: seconds from the capture's first packet); start < end. Both are
            whole-second bin boundaries of the detector (see device_bridge.traffic.detect).
        bytes_up: uplink bytes from start to end.
        peak_rate: bytes per second over the busiest second.
        confidence: 0..1, how surely the burst differs from the speaker's idle traffic (1 - p of the
            detector's Welch test).
        flags: a subset of FLAGS, set by the monitor ("while_muted": the speaker was commanded muted;
            "during_schedule": a quiet-hours window was in force; "no_speech_nearby": a room mic heard no
            speech around the start; "deletion_command": informational, not a problem: the upload began
            while the bridge was playing a voice deletion command to the speaker and watching for it to
            go out, so it carries that command, and it never gets "during_schedule" or "no_speech_nearby").
        id: the store's row id once persisted, else None.
    """

    speaker_id: str
    start: float
    end: float
    bytes_up: int
    peak_rate: float
    confidence: float
    flags: frozenset[str] = frozenset()
    id: int | None = None


@dataclass(frozen=True)
class ActivationStarted:
    """The detector is sure a burst is an activation; it may still be going on.

    `start` is the same instant as the finished Activation's start.
    """

    speaker_id: str
    start: float
    confidence: float


@dataclass(frozen=True)
class ActivationEnded:
    """An activation is over (always preceded by its ActivationStarted)."""

    activation: Activation


DetectorEvent = Union[ActivationStarted, ActivationEnded]


class TrafficSource(Protocol):
    """Where cumulative per-speaker counters come from (nftables, sysfs, a simulation)."""

    def read(self) -> dict[str, Counters]:
        """Cumulative counters per speaker id; a missing id means its counters are unknown right now."""
        ...

    def close(self) -> None:
        """Release what the source holds; idempotent."""
        ...
