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

The lag is her echo's first arrival, where a filter given the reference must start. A
room may send her voice back again later (a reflection): where she paused, the microphone
holds only that and matches best there, so the lag moves later only when the window shows
her echo has left it. The reflection's distance from the first arrival (`spread`) is
measured on what her voice at the lag leaves of the microphone: for that much longer
after she stops, her echo may still come, and a fit of her echo path takes in both.

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

DISTINCT = RATE_HZ * 2 // 1000
"""Samples after `lag` from which a later arrival may be a reflection, not her echo moved:
nearer ones are the clocks' drift and steps, followed as before (2 ms: speech changes
little within a fraction of a millisecond, so a fit on both lags could not tell them apart)."""

QUIETER_DB = 10.0
"""How much quieter her voice where the lag reads than where a later one does leaves the
window unable to tell whether her echo moved (after a step of the clocks, both read the
same voice, a few milliseconds apart)."""

HOLDS_SHARE_DB = -20.0
"""The share of the microphone the current lag must still explain, fitted together with a
later one, to keep its place against it."""


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
        self._spread_candidate: int | None = None
        self.spread = 0
        """Samples from `lag` to a later arrival of her echo (a room's reflection), as last
        measured: for that much longer after she stops, her echo may still come. 0 where
        none was measured."""
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
        if self.lag is not None and lag > self.lag + DISTINCT and self._holds(mic, reference, lag):
            return  # a later arrival of her echo (a reflection): the first one still holds
        if self.lag is None or abs(self.lag - lag) > self._agree:
            self.moves += self.lag is not None
            logger.debug(
                "her echo arrives %.1f ms after the reference (was %s; match %.2f)",
                lag * 1000 / RATE_HZ,
                "unknown" if self.lag is None else f"{self.lag * 1000 / RATE_HZ:.1f} ms",
                match,
            )
            self.lag, self._since_move = lag, 0
        self._seek_reflection(mic, reference)

    def _seek_reflection(self, mic: np.ndarray, reference: np.ndarray) -> None:
        """Where the microphone matches her at `lag`, what her voice from there leaves of it
        may match her again later: a reflection (the direct sound taken out, a reflection
        at half its level 150 ms later matched 1.00; a single drifting path's remains at
        most 0.78, and a room's diffuse tail 0.73)."""
        assert self.lag is not None
        at, n = self._max_lag - self.lag, self._window
        here = reference[at : at + n].astype(np.float64)
        if level_db(here) < FAR_ACTIVE_DB:
            return
        heard = mic.astype(np.float64)
        left = heard - here * (float(np.dot(here, heard)) / float(np.dot(here, here)))
        if level_db(left) < FAR_ACTIVE_DB:
            return
        score = sliding_match(left, reference[: at - DISTINCT + n])  # later lags only
        if score.size:
            best = int(np.argmax(score))
            if score[best] >= self._sure:
                self._arrives_again(at - best, float(score[best]))
                return
        self._spread_candidate = None

    def _arrives_again(self, spread: int, match: float) -> None:
        """Her echo was measured arriving `spread` samples after `lag` too: taken once two
        measures in a row agree."""
        seen, self._spread_candidate = self._spread_candidate, spread
        if seen is None or abs(seen - spread) > self._agree:
            return
        if abs(spread - self.spread) <= self._agree:
            return  # the same reflection
        logger.debug(
            "her echo also arrives %.1f ms after its first arrival (match %.2f)",
            spread * 1000 / RATE_HZ,
            match,
        )
        self.spread = spread

    def _holds(self, mic: np.ndarray, reference: np.ndarray, later: int) -> bool:
        """Nothing in this window shows her echo has left `lag` for `later`: she was silent
        where `lag` reads, or far quieter than where `later` does (a word's last sounds
        against the reflection of its loudest), or, fitted on both lags at once, the
        microphone still holds her voice from `lag`. The lag is her echo's first arrival,
        where a filter must start; a room's reflection comes later, and where she paused
        it is all the microphone holds of her (on a direct sound 60 ms late and a
        reflection at half level 150 ms after it, the lag went to the reflection twice in
        four sentences of real speech, where the direct sound still matched 0.27). After a
        step of the clocks, the old lag explains nothing the new one does not."""
        assert self.lag is not None
        n = self._window
        now = reference[self._max_lag - self.lag :][:n].astype(np.float64)
        then = reference[self._max_lag - later :][:n].astype(np.float64)
        if level_db(now) < max(FAR_ACTIVE_DB, level_db(then) - QUIETER_DB):
            return True  # she was (nearly) silent at `lag`: this window cannot tell
        heard = mic.astype(np.float64)
        (gain, _), *_ = np.linalg.lstsq(np.stack([now, then], axis=1), heard, rcond=None)
        share = float(np.dot(gain * now, gain * now)) / max(float(np.dot(heard, heard)), 1.0)
        return share >= 10 ** (HOLDS_SHARE_DB / 10)
