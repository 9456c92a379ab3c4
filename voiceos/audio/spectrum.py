"""What the microphone holds beyond her echo's spectrum.

A linear echo canceller predicts her echo sample by sample, and a delay that wobbles by a
fraction of a millisecond (the lab's loopback does, and so do real clocks) costs it most
of its reduction above a few kHz. The power spectrum of her echo does not care: over a
32 ms frame it is her voice's spectrum times the echo path's gain, whatever the phase.
`EchoSpectrum` learns that gain per frequency bin while she plays, predicts the power her
echo brings to each bin of the microphone from the reference just before, and measures
the power beyond it: another voice fills the bins between her harmonics and where her
formants are not, even while it is quieter than her echo overall.

The reference must arrive with her echo or a little before it (the echo stage hands the
one it moves by the delay tracker's lag). A step of the clocks up to `HISTORY_FRAMES` hops
late is covered by the prediction taking the loudest of the recent reference frames; a
room's reverberation by letting the prediction decay no faster than `DECAY_PER_FRAME`.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from voiceos.audio.echo import FAR_ACTIVE_DB, level_db

FRAME = 512
HOP = 256
HISTORY_FRAMES = 3
"""Reference frames (the current one and those before, a hop apart) whose loudest power
per bin is her echo's prediction: 48 ms of reference ahead of the frame."""
DECAY_PER_FRAME = 0.5
"""Her predicted echo falls by at most this much power per hop (3 dB per 16 ms: a room's
tail of about 0.3 s)."""
MARGIN = 4.0
"""Power over her predicted echo (6 dB) before a bin counts as holding another voice."""
NOISE_MARGIN = 16.0
"""Power over the microphone's noise floor (12 dB) before a bin counts: the floor is the
quietest the smoothed power has been, a few dB under the noise's mean."""
NOISE_RISE = 1.02
"""The noise floor's rise per hop where the microphone stays above it (about 5 dB a
second): it follows a floor that grows, and the quietest stretches pull it down at once."""
NOISE_SMOOTHING = 0.3
"""The share of each frame in the per-bin power the noise floor follows (a bin's power
in noise scatters widely frame to frame; its floor is read on about 100 ms)."""
GAIN_MEMORY = 0.02
"""The share of each playing frame in the running power sums the gain is taken from
(about 0.8 s of her voice)."""
LEARN_FRAMES = 30
"""Playing frames (about half a second) before anything is measured."""
BINS = slice(3, 250)
"""100 Hz to 7.8 kHz: below, hum and the loudspeaker's rumble; above, the resampler's edge."""
USER_SHARE_DB = -12.0
"""Power beyond her predicted echo this far under the microphone's (in `BINS`) is more
than her echo: the echo stage reads a chunk as the user's from it."""
FLOOR_DB = -50.0
"""Power beyond her echo under this (dBFS) is too faint to be anyone's."""
TRUST_FRAMES = 150
"""Frames of her voice (about 2.4 s) the model must have explained before it is read."""
CHECK_FRAMES = 300
"""Frames of her voice (about 5 s) over which the model's fit of her echo path is judged."""
MAX_UNEXPLAINED = 0.08
"""Share of those frames with more than her echo (`USER_SHARE_DB`) above which the model
does not fit this echo path and is not read. Her echo alone through the lab's loopback
leaves almost none; a user talking over her, a few in a hundred; an echo path with a
discrete reflection 150 ms after the direct sound (which the three frames of reference
do not reach), about two in five."""


def _power(frame: np.ndarray, window: np.ndarray) -> np.ndarray:
    spectrum = np.fft.rfft(frame * window)
    return np.asarray(spectrum.real**2 + spectrum.imag**2)


