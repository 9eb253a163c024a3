"""Speaker traffic on the bridge: counters, samples, activation detection, replay and synthetic corpora.

model.py holds the shared types; detect.py the activation detector; replay.py turns packet captures into
sample series (`earmuff-bridge replay`); corpus.py makes labelled synthetic traces and scores the detector.
"""

from device_bridge.traffic.model import (
    Activation,
    ActivationEnded,
    ActivationStarted,
    Counters,
    DetectorEvent,
    TrafficSample,
    TrafficSource,
)

__all__ = [
    "Activation",
    "ActivationEnded",
    "ActivationStarted",
    "Counters",
    "DetectorEvent",
    "TrafficSample",
    "TrafficSource",
]
