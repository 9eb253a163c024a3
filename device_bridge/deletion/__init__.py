"""Voice deletions: the bridge says a vendor's delete command to a speaker on a schedule, proves it went out by
the speaker's upload, and puts the mute back (runner.py has the whole story; recovery.py the restart)."""

from device_bridge.deletion.model import DeletionRun, DeletionSchedule, Prerequisite
from device_bridge.deletion.phrases import VOICE_PHRASES, PhraseAudio, PhraseAudioError, PhraseSynthesizer, check_wav
from device_bridge.deletion.player import PlaybackError, Played, Player, SimulatedPlayer, SoundDevicePlayer
from device_bridge.deletion.recovery import recover_interrupted_runs
from device_bridge.deletion.recurrence import Recurrence
from device_bridge.deletion.runner import DeletionRunner, RunInProgress

__all__ = [
    "VOICE_PHRASES",
    "DeletionRun",
    "DeletionRunner",
    "DeletionSchedule",
    "PhraseAudio",
    "PhraseAudioError",
    "PhraseSynthesizer",
    "Played",
    "PlaybackError",
    "Player",
    "Prerequisite",
    "Recurrence",
    "RunInProgress",
    "SimulatedPlayer",
    "SoundDevicePlayer",
    "check_wav",
    "recover_interrupted_runs",
]
