"""What the microphone holds beyond her echo's spectrum (`EchoSpectrum`), on real recorded
speech through synthetic echo paths."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from echo_paths import (
    HARD,
    LAB_LIKE,
    RATE,
    EchoPath,
    as_int16,
    direct_and_reflected,
    drifting,
    her_reply,
)
from speech_data import word_cuts

from voiceos.audio.echo import FAR_ACTIVE_DB, level_db
from voiceos.audio.echostage import SPECTRAL_RATIO_DB, EchoFrame
from voiceos.audio.spectrum import TRUST_FRAMES, EchoSpectrum
from voiceos.listen.bargein import BargeInSettings

BLOCK = 512
SLACK = 32
"""Samples by which the reference leads her echo, as the stage hands it."""


def _aligned(far: np.ndarray, path: EchoPath) -> npt.NDArray[np.int16]:
    """The reference moved to arrive `SLACK` samples before her echo through `path`."""
    late = round(path.delay_ms * RATE / 1000) - SLACK
    return np.concatenate([np.zeros(late, dtype=np.int16), far[: len(far) - late]])


def _shares(mic: np.ndarray, reference: np.ndarray) -> list[tuple[int, float, float | None]]:
    """Per block: where it starts, the microphone's level, and how far under it the
    excess is (None before the gain is learned or where the microphone is silent)."""
    spectrum = EchoSpectrum()
    out = []
    for i in range(0, len(mic) - BLOCK + 1, BLOCK):
        excess = spectrum.add(mic[i : i + BLOCK], reference[i : i + BLOCK])
        heard = level_db(mic[i : i + BLOCK])
        out.append((i, heard, None if excess is None or heard < -60 else excess - heard))
    return out


def _playing(reference: np.ndarray, start: int) -> bool:
    return level_db(reference[start : start + BLOCK]) > FAR_ACTIVE_DB


@pytest.mark.parametrize("drift_ppm", [40.0, 150.0])
def test_her_drifting_echo_alone_leaves_little_beyond_her_spectrum(drift_ppm: float) -> None:
    """Her echo's delay drifting as on the lab, and faster (at 150 ppm a linear fit made
    half a second back has lost her high frequencies): what is left beyond her predicted
    spectrum stays well under the bar the stage reads the user from."""
    far = her_reply()
    mic = as_int16(drifting(LAB_LIKE.apply(far), drift_ppm))
    shares = [
        s for i, _, s in _shares(mic, _aligned(far, LAB_LIKE)) if s is not None and _playing(far, i)
    ]
    assert len(shares) > 150
    assert max(shares) < SPECTRAL_RATIO_DB - 3, sorted(shares)[-5:]


def test_a_rooms_tail_never_rises_over_the_bar_twice_in_a_row() -> None:
    """Through a 250 ms reverberation (more of her echo's power in the tail than in the
    direct sound), one block at a word's end came within 2 dB of the bar; the stage
    holds her only on two in a row."""
    far = her_reply()
    mic = as_int16(HARD.apply(far))
    blocks = _shares(mic, _aligned(far, HARD))
    over = [s is not None and s >= SPECTRAL_RATIO_DB and _playing(far, i) for i, _, s in blocks]
    assert sum(s is not None for _, _, s in blocks) > 200
    assert not any(a and b for a, b in zip(over, over[1:], strict=False))


@pytest.mark.parametrize("word", ["stop", "yes", "right"])
def test_a_word_over_her_echo_stands_out_of_her_spectrum(word: str) -> None:
    """A real word 6 dB quieter than recorded (up to 14 dB under her echo at its start),
    said over her at three places in her reply once the model is trusted: within its
    first four blocks (128 ms), two in a row rise over the stage's bar. AEC3 alone
    crushes such a start."""
    far = her_reply()
    said = np.rint(word_cuts()[word] * 10 ** (-6 / 20))
    start = int(np.flatnonzero(np.abs(said) > 1000)[0])
    reference = _aligned(far, LAB_LIKE)
    for at_s in (5.0, 7.3, 10.5):
        at = int(at_s * RATE)
        echo = drifting(LAB_LIKE.apply(far), 40.0)
        echo[at : at + len(said)] += said
        blocks = _shares(as_int16(echo), reference)
        onset = (at + start) // BLOCK
        over = [s is not None and s >= SPECTRAL_RATIO_DB for _, _, s in blocks]
        within = range(onset, onset + 3)
        assert any(over[k] and over[k + 1] for k in within), (at_s, blocks[onset : onset + 5])


def test_nothing_is_read_until_it_has_explained_her_echo_for_a_while() -> None:
    far = her_reply()
    mic = as_int16(LAB_LIKE.apply(far))
    reference = _aligned(far, LAB_LIKE)
    spectrum = EchoSpectrum()
    readings = [
        spectrum.add(mic[i : i + BLOCK], reference[i : i + BLOCK])
        for i in range(0, 6 * RATE, BLOCK)
    ]
    first = next(k for k, r in enumerate(readings) if r is not None)
    assert first >= TRUST_FRAMES // 2  # two frames a block, not all of them her voice
    assert all(r is not None for r in readings[first:])
    assert spectrum.trusted and spectrum.excess_db == readings[-1]


def test_an_echo_path_it_cannot_model_is_never_read() -> None:
    """The bench's harder path (the lab's, 60 ms, plus a reflection at half level 150 ms
    later, beyond the reference frames the prediction takes): her echo alone rose over
    the bar on two chunks in five, and held her ten times in 31 s of her voice before
    the model had to prove itself."""
    far = her_reply()
    mic = as_int16(direct_and_reflected(far))
    reference = _aligned(far, EchoPath("direct", 60, 0, 0))
    spectrum = EchoSpectrum()
    readings = [
        spectrum.add(mic[i : i + BLOCK], reference[i : i + BLOCK])
        for i in range(0, len(mic), BLOCK)
    ]
    assert all(r is None for r in readings)
    assert not spectrum.trusted


def test_blocks_of_any_size_give_the_same_reading() -> None:
    """The microphone's chunks need not be whole frames: readings follow the frames."""
    far = her_reply()[: 4 * RATE]
    mic = as_int16(LAB_LIKE.apply(far))
    reference = _aligned(far, LAB_LIKE)
    whole, odd = EchoSpectrum(), EchoSpectrum()
    for i in range(0, len(mic), BLOCK):
        whole.add(mic[i : i + BLOCK], reference[i : i + BLOCK])
    for i in range(0, len(mic), 300):
        odd.add(mic[i : i + 300], reference[i : i + 300])
    assert whole.excess_db is not None and odd.excess_db is not None
    assert whole.excess_db == pytest.approx(odd.excess_db, abs=1e-6)


