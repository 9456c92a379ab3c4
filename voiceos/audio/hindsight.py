"""Her echo taken out after the fact: the echo path fitted on the half second before a hold.

The cancellers run forward, frame by frame: AEC3 suppresses whatever it doubts (a "stop"
said over her comes out in pieces Whisper hears as "okay" or "go"), and the linear
filter of the double-talk detector follows the echo path too slowly where its delay
drifts (10-16 dB on the lab's loopback). At a hold there is time to look back: fit the
echo path by least squares on the last stretch of her voice alone, a few taps around the
delay the tracker measured, with each tap allowed to drift linearly in time. Cancelled
with that fit, what followed keeps the user's word whole (bench/echo_hindsight.py).
The stage also refits a static filter every sixteenth of a second while she plays, on the
quarter second of her voice up to 50 ms ago: a third reading of the user
over her (`EchoFrame.fit_db`), which hears a user far quieter than her once it has
proven itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voiceos.audio.echo import FAR_ACTIVE_DB, level_db, loudest_db, window_levels_db
from voiceos.audio.matching import sliding_match
from voiceos.audio.reference import RATE_HZ

MIN_HEARD_SHARE = 0.5
"""Of the 32 ms windows a fit is made on, the share where her echo must be heard: fitted
on a sentence's last words, the drift terms are guessed, and go wrong on the next."""
FIT_WINDOW = 1024
"""Samples `Hindsight.unexplained_db` fits her echo path on at a time (64 ms)."""
SILENT_DB = -90.0
"""Below this (dBFS) there is nothing to fit."""
SUSTAINED = 3
"""32 ms windows over which `Hindsight.unexplained_db` reads a level (a "no" lasts ten)."""
CANDIDATE_LAGS = 3
"""Delays at which `Hindsight.unexplained_db` fits her echo path: the best matches."""
RIDGE = 1e-9
"""Added to the normal equations' diagonal, relative to its mean: keeps them solvable
where her voice has little energy in some band, and changes nothing else."""


class _History:
    """The latest `keep` samples of a stream, appended block by block without copying
    the whole history each time (a buffer twice as long, compacted when full)."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._buffer = np.zeros(2 * keep, dtype=np.int16)
        self._filled = 0

    def append(self, block: np.ndarray) -> None:
        n = len(block)
        if self._filled + n > len(self._buffer):
            kept = self.latest
            self._buffer = np.zeros(max(len(self._buffer), 2 * (len(kept) + n)), np.int16)
            self._buffer[: len(kept)] = kept
            self._filled = len(kept)
        self._buffer[self._filled : self._filled + n] = block
        self._filled += n

    def __len__(self) -> int:
        return min(self._filled, self._keep)

    @property
    def latest(self) -> np.ndarray:
        """The last `keep` samples (fewer at first), as a view."""
        return self._buffer[max(0, self._filled - self._keep) : self._filled]


@dataclass(frozen=True)
class EchoPathFit:
    """Her echo path as least squares found it on one stretch of audio."""

    weights: np.ndarray
    """`taps` filter weights, then (with `drift`) as many drifts per second of time from
    `origin`."""
    first_lag: int
    """Samples her echo lags the reference at the filter's first tap."""
    origin: int
    """History index (samples since the stage began) where the drift terms are zero."""
    erle_db: float
    """Echo reduction on the stretch it was fitted on."""
    check_db: float
    """Echo reduction on the stretch just after, which it was not fitted on."""
    drift: bool = True
    """Each tap drifts linearly in time (a hold's fit); False for a static filter (the
    fits made while she plays, followed until the next, for at most half a second)."""

    @property
    def taps(self) -> int:
        return len(self.weights) // 2 if self.drift else len(self.weights)


