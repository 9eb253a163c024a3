"""The spoken command of a voice deletion: which phrases the vendors document, and the WAV file that says it.

The phrase is spoken by espeak-ng (`espeak-ng -v <voice> -s <speed> -w <file>`, the text on stdin so a
phrase is never read as an option) into a cache under the bridge's data directory, one file per phrase,
voice and speed. A user may instead record the command in their own voice and copy the WAV file into
`<data dir>/phrases/`. Either way the file is checked before it is played: `wave` must read it, it lasts
0.6-15 s, and it is not silence (RMS above -45 dBFS).

This synthesised (or recorded) command is the only audio the bridge handles for deletions; nothing is
recorded from the room.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: The deletion commands the vendors document, per vendor; a schedule may use others (up to MAX_PHRASE).
VOICE_PHRASES: dict[str, tuple[str, ...]] = {
    "amazon": ("Alexa, delete everything I said today", "Alexa, delete what I just said"),
    "google": ("Hey Google, delete today's activity", "Hey Google, delete this week's activity",
               "Hey Google, delete my last conversation"),
}
VENDORS = tuple(VOICE_PHRASES)
MAX_PHRASE = 200
PHRASES_DIR = "phrases"
CACHE_DIR = "phrase-cache"
MIN_DURATION_S = 0.6
MAX_DURATION_S = 15.0
MIN_RMS_DBFS = -45.0
_SYNTH_TIMEOUT_S = 30.0
_CACHE_KEPT_S = 90 * 86400.0
_VERSION = re.compile(r"text-to-speech:\s*(\S+)")
_RECORDING_NAME = re.compile(r"[^/\\\x00]+\.wav", re.IGNORECASE)


class PhraseAudioError(Exception):
    """The phrase cannot be turned into sound worth playing; `str()` says why, in plain words."""


@dataclass(frozen=True)
class PhraseAudio:
    """A checked WAV file of a phrase.

    Attributes:
        path: the file.
        duration_s: how long it plays.
        rms_dbfs: its loudness (RMS over the whole file, dB below full scale).
    """

    path: Path
    duration_s: float
    rms_dbfs: float


def check_wav(path: Path) -> PhraseAudio:
    """The file as PhraseAudio if it is a usable phrase; PhraseAudioError saying what is wrong otherwise."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as reader:
            rate, width, channels = reader.getframerate(), reader.getsampwidth(), reader.getnchannels()
            frames = reader.readframes(reader.getnframes())
    except FileNotFoundError:
        raise PhraseAudioError(f"the phrase file {path.name} does not exist") from None
    except (wave.Error, EOFError, OSError, ValueError) as error:
        raise PhraseAudioError(f"{path.name} is not a WAV file the bridge can read ({error})") from None
    if rate <= 0 or channels <= 0 or width not in (1, 2, 3, 4):
        raise PhraseAudioError(f"{path.name} is not a WAV file the bridge can play (use 16-bit PCM)")
    samples = pcm_samples(frames, width)
    duration = len(samples) / channels / rate
    if not MIN_DURATION_S <= duration <= MAX_DURATION_S:
        raise PhraseAudioError(f"{path.name} lasts {duration:.1f} s; a spoken command lasts "
                               f"{MIN_DURATION_S:g}-{MAX_DURATION_S:g} s")
    rms = float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0
    level = 20 * math.log10(rms) if rms > 0 else -math.inf
    if level <= MIN_RMS_DBFS:
        raise PhraseAudioError(f"{path.name} is (nearly) silent ({_db(level)}); the speaker would not hear it")
    return PhraseAudio(path=path, duration_s=duration, rms_dbfs=level)


