"""How far her echo arrives behind the aligned reference, measured on the signals.

The echo stage aligns the reference by the device clocks. On PulseAudio that alignment
moves: every restarted output stream shifts it by 0.4-1.4 ms, and a resync of the
microphone's clock by about 6 ms (bench/echo_record.py). AEC3 estimates its delay itself;
speexdsp's linear filter, which the double-talk detector runs, must learn the echo path
again after each step; and it converges slowly when her echo comes tens of milliseconds
after the reference it is given (on a 4 s recording of the lab: 13 dB with the echo 30 ms
late, 29 dB with it 1 ms late). This tracker measures the echo's lag by correlating the
microphone with the reference over 250 ms windows where the microphone hears mostly
her, so the detector can be given a reference that arrives with her echo, and the stage
can tell when her echo can still be arriving.

The lag is searched up to a second: a Bluetooth speaker adds 100-300 ms, and an echo path
through PulseAudio whose buffers grow at each underrun (a `pacat -r | pacat -p` loop, as
the end-to-end tests build one) reached 940 ms within ten seconds.
"""

from __future__ import annotations

import logging

import numpy as np

from voiceos.audio.echo import FAR_ACTIVE_DB, level_db
from voiceos.audio.matching import sliding_match
from voiceos.audio.reference import RATE_HZ

logger = logging.getLogger(__name__)

MAX_LAG = RATE_HZ
"""The longest lag searched by default (1 s), in samples."""


class EchoDelayTracker:
    """Follows the echo's lag behind the aligned reference, window by window.

    Args:
        max_lag: the longest lag searched, in samples.
        window: samples of microphone per measure; one is taken every `window // 2`, so a
            step of the clocks is followed within about a window.
        sure: normalised correlation that makes one measure enough: the microphone is
            almost only her echo, through a dry path (on the lab's loopback it is above
            0.95). A user talking over her brings it down.
        min_match: correlation below which nothing is measured; from it up to `sure`, two
            measures in a row must agree. Through a reverberant room (a synthetic 250 ms
            reverb peaks at 0.3-0.9, at lags all over the tail) almost nothing is measured,
            and the detector runs as it would without.
        agree: samples within which two measures agree, and by which a measure must differ
            from `lag` to move it: the lag drifts by about a sample every few seconds, which
            the filter follows by itself.
        settle: samples of her playing after the lag moved during which it is not
            `current`: the filter still holds reference from before the move.
    """

    def __init__(
        self,
        max_lag: int = MAX_LAG,
        window: int = RATE_HZ // 4,
        sure: float = 0.95,
        min_match: float = 0.8,
        agree: int = 2,
        settle: int = RATE_HZ * 150 // 1000,
    ) -> None:
        self._max_lag = max_lag
        self._window = window
        self._sure = sure
        self._min_match = min_match
        self._candidate: int | None = None
        self._agree = agree
        self._mic = np.zeros(0, dtype=np.int16)
        self._reference = np.zeros(max_lag + window, dtype=np.int16)
        """The latest reference; silence before the first block (she had played nothing)."""
        self._fresh = 0
        self._settle = settle
        self._since_move = settle
        """Samples she has played since the lag last moved."""
        self.lag: int | None = None
        """How many samples her echo arrives after the reference; None before the first
        measure."""
        self.measures = 0
        """Windows that gave a lag (matched well enough)."""
        self.moves = 0
        """Times `lag` moved after it was first set."""

    @property
    def max_lag(self) -> int:
        """The longest lag searched, in samples."""
        return self._max_lag

    @property
    def current(self) -> bool:
        """A filter given the reference at `lag` has settled on it (or nothing moved)."""
        return self._since_move >= self._settle

    def add(self, mic: np.ndarray, reference: np.ndarray) -> None:
        """The next block of microphone samples and the reference aligned with them."""
        if level_db(reference) >= FAR_ACTIVE_DB:
            self._since_move += len(reference)
        self._mic = np.concatenate([self._mic, np.asarray(mic, dtype=np.int16)])
        self._mic = self._mic[-self._window :]
        self._reference = np.concatenate([self._reference, np.asarray(reference, np.int16)])
        self._reference = self._reference[-(self._max_lag + self._window) :]
        self._fresh += len(mic)
        if self._mic.size == self._window and self._fresh >= self._window // 2:
            self._fresh = 0
            self._measure(self._mic, self._reference)

    def _measure(self, mic: np.ndarray, reference: np.ndarray) -> None:
        if level_db(reference[-self._window :]) < FAR_ACTIVE_DB or level_db(mic) < FAR_ACTIVE_DB:
            return
        score = sliding_match(mic, reference)
        if not score.size:
            return
        best = int(np.argmax(score))
        match = float(score[best])
        if match < self._min_match:
            self._candidate = None
            return
        self.measures += 1
        lag = self._max_lag - best  # the echo arrives `lag` samples after the reference
        candidate, self._candidate = self._candidate, lag
        agreed = candidate is not None and abs(candidate - lag) <= self._agree
        if match < self._sure and not agreed:
            return
        if self.lag is None or abs(self.lag - lag) > self._agree:
            self.moves += self.lag is not None
            logger.debug(
                "her echo arrives %.1f ms after the reference (was %s; match %.2f)",
                lag * 1000 / RATE_HZ,
                "unknown" if self.lag is None else f"{self.lag * 1000 / RATE_HZ:.1f} ms",
                match,
            )
            self.lag, self._since_move = lag, 0
