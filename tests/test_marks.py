"""The lab's marks: where speech begins in a clip, read past a recording's hiss."""

from __future__ import annotations

import numpy as np
from marks import RATE, onset
from speech_data import clip


def test_onset_is_the_first_word_not_the_hiss_before_it() -> None:
    """This corpus clip opens with 380 ms of hiss at -38 dBFS whose peaks pass -30 dBFS;
    its first word ("experience") starts near 400 ms."""
    samples = clip("2830-3980-0043").samples()
    assert np.abs(samples[: int(0.3 * RATE)]).max() > 1000  # hiss a fixed level would take
    assert 0.35 * RATE <= onset(samples) <= 0.45 * RATE


def test_onset_of_a_clean_clip_is_its_first_sound() -> None:
    rng = np.random.default_rng(1)
    word = (rng.standard_normal(RATE // 2) * 3000).astype(np.int16)
    fricative = (rng.standard_normal(RATE // 10) * 600).astype(np.int16)  # an "s": 14 dB down
    samples = np.concatenate([np.zeros(RATE // 5, np.int16), fricative, word])
    assert onset(samples) == RATE // 5
    assert onset(np.zeros(RATE, np.int16)) == 0