def pcm_samples(frames: bytes, width: int) -> np.ndarray:
    """Interleaved PCM samples as floats in -1..1 (8-bit unsigned, 16/24/32-bit signed little-endian)."""
    if width == 1:
        return (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 3:
        raw = np.frombuffer(frames[: len(frames) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        values = np.where(values & 0x800000, values - (1 << 24), values)
        return values.astype(np.float32) / float(1 << 23)
    dtype = {2: np.int16, 4: np.int32}[width]
    return np.frombuffer(frames[: len(frames) // width * width], dtype=f"<{np.dtype(dtype).str[1:]}").astype(
        np.float32) / float(1 << (8 * width - 1))


def _db(level: float) -> str:
    return "no sound at all" if level == -math.inf else f"{level:.0f} dBFS"


# --- recordings --------------------------------------------------------------------------------------

def recordings(data_dir: Path) -> list[str]:
    """The WAV file names in `<data_dir>/phrases`, sorted (not checked)."""
    folder = Path(data_dir) / PHRASES_DIR
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_file() and _RECORDING_NAME.fullmatch(p.name))
    except OSError:
        return []


def recording_path(data_dir: Path, name: str) -> Path:
    """Where a recording of that file name lives; ValueError for a name that is not a WAV file name there."""
    if not isinstance(name, str) or not _RECORDING_NAME.fullmatch(name) or name.startswith("."):
        raise ValueError(f"a recording is the name of a .wav file in the bridge's {PHRASES_DIR} folder, "
                         f"not {name!r}")
    return Path(data_dir) / PHRASES_DIR / name


def recording(data_dir: Path, name: str) -> PhraseAudio:
    """The checked recording; PhraseAudioError (missing, unreadable, silent) or ValueError (bad name)."""
    return check_wav(recording_path(data_dir, name))


# --- speech synthesis --------------------------------------------------------------------------------

class PhraseSynthesizer:
    """Speaks phrases into WAV files with espeak-ng, cached by phrase, voice and speed.

    Attributes:
        cache_dir: where the files go.
        voice, speed: espeak-ng's -v and -s.
    """

    def __init__(self, cache_dir: Path, *, voice: str = "en-us", speed: int = 150,
                 command: str = "espeak-ng") -> None:
        self.cache_dir = Path(cache_dir)
        self.voice = voice
        self.speed = speed
        self._command = command

    def executable(self) -> str | None:
        """espeak-ng's path, or None when it is not installed."""
        return shutil.which(self._command)

    def status(self) -> tuple[bool, str]:
        """(can speak, in words): which espeak-ng and voice, or what is missing."""
        program = self.executable()
        if program is None:
            return False, f"{self._command} is not installed (on the bridge: sudo apt install espeak-ng)"
        try:
            result = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return False, f"{self._command} does not run: {error}"
        version = _VERSION.search(result.stdout) if result.returncode == 0 else None
        named = f"{self._command} {version.group(1)}" if version else self._command
        return True, f"{named}, voice {self.voice}, {self.speed} words per minute"

    def cache_path(self, phrase: str) -> Path:
        key = hashlib.sha256(f"{self.voice}\x00{self.speed}\x00{phrase}".encode()).hexdigest()[:24]
        return self.cache_dir / f"{key}.wav"

    def synthesize(self, phrase: str) -> PhraseAudio:
        """The phrase as checked audio (from the cache when it is there); PhraseAudioError otherwise."""
        path = self.cache_path(phrase)
        if path.exists():
            try:
                audio = check_wav(path)
            except PhraseAudioError:
                log.warning("The cached phrase %s is unusable; speaking it again", path.name)
            else:
                _touch(path)
                return audio
        program = self.executable()
        if program is None:
            raise PhraseAudioError(f"{self._command} is not installed, so the bridge cannot speak the phrase "
                                   "(on the bridge: sudo apt install espeak-ng)")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._prune()
        handle, temporary = tempfile.mkstemp(dir=self.cache_dir, suffix=".wav.part")
        os.close(handle)
        try:
            self._speak(program, phrase, Path(temporary))
            audio = check_wav(Path(temporary))
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return PhraseAudio(path=path, duration_s=audio.duration_s, rms_dbfs=audio.rms_dbfs)

    def _speak(self, program: str, phrase: str, target: Path) -> None:
        command = [program, "-v", self.voice, "-s", str(self.speed), "-w", str(target), "--stdin"]
        try:
            result = subprocess.run(command, input=phrase, capture_output=True, text=True,
                                    timeout=_SYNTH_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise PhraseAudioError(f"{self._command} did not finish speaking the phrase within "
                                   f"{_SYNTH_TIMEOUT_S:.0f} s") from None
        except OSError as error:
            raise PhraseAudioError(f"{self._command} could not be started: {error}") from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise PhraseAudioError(f"{self._command} could not speak the phrase"
                                   f"{': ' + detail[-1] if detail else ''} (voice {self.voice!r})")

    def _prune(self) -> None:
        """Forget phrases nobody used for 90 days (schedules that were changed or removed)."""
        cutoff = time.time() - _CACHE_KEPT_S
        for entry in self.cache_dir.glob("*.wav*"):
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError:
                pass


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass
