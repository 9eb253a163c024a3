"""Microphone metering: room sound level and speech, computed in memory; no audio is kept or sent.

Qt-free. `MicrophoneMeter` meters a real microphone (sounddevice, imported only when needed);
`AudioProcessor` is its pure sample-to-reading path; `SpeechHistory` answers "did anyone speak then?".
"""

from app.audio.history import SpeechHistory
from app.audio.meter import InputDevice, MicrophoneMeter, MicState, MicStatus, list_input_devices
from app.audio.processing import READING_INTERVAL_S, SAMPLE_RATE, AudioProcessor, LevelReading

__all__ = [
    "READING_INTERVAL_S",
    "SAMPLE_RATE",
    "AudioProcessor",
    "InputDevice",
    "LevelReading",
    "MicState",
    "MicStatus",
    "MicrophoneMeter",
    "SpeechHistory",
    "list_input_devices",
]
