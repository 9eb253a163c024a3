"""The phrase's sound: espeak-ng's WAV (real), the checks every phrase file passes, users' recordings, players."""

from __future__ import annotations

import pytest
from deletion_helpers import ALEXA, write_wav

from device_bridge.deletion import PhraseAudioError, PhraseSynthesizer, SimulatedPlayer, SoundDevicePlayer, check_wav
from device_bridge.deletion.phrases import recording, recordings
from device_bridge.deletion.player import PlaybackError


def test_espeak_speaks_a_phrase_once_and_keeps_it(tmp_path):
    synthesizer = PhraseSynthesizer(tmp_path / "cache")
    audio = synthesizer.synthesize(ALEXA)
    assert audio.path.parent == tmp_path / "cache" and audio.path.suffix == ".wav"
    assert 1.5 < audio.duration_s < 5.0  # seven words at 150 words per minute
    assert audio.rms_dbfs > -30
    assert check_wav(audio.path) == audio
    stamp = audio.path.stat().st_mtime_ns
    assert synthesizer.synthesize(ALEXA) == audio  # from the cache
    assert audio.path.read_bytes() and audio.path.stat().st_mtime_ns >= stamp
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [audio.path.name]  # no leftovers


def test_voice_and_speed_make_their_own_files(tmp_path):
    slow = PhraseSynthesizer(tmp_path, speed=100).synthesize(ALEXA)
    fast = PhraseSynthesizer(tmp_path, speed=250).synthesize(ALEXA)
    british = PhraseSynthesizer(tmp_path, voice="en-gb").synthesize(ALEXA)
    assert len({slow.path, fast.path, british.path}) == 3
    assert slow.duration_s > fast.duration_s


def test_a_phrase_that_looks_like_an_option_is_still_spoken(tmp_path):
    assert PhraseSynthesizer(tmp_path).synthesize("--help me delete what I just said").duration_s > 1.0


def test_an_unknown_voice_is_said_plainly(tmp_path):
    with pytest.raises(PhraseAudioError, match="espeak-ng could not speak the phrase.*voice 'xx-nowhere'"):
        PhraseSynthesizer(tmp_path, voice="xx-nowhere").synthesize(ALEXA)


def test_status_names_espeak_or_what_to_install(tmp_path):
    ok, detail = PhraseSynthesizer(tmp_path).status()
    assert ok and detail.startswith("espeak-ng 1.") and detail.endswith("voice en-us, 150 words per minute")
    missing, why = PhraseSynthesizer(tmp_path, command="espeak-ng-missing").status()
    assert not missing and "sudo apt install espeak-ng" in why


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_of_every_common_width_is_read(tmp_path, width):
    audio = check_wav(write_wav(tmp_path / "tone.wav", 1.0, width=width, channels=2))
    assert audio.duration_s == pytest.approx(1.0)
    assert audio.rms_dbfs == pytest.approx(-13.5, abs=0.5)  # a sine at 0.3 of full scale


@pytest.mark.parametrize("make, words", [
    (lambda p: write_wav(p, 2.0, amplitude=0.0), "(nearly) silent (no sound at all)"),
    (lambda p: write_wav(p, 2.0, amplitude=0.003), "(nearly) silent (-54 dBFS)"),
    (lambda p: write_wav(p, 0.3), "lasts 0.3 s"),
    (lambda p: write_wav(p, 16.0, rate=8000), "lasts 16.0 s"),
    (lambda p: p.write_bytes(b"ID3 not a wave file at all"), "is not a WAV file the bridge can read"),
    (lambda p: None, "does not exist"),
])
def test_phrase_files_that_cannot_work_are_refused(tmp_path, make, words):
    path = tmp_path / "phrase.wav"
    make(path)
    with pytest.raises(PhraseAudioError) as caught:
        check_wav(path)
    assert words in str(caught.value)


def test_recordings_are_wav_files_in_the_phrases_folder(data_dir):
    write_wav(data_dir / "phrases" / "Delete today.WAV", 2.0)
    write_wav(data_dir / "phrases" / "b.wav", 2.0)
    (data_dir / "phrases" / "readme.txt").write_text("x")
    assert recordings(data_dir) == ["Delete today.WAV", "b.wav"]
    assert recording(data_dir, "b.wav").duration_s == pytest.approx(2.0)
    for bad in ("../bridge.db", "sub/b.wav", ".hidden.wav", "b.mp3", ""):
        with pytest.raises(ValueError, match="a recording is the name of a .wav file"):
            recording(data_dir, bad)
    assert recordings(data_dir / "nowhere") == []


def test_the_simulated_player_answers_for_the_speaker_unless_it_ignores_phrases(tmp_path):
    class Source:
        def __init__(self):
            self.bursts = []

        def inject_burst(self, speaker_id, at=None, shape=None, *, kind="voice"):
            self.bursts.append((speaker_id, at, kind))

    source, slept = Source(), []
    player = SimulatedPlayer(source, ignored={"bedroom"}, clock=lambda: 100.0, sleep=slept.append)
    phrase = write_wav(tmp_path / "p.wav", 2.0)
    player.play(phrase, speaker_id="kitchen")
    player.play(phrase, speaker_id="bedroom")
    player.ignore("bedroom", False)
    player.play(phrase, speaker_id="bedroom")
    assert source.bursts == [("kitchen", 103.0, "voice"), ("bedroom", 103.0, "voice")]
    assert slept == [pytest.approx(2.0)] * 3
    assert [(p.speaker_id, p.when) for p in player.played] == [("kitchen", 100.0), ("bedroom", 100.0),
                                                                ("bedroom", 100.0)]
    player.failure = "unplugged"
    with pytest.raises(PlaybackError, match="unplugged"):
        player.play(phrase, speaker_id="kitchen")


def test_the_sound_card_player_says_when_there_is_no_such_output(tmp_path):
    ok, why = SoundDevicePlayer("no such loudspeaker anywhere").status()
    assert not ok and "output" in why
    with pytest.raises(PlaybackError):
        SoundDevicePlayer("no such loudspeaker anywhere").play(write_wav(tmp_path / "p.wav", 1.0))
