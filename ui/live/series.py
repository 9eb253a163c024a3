"""Everything the Live page draws, per speaker and per microphone, fed from stream records; no Qt here.

`LiveData.ingest()` takes the bridge adapter's coalesced batches (sample and mic records, each with
its "bridge_id"), groups them and writes each group into its ring with one numpy call. Activations,
the confirmed mute and the fetched history are kept beside the rings, all bounded.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ui.live.buffers import History, Ring, Spans, StateLog, severity

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.1
LIVE_S = 600.0
#: Ten minutes at 10 Hz, plus room for the NaN rows that mark gaps.
RING_ROWS = 6600
#: A pause this long between samples is a gap in the data, not a slow link.
GAP_S = 1.0
#: Samples for this long with no microphone record naming the speaker: its bridge has no microphone near it.
MIC_DECIDE_S = 3.0
#: The key of the desktop's own microphone among the microphones.
DESKTOP_MIC = ("", "desktop")
TRAFFIC_COLUMNS = ("up", "down", "muted")
MIC_COLUMNS = ("level", "speech")
HISTORY_COLUMNS = ("up", "down", "level", "speech")

# The confirmed-mute lane's states.
UNCONFIRMED, CONFIRMED_MUTED, CONFIRMED_UNMUTED, MISMATCH = range(4)


def confirmation_code(confirmation: str, sensed_muted: bool | None) -> int:
    """A SpeakerState's confirmation as a lane state."""
    if confirmation == "mismatch":
        return MISMATCH
    if confirmation == "confirmed" and sensed_muted is not None:
        return CONFIRMED_MUTED if sensed_muted else CONFIRMED_UNMUTED
    return UNCONFIRMED


def mic_ring() -> Ring:
    return Ring(RING_ROWS, MIC_COLUMNS, gap_s=GAP_S)


@dataclass
class SpeakerSeries:
    """One speaker's data.

    Attributes:
        bridge_id, speaker_id: whose.
        traffic: the live ring (up, down in B/s; muted 1/0 = the commanded mute).
        history: the 1-second history fetched from the bridge (up, down, level, speech).
        activations: the activation spans, live and from history.
        confirmed: what the sense line says about the mute, over time.
        mic_id: the bridge microphone near this speaker (None: none known).
        first_sample_at: the time of the first sample received.
    """

    bridge_id: str
    speaker_id: str
    traffic: Ring = field(default_factory=lambda: Ring(RING_ROWS, TRAFFIC_COLUMNS, gap_s=GAP_S))
    history: History = field(default_factory=lambda: History(HISTORY_COLUMNS))
    activations: Spans = field(default_factory=Spans)
    confirmed: StateLog = field(default_factory=StateLog)
    mic_id: str | None = None
    first_sample_at: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.bridge_id, self.speaker_id)

    @property
    def mic_known(self) -> bool:
        """Whether it is settled if the bridge has a microphone near this speaker."""
        if self.mic_id is not None:
            return True
        last = self.traffic.last_time
        return self.first_sample_at is not None and last is not None and last - self.first_sample_at >= MIC_DECIDE_S