def test_steady_hiss_is_not_another_voice() -> None:
    """A microphone's own noise, 30 dB under her echo, is learned as its floor: while she
    plays it adds nothing beyond her spectrum (with her silent any sound is heard anyway)."""
    far = her_reply()
    noise = np.random.default_rng(3).standard_normal(len(far)) * 10 ** (-50 / 20) * 32768
    mic = as_int16(LAB_LIKE.apply(far) + noise)
    reference = _aligned(far, LAB_LIKE)
    shares = [s for i, _, s in _shares(mic, reference) if s is not None and _playing(far, i)]
    assert max(shares) < SPECTRAL_RATIO_DB - 3


def _frame(spectral_db: float | None, far_db: float = -18.0) -> EchoFrame:
    """AEC3 crushed what the microphone heard (40 dB under it); no detector, no fit."""
    return EchoFrame(-20.0, -60.0, far_db, 1.0, recent_far_db=far_db, spectral_db=spectral_db)


def test_sound_beyond_her_spectrum_is_the_user() -> None:
    s = BargeInSettings()

    def unexplained(frame: EchoFrame) -> bool:
        return frame.unexplained(s.residue, s.max_leak, s.detector_erle_db)

    assert not unexplained(_frame(None))
    assert unexplained(_frame(-20.0 + SPECTRAL_RATIO_DB + 1))
    assert not unexplained(_frame(-20.0 + SPECTRAL_RATIO_DB - 1))
    # Faint whatever its share: under the floor nothing is the user while she plays.
    quiet = EchoFrame(-45.0, -90.0, -18.0, 1.0, recent_far_db=-18.0, spectral_db=-52.0)
    assert not unexplained(quiet)
