"""The audio lab helpers themselves: what goes into the mic comes out of it, promptly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from lab import SPEAKER_SINK, PrivateLab, SpeakerRecorder, feed_mic, lab_env, write_wav

pytestmark = pytest.mark.audio


def _tone(seconds: float, rate: int = 16000, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)


def test_fed_mic_audio_is_captured_in_full(private_lab: PrivateLab) -> None:
    tone = _tone(0.5)
    with private_lab.mic_recorder() as rec:
        start = rec.sample_count()
        private_lab.feed_mic(tone, 16000)
        onset = rec.wait_for_sound(start)
        rec.wait_for_samples(onset + tone.size)
    heard = rec.samples[onset : onset + tone.size]
    assert heard.size == tone.size
    corr = np.corrcoef(heard.astype(float), tone.astype(float))[0, 1]
    assert corr > 0.95
    # The mic feed reaches the source within a fraction of a second of starting.
    assert (onset - start) < 8000


def test_speaker_recorder_hears_playback(audio_lab: dict[str, str], tmp_path: Path) -> None:
    tone = _tone(0.4)
    wav = tmp_path / "tone.wav"
    write_wav(tone, 16000, wav)
    with SpeakerRecorder() as rec:
        start = rec.sample_count()
        subprocess.run(["paplay", "-d", SPEAKER_SINK, str(wav)], env=lab_env(), check=True)
        onset = rec.wait_for_sound(start)
        rec.wait_for_samples(onset + tone.size)
    peak = np.abs(rec.samples[onset : onset + tone.size].astype(int)).max()
    assert peak > 10000


def test_async_feed_returns_a_running_player(audio_lab: dict[str, str]) -> None:
    proc = feed_mic(_tone(0.3), 16000, wait=False)
    assert proc is not None
    assert proc.wait(timeout=10) == 0


def test_private_speaker_hears_only_this_process(private_lab: PrivateLab, tmp_path: Path) -> None:
    wav = tmp_path / "tone.wav"
    write_wav(_tone(0.3), 16000, wav)
    with private_lab.recorder() as private, SpeakerRecorder() as shared:
        start = private.sample_count()
        # paplay to the shared speaker must not reach the private one...
        subprocess.run(["paplay", "-d", SPEAKER_SINK, str(wav)], env=lab_env(), check=True)
        shared.wait_for_sound()
        # ...and a client given the private env plays to the private one.
        subprocess.run(["paplay", str(wav)], env=lab_env(private_lab.env), check=True)
        onset = private.wait_for_sound(start)
    before = private.samples[start : onset - 20]  # the tone rises for a few samples
    assert before.size > 0.25 * 16000 and np.abs(before.astype(int)).max() == 0


@pytest.mark.parametrize("gain_db", [0.0, -12.0])
def test_an_echo_path_reaches_the_mic_at_its_gain(private_lab: PrivateLab, gain_db: float) -> None:
    private_lab.echo_path(30, gain_db)
    tone = _tone(1.0)
    with private_lab.mic_recorder() as mic:
        start = mic.sample_count()
        feed_mic(tone, 16000, sink=private_lab.speaker)
        onset = mic.wait_for_sound(start)
        mic.wait_for_samples(onset + tone.size)
    heard = mic.samples[onset + 1600 : onset + tone.size - 1600].astype(float)
    level_db = 20 * np.log10(np.sqrt(np.mean(heard**2)) / np.sqrt(np.mean(tone.astype(float) ** 2)))
    assert abs(level_db - gain_db) < 1.5, f"the echo came {level_db:.1f} dB, not {gain_db}"