class LiveData:
    """The speakers' series and the microphones' rings.

    Attributes:
        speakers: (bridge_id, speaker_id) -> SpeakerSeries.
        mics: (bridge_id, mic_id) -> Ring (level dBFS, speech 1/0); DESKTOP_MIC for this computer's.
    """

    def __init__(self) -> None:
        self.speakers: dict[tuple[str, str], SpeakerSeries] = {}
        self.mics: dict[tuple[str, str], Ring] = {}

    def series(self, bridge_id: str, speaker_id: str) -> SpeakerSeries:
        key = (bridge_id, speaker_id)
        found = self.speakers.get(key)
        if found is None:
            found = self.speakers[key] = SpeakerSeries(bridge_id, speaker_id)
        return found

    def forget_bridge(self, bridge_id: str) -> None:
        for key in [k for k in self.speakers if k[0] == bridge_id]:
            del self.speakers[key]
        for key in [k for k in self.mics if k[0] == bridge_id]:
            del self.mics[key]

    def ingest(self, records: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
        """Write a batch of sample and mic records; returns the speakers whose drawing changed."""
        samples: dict[tuple[str, str], list[tuple[float, float, float, float]]] = defaultdict(list)
        mics: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
        near: dict[tuple[str, str], set[str]] = defaultdict(set)
        for record in records:
            try:
                kind = record["type"]
                bridge_id = str(record["bridge_id"])
                when = float(record["time"])
                if kind == "sample":
                    muted = record.get("muted")
                    samples[(bridge_id, str(record["speaker_id"]))].append(
                        (when, float(record["up"]), float(record["down"]),
                         math.nan if muted is None else float(bool(muted))))
                elif kind == "mic":
                    key = (bridge_id, str(record["mic_id"]))
                    mics[key].append((when, float(record["level"]), float(bool(record.get("speech")))))
                    near[key].update(str(s) for s in record.get("speaker_ids") or ())
            except (KeyError, TypeError, ValueError) as error:
                log.debug("ignoring a malformed live record (%s): %.200r", error, record)
        changed: set[tuple[str, str]] = set()
        for key, rows in samples.items():
            series = self.series(*key)
            table = np.array(rows, dtype=float)
            if series.traffic.extend(table[:, 0], {"up": table[:, 1], "down": table[:, 2], "muted": table[:, 3]}):
                if series.first_sample_at is None:
                    series.first_sample_at = float(table[0, 0])
                changed.add(key)
        for key, rows in mics.items():
            ring = self.mics.get(key)
            if ring is None:
                ring = self.mics[key] = mic_ring()
            table = np.array(rows, dtype=float)
            ring.extend(table[:, 0], {"level": table[:, 1], "speech": table[:, 2]})
            bridge_id, mic_id = key
            speaker_ids = near[key] or {s for b, s in self.speakers if b == bridge_id}
            for speaker_id in speaker_ids:
                series = self.series(bridge_id, speaker_id)
                series.mic_id = mic_id
                changed.add(series.key)
        return changed

    def ingest_desktop(self, times: Iterable[float], levels: Iterable[float], speech: Iterable[bool]) -> None:
        ring = self.mics.get(DESKTOP_MIC)
        if ring is None:
            ring = self.mics[DESKTOP_MIC] = mic_ring()
        ring.extend(np.fromiter(times, float), {"level": np.fromiter(levels, float),
                                                "speech": np.fromiter(speech, float)})

    def activation(self, bridge_id: str, kind: str, data: Mapping[str, Any]) -> tuple[str, str] | None:
        """An activation_started / activation_ended event; returns the speaker it belongs to."""
        speaker_id = data.get("speaker_id")
        start = data.get("start")
        if not isinstance(speaker_id, str) or not isinstance(start, (int, float)):
            log.debug("ignoring an activation event without speaker or start: %.200r", data)
            return None
        series = self.series(bridge_id, speaker_id)
        level = severity(data.get("flags") or ())
        if kind == "activation_started":
            series.activations.started(float(start), level)
        elif kind == "activation_ended" and isinstance(data.get("end"), (int, float)):
            series.activations.ended(data.get("id", ("ended", start)), float(start), float(data["end"]), level)
        else:
            return None
        return series.key

    def mic_ring(self, series: SpeakerSeries, desktop_enabled: bool) -> Ring | None:
        """The ring feeding a speaker's microphone plot: its bridge's microphone, else the desktop's."""
        if series.mic_id is not None:
            return self.mics.get((series.bridge_id, series.mic_id))
        if desktop_enabled:
            return self.mics.get(DESKTOP_MIC)
        return None

    def prune(self, now: float) -> None:
        """Drop history and activations older than a day."""
        for series in self.speakers.values():
            series.history.prune(now)
            series.activations.prune(now)
