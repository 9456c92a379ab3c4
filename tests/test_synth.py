"""Synthesis through pyttsx3 on espeak-ng: plausible durations and loudness, and the driver
bugs we work around (rate races, silent bad voices, stray stdout)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from voiceos.speak.synth import Pyttsx3Synth, SynthError, Utterance
from voiceos.types import VoiceSettings

# 17 words
SENTENCE = "The quick brown fox jumps over the lazy dog while the sun sets slowly behind the hills."


@pytest.fixture(scope="module")
def synth() -> Iterator[Pyttsx3Synth]:
    engine = Pyttsx3Synth()
    engine.start()
    yield engine
    engine.close()


def speech_span_s(utterance: Utterance, threshold: int = 200) -> float:
    """Seconds from the first to the last sample louder than `threshold`."""
    loud = np.flatnonzero(np.abs(utterance.samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return 0.0
    return float(loud[-1] - loud[0]) / utterance.sample_rate_hz


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def test_sentence_at_175_wpm_lasts_a_plausible_time(synth: Pyttsx3Synth) -> None:
    utterance = synth.synthesize(SENTENCE, VoiceSettings("en-us", 175, 0.9))
    assert utterance.sample_rate_hz == 22050
    assert utterance.samples.dtype == np.int16
    # 17 words at 175 wpm is 5.8 s of pure speech; espeak runs a little faster.
    assert 3.5 <= utterance.duration_s <= 7.5
    assert speech_span_s(utterance) > 0.8 * utterance.duration_s


def test_slower_rate_is_proportionally_longer(synth: Pyttsx3Synth) -> None:
    fast = synth.synthesize(SENTENCE, VoiceSettings("en-us", 200, 0.9))
    slow = synth.synthesize(SENTENCE, VoiceSettings("en-us", 100, 0.9))
    ratio = speech_span_s(slow) / speech_span_s(fast)
    assert 1.6 <= ratio <= 2.4, ratio


def test_lower_volume_is_quieter(synth: Pyttsx3Synth) -> None:
    loud = synth.synthesize(SENTENCE, VoiceSettings("en-us", 175, 1.0))
    soft = synth.synthesize(SENTENCE, VoiceSettings("en-us", 175, 0.3))
    assert rms(soft.samples) < 0.5 * rms(loud.samples)
    assert rms(soft.samples) > 0.1 * rms(loud.samples)


def test_alternating_rates_give_consistent_durations(synth: Pyttsx3Synth) -> None:
    """pyttsx3 bug 2: without waiting for espeak after setProperty, about a third of
    alternating-rate utterances came out at the previous rate."""
    lengths: dict[int, list[int]] = {120: [], 260: []}
    for _ in range(12):
        for rate in lengths:
            utterance = synth.synthesize(
                "Testing one two three four.", VoiceSettings("en-us", rate, 0.9)
            )
            lengths[rate].append(len(utterance.samples))
    for rate, values in lengths.items():
        assert max(values) <= 1.03 * min(values), (rate, values)
    assert min(lengths[120]) > 1.5 * max(lengths[260])


def test_voice_changes_are_applied(synth: Pyttsx3Synth) -> None:
    us = synth.synthesize(SENTENCE, VoiceSettings("en-us", 175, 0.9))
    rp = synth.synthesize(SENTENCE, VoiceSettings("en-gb-x-rp", 175, 0.9))
    female = synth.synthesize(SENTENCE, VoiceSettings("en-us+f3", 175, 0.9))
    # Different phonemes give a different length; a variant changes pitch, not timing much.
    assert len(us.samples) != len(rp.samples)
    assert not np.array_equal(us.samples[: len(female.samples)], female.samples[: len(us.samples)])


@pytest.mark.parametrize("voice", ["xx-nowhere", "en-us+nosuch", ""])
def test_unknown_voice_raises_and_keeps_working(synth: Pyttsx3Synth, voice: str) -> None:
    with pytest.raises(SynthError, match="unknown voice"):
        synth.synthesize("hello", VoiceSettings(voice, 175, 0.9))
    after = synth.synthesize("hello", VoiceSettings("en-us", 175, 0.9))
    assert after.duration_s > 0.2


def test_empty_text_is_silence(synth: Pyttsx3Synth) -> None:
    assert synth.synthesize("   ", VoiceSettings("en-us", 175, 0.9)).duration_s == 0.0


def test_nothing_is_printed(synth: Pyttsx3Synth, capfd: pytest.CaptureFixture[str]) -> None:
    synth.synthesize("Quiet please.", VoiceSettings("en-us", 175, 0.9))
    out, _ = capfd.readouterr()
    assert out == ""


def test_not_started_raises() -> None:
    with pytest.raises(SynthError, match="not started"):
        Pyttsx3Synth().synthesize("hello", VoiceSettings())


def test_later_synthesisers_in_one_process_render_every_sentence() -> None:
    """pyttsx3 bug 10: with a new engine per synthesiser, about 1 in 5 of the first
    sentences came out as nothing at all, and some runs hung."""
    settings = VoiceSettings("en-us", 175, 0.9)
    lengths = []
    for _ in range(12):
        synth = Pyttsx3Synth()
        synth.start()
        try:
            lengths.append([len(synth.synthesize(t, settings).samples) for t in ("One.", "Two.")])
        finally:
            synth.close()
    for first, second in lengths:
        assert first > 0.1 * 22050 and second > 0.1 * 22050, lengths