class Hindsight:
    """The microphone before cancellation and the reference aligned with it, for the last
    few seconds; at a hold, a fit of her echo path and what it leaves of the microphone.

    Args:
        keep_s: seconds of history kept.
        fit_s: seconds of her voice the path is fitted on.
        gap_s: the fit ends this long before the latest sample: the user's word began a
            little before the sound held her, and must not be taken for her echo.
        check_s: the start of that gap, on which the fit is checked: a step of the device
            clocks just after the stretch it was fitted on leaves her echo whole. The best
            32 ms of it are read, as the user's word may begin there.
        taps: filter length around the measured delay (2 ms: a loudspeaker's direct path
            and its first reflections; a reverberant room's tail is left to the check of
            `min_erle_db`).
        min_erle_db: a fit that leaves more of her than this on its own stretch is not
            used (her echo path is longer than the filter, or the user was already
            talking there).
        min_check_db: nor one that leaves more of her than this on `check_s` (measured on
            recordings of the lab, the fit takes out 15 dB or more of her echo over the
            next second nine times in ten, 26 dB typically).
    """

    def __init__(
        self,
        keep_s: float = 4.0,
        fit_s: float = 0.5,
        gap_s: float = 0.4,
        check_s: float = 0.2,
        taps: int = 32,
        min_erle_db: float = 20.0,
        min_check_db: float = 12.0,
    ) -> None:
        self._keep = int(keep_s * RATE_HZ)
        self._fit_n = int(fit_s * RATE_HZ)
        self._gap = int(gap_s * RATE_HZ)
        self._taps = taps
        self._min_erle_db = min_erle_db
        self._check = int(check_s * RATE_HZ)
        self._min_check_db = min_check_db
        self._mic = _History(self._keep)
        self._reference = _History(self._keep)
        self._end = 0
        """History index just past the latest sample."""

    def add(self, mic: np.ndarray, reference: np.ndarray) -> None:
        """The next block of microphone samples and the reference aligned with them."""
        self._mic.append(np.asarray(mic, dtype=np.int16))
        self._reference.append(np.asarray(reference, dtype=np.int16))
        self._end += len(mic)

    @property
    def end(self) -> int:
        """History index just past the latest sample."""
        return self._end

    def first_lag(self, lag: int) -> int:
        """The first tap's lag of a fit around `lag`."""
        return max(0, lag - self._taps // 2)

    def usable(self, fit: EchoPathFit | None) -> bool:
        """The fit removes `min_erle_db` of her echo where it was made, and `min_check_db`
        over the `check_s` after (where her echo must be heard: unchecked, a fit made on
        one sentence's end can be far off on the next one's start)."""
        return (
            fit is not None
            and fit.erle_db >= self._min_erle_db
            and self._min_check_db <= fit.check_db < float("inf")
        )

    def look_back(
        self,
        lag: int | None,
        drift: bool = True,
        gap: int | None = None,
        span: int | None = None,
    ) -> EchoPathFit | None:
        """Fit her echo path, `lag` samples behind the reference, on `fit_s` (or `span`
        samples) of history ending `gap_s` (or `gap` samples) ago; `usable` tells whether
        to use it (it is checked on at most `check_s` of the gap). Without `drift`, a
        static filter. None without a lag, without enough history, or without her voice
        there."""
        if lag is None:
            return None
        first_lag = self.first_lag(lag)
        gap = self._gap if gap is None else gap
        check = min(self._check, gap)
        stop = self._end - gap
        start = stop - (self._fit_n if span is None else span)
        if start - first_lag - self._taps < self._end - len(self._mic):
            return None
        mic = self._slice(self._mic, start, stop)
        if _heard_share(mic) < MIN_HEARD_SHARE:
            return None  # too little of her echo there to fit (she paused)
        rows = self._regressors(start, stop, first_lag, stop, drift)
        if _heard_share(rows[:, self._taps // 2]) < MIN_HEARD_SHARE:
            return None  # the microphone heard more than her voice can explain (the user)
        weights = _solve(rows, mic)
        if weights is None:
            return None  # her voice too poor in some band to tell the taps apart
        erle = level_db(mic) - level_db(mic - rows @ weights)
        after = self._slice(self._mic, stop, stop + check)
        rows = self._regressors(stop, stop + check, first_lag, stop, drift)
        left = after - rows @ weights
        fit = EchoPathFit(weights, first_lag, stop, erle, _best_reduction(after, left), drift)
        return fit

    def unexplained_db(self, count: int, max_lag: int, spread: int = 0) -> float | None:
        """How loud the latest `count` microphone samples stay once her echo is taken out
        afresh (dBFS, over their loudest `SUSTAINED` windows of 32 ms): faint when her
        voice explains all the microphone heard, as loud as the user when they spoke.

        Every 64 ms is fitted on itself, with a static filter at the delay (up to
        `max_lag` samples) where it matches her voice best, and so is every 64 ms
        between; each 32 ms keeps the better of its two. The clocks step every few seconds
        on the lab (her echo comes 6-15 ms later or sooner), and every running fit misses
        the step: fitted this way, her echo on either side of one is explained. Where her
        echo also arrives `spread` samples after its first arrival (a reflection the
        delay tracker measured), each delay is fitted with that reflection too. None
        without that much history."""
        stop = self._end
        start = stop - count
        if count <= 0 or start - max_lag - self._taps < self._end - len(self._mic):
            return None
        step = FIT_WINDOW // 2
        windows = (count + step - 1) // step
        kept = np.full(windows, np.inf)
        for first in range(-1, windows):  # fits over windows `first` and `first + 1`
            a, b = start + max(first, 0) * step, min(stop, start + (first + 2) * step)
            left = self._unexplained(a, b, max_lag, spread)
            levels = window_levels_db(left, step, partial=True)
            at = max(first, 0)
            kept[at : at + len(levels)] = np.minimum(kept[at : at + len(levels)], levels)
        return _sustained_db(kept)

    def _unexplained(self, start: int, stop: int, max_lag: int, spread: int) -> np.ndarray:
        """The microphone from `start` to `stop` less the best fit of her echo on it."""
        mic = self._slice(self._mic, start, stop)
        haystack = self._slice(self._reference, start - max_lag, stop)
        if level_db(haystack) <= SILENT_DB or level_db(mic) <= SILENT_DB:
            return mic
        score = sliding_match(mic, haystack)
        # Her voice matches itself a pitch period away too: fit at the best few peaks, each
        # with its reflection `spread` later where her echo arrives twice.
        peaks = _peaks(score, CANDIDATE_LAGS, self._taps)
        best, best_db = mic, loudest_db(mic, hop=256)
        fits = [[k] for k in peaks]
        if spread >= self._taps:  # a peak may be either arrival
            fits += [[k, k - spread] for k in peaks if k >= spread]
            fits += [[k + spread, k] for k in peaks if k + spread < len(score)]
        for ks in fits:
            # mic[t] follows reference[t - lag], lag = max_lag - k
            rows = np.concatenate(
                [
                    self._regressors(start, stop, self.first_lag(max_lag - k), stop, drift=False)
                    for k in ks
                ],
                axis=1,
            )
            weights = _solve(rows, mic)
            if weights is not None:
                left = mic - rows @ weights
                left_db = loudest_db(left, hop=256)
                if left_db < best_db:
                    best, best_db = left, left_db
        return best

    def cancel(self, fit: EchoPathFit, count: int, back: int = 0) -> np.ndarray | None:
        """The `count` microphone samples ending `back` samples before the latest, less
        her echo through `fit`; None without that much history."""
        stop = self._end - back
        start = stop - count
        if start - fit.first_lag - fit.taps < self._end - len(self._mic):
            return None
        rows = self._regressors(start, stop, fit.first_lag, fit.origin, fit.drift)
        left = self._slice(self._mic, start, stop) - rows @ fit.weights
        return np.clip(np.rint(left), -32768, 32767).astype(np.int16)

    def _slice(self, history: _History, start: int, stop: int) -> np.ndarray:
        data = history.latest
        offset = len(data) - self._end
        return data[start + offset : stop + offset].astype(np.float64)

    def _regressors(
        self, start: int, stop: int, first_lag: int, origin: int, drift: bool = True
    ) -> np.ndarray:
        """One column per tap (the reference `first_lag + k` samples earlier), then each
        times the seconds from `origin` (the delay's drift, followed linearly)."""
        taps = np.stack(
            [
                self._slice(self._reference, start - first_lag - k, stop - first_lag - k)
                for k in range(self._taps)
            ],
            axis=1,
        )
        if not drift:
            return taps
        seconds = (np.arange(start, stop, dtype=np.float64) - origin)[:, None] / RATE_HZ
        return np.concatenate([taps, taps * seconds], axis=1)


def _solve(rows: np.ndarray, mic: np.ndarray) -> np.ndarray | None:
    """The least-squares weights of `rows` for `mic`; None when they cannot be told apart."""
    gram = rows.T @ rows  # the normal equations: ten times faster than lstsq here
    gram[np.diag_indices_from(gram)] += RIDGE * np.trace(gram) / len(gram)
    try:
        return np.linalg.solve(gram, rows.T @ mic)
    except np.linalg.LinAlgError:
        return None


def _peaks(score: np.ndarray, count: int, apart: int) -> list[int]:
    """Indices of the `count` highest positive values of `score`, `apart` or more apart."""
    order = np.argsort(score)[::-1]
    found: list[int] = []
    for k in order[: 50 * count]:
        if score[k] <= 0 or len(found) == count:
            break
        if all(abs(int(k) - f) >= apart for f in found):
            found.append(int(k))
    return found


def _sustained_db(levels: np.ndarray) -> float:
    """The level `levels` (32 ms windows) keep over their loudest `SUSTAINED` windows: a
    word lasts longer than the slip of a fit at a step of the clocks."""
    return float(np.sort(levels)[-min(SUSTAINED, len(levels))])


def _heard_share(mic: np.ndarray, window: int = 512) -> float:
    """The share of `window`s of `mic` where her echo is heard (above FAR_ACTIVE_DB)."""
    levels = window_levels_db(mic, window, partial=True)
    return float(np.mean(levels > FAR_ACTIVE_DB)) if levels.size else 0.0


def _best_reduction(mic: np.ndarray, left: np.ndarray, window: int = 512) -> float:
    """The most echo taken out of any `window` of `mic` (half-overlapping) where her echo
    is heard; infinite where it is heard in none (there was nothing to take out)."""
    heard = window_levels_db(mic, window, window // 2)
    kept = window_levels_db(left, window, window // 2)
    echo = heard > FAR_ACTIVE_DB
    return float(np.max(heard[echo] - kept[echo])) if echo.any() else float("inf")