class EchoSpectrum:
    """Follows the power her echo brings to each frequency, and what the microphone has
    beyond it. Pure: int16 blocks in, levels out."""

    def __init__(self) -> None:
        self._window = np.hanning(FRAME)
        self._scale = float(np.sum(self._window**2)) * FRAME / 2 * 32768.0**2
        """Bin power summed over `BINS` for a full-scale signal's mean power of 1."""
        self._mic = np.zeros(0)
        self._ref = np.zeros(0)
        self._history: list[np.ndarray] = []
        self._echo = np.zeros(FRAME // 2 + 1)
        self._noise: np.ndarray | None = None
        self._smooth: np.ndarray | None = None
        self._mic_sum = np.zeros(FRAME // 2 + 1)
        self._ref_sum = np.zeros(FRAME // 2 + 1)
        self._learned = 0
        self._unexplained: deque[bool] = deque(maxlen=CHECK_FRAMES)
        """Per frame of her voice: the model left more than her echo (`USER_SHARE_DB`)."""
        self.excess_db: float | None = None
        """The louder frame's power beyond her predicted echo and the noise floor, in dBFS
        as `level_db` reads a mean power (None until the gain is learned, or while the
        model does not fit the echo path: `trusted`)."""

    def add(self, mic: np.ndarray, reference: np.ndarray) -> float | None:
        """Take a block of microphone and the reference aligned with it (same length);
        the loudest excess of the frames it completed, in dBFS (`excess_db`)."""
        self._mic = np.concatenate([self._mic, np.asarray(mic, dtype=np.float64)])
        self._ref = np.concatenate([self._ref, np.asarray(reference, dtype=np.float64)])
        loudest: float | None = None
        while self._mic.size >= FRAME:
            excess = self._frame(self._mic[:FRAME], self._ref[:FRAME])
            if excess is not None:
                loudest = excess if loudest is None else max(loudest, excess)
            self._mic = self._mic[HOP:]
            self._ref = self._ref[HOP:]
        if loudest is not None and not self.trusted:
            loudest = None
        if loudest is not None or self._learned >= LEARN_FRAMES:
            self.excess_db = loudest
        return loudest

    @property
    def trusted(self) -> bool:
        """The model has explained her echo alone on almost every frame of her voice
        lately (`MAX_UNEXPLAINED` over `CHECK_FRAMES`, after `TRUST_FRAMES`)."""
        seen = self._unexplained
        return len(seen) >= TRUST_FRAMES and sum(seen) <= MAX_UNEXPLAINED * len(seen)

    def _frame(self, mic: np.ndarray, reference: np.ndarray) -> float | None:
        heard = _power(mic, self._window)
        played = _power(reference, self._window)
        self._history = [played, *self._history[: HISTORY_FRAMES - 1]]
        smooth = heard if self._smooth is None else self._smooth
        self._smooth = smooth = smooth + NOISE_SMOOTHING * (heard - smooth)
        noise = self._noise
        self._noise = smooth.copy() if noise is None else np.minimum(smooth, noise * NOISE_RISE)
        playing = level_db(reference) >= FAR_ACTIVE_DB
        if playing:
            self._mic_sum += GAIN_MEMORY * (heard - self._mic_sum)
            self._ref_sum += GAIN_MEMORY * (played - self._ref_sum)
            self._learned += 1
        gain = self._mic_sum / np.maximum(self._ref_sum, 1e-3)
        nearest = np.max(self._history, axis=0)
        self._echo = np.maximum(gain * nearest, DECAY_PER_FRAME * self._echo)
        if self._learned < LEARN_FRAMES:
            return None
        floor = np.maximum(MARGIN * self._echo, NOISE_MARGIN * self._noise)
        beyond = float(np.sum(np.maximum(heard[BINS] - floor[BINS], 0.0)))
        power = beyond / self._scale
        excess_db = 10.0 * math.log10(power) if power > 1e-12 else -120.0
        if playing:
            share = beyond / max(float(np.sum(heard[BINS])), 1e-12)
            self._unexplained.append(excess_db >= FLOOR_DB and share >= 10 ** (USER_SHARE_DB / 10))
        return excess_db
