"""The echo-cancelling stage between the microphone and the endpointer.

It wraps any stream of timestamped 16 kHz chunks. For each canceller frame it reads the
reference that was playing `delay_ms` before the frame was captured, cancels, and yields the
cleaned audio with the same timestamps. Per chunk it keeps the levels the turn-taking
policy needs to tell the user from a residue of the reply (`last`).
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import numpy as np

from voiceos.audio.delay import EchoDelayTracker
from voiceos.audio.echo import FAR_ACTIVE_DB, EchoCanceller, level_db, loudest_db
from voiceos.audio.hindsight import EchoPathFit, Hindsight
from voiceos.audio.matching import sliding_match
from voiceos.audio.reference import RATE_HZ, ReferenceTap, ReferenceTimeline, SteadyClock
from voiceos.audio.spectrum import USER_SHARE_DB, EchoSpectrum
from voiceos.types import AudioChunk

logger = logging.getLogger(__name__)

NO_ECHO_DB = 60.0
"""Counted as the echo reduction of a chunk when none of her voice reaches the mic."""
ECHO_EVIDENCE_CHUNKS = 300
"""Chunks (about 10 s) of her playing over which the microphone's level tells whether her
voice reaches it at all."""
RECENT_MIC_CHUNKS = 3
"""Chunks (about 100 ms before this one) over which `EchoFrame.recent_mic_db` is taken."""
RECENT_CHUNKS = 16
"""Cleaned chunks kept ungated (about 0.5 s at 512 samples)."""
ALIGN_SLACK = 32
"""Samples (2 ms) by which the detector's reference still leads her echo once the tracker
has measured it: room for the filter's first taps, and for the lag's drift."""
LEAK_WINDOW = 1024
"""Cleaned samples compared with the reference to spot echo that got through (64 ms)."""
REFIT_SAMPLES = RATE_HZ // 16
"""How often her echo path is fitted again while she plays (`EchoFrame.fit_db`)."""
REFIT_GAP = RATE_HZ // 20
REFIT_SPAN = RATE_HZ // 4
"""Those fits are made on `REFIT_SPAN` of her voice ending `REFIT_GAP` before the latest
sample, and checked on that gap. Her delay as the stage sees it drifts on the lab: a
static filter made on half a second that ended 0.4 s back proved itself live at 1 chunk
in 700 of her voice (a bench run), made on half a second up to 0.1 s back at about two
in three; on a quarter second, more fits pass their checks. Refitted every 1/16 s on
a quarter second ending 50 ms back (it was every 1/8 s, 100 ms back), a fit was proven
over 68% of her voice in a live probe instead of 48%, taking out 27 dB of her echo
(median) instead of 21; offline, on a recording of the lab's echo path, 42 dB instead of
38. Her espeak-ng voice, bright up to 8 kHz, keeps a static fit good only briefly as
the lab's loopback wobbles her delay by fractions of a millisecond."""
FIT_AGE_SAMPLES = RATE_HZ // 2
"""How long after the stretch it was made on a fit of her echo path is still followed,
when none newer was good (the user talking over her spoils the next ones)."""
FIT_PROVEN_CHUNKS = 8
FIT_PROVEN_DB = 15.0
"""A fit of her echo path followed while she plays is read once it has taken out this
much of her echo (median) over this many chunks of her voice."""
FIT_MARGIN_DB = 12.0
FIT_RATIO_FLOOR_DB = -25.0
"""A proven fit that takes out R dB of her echo counts its output as the user from
`FIT_MARGIN_DB` - R dB below the microphone (never below this floor), not just from the
residue's ratio: a user 10-20 dB quieter than her echo is heard at their first syllable."""


def fit_user_ratio_db(reduction_db: float) -> float:
    """How far under the microphone a proven fit's output, taking `reduction_db` of her
    echo out, counts as the user (`FIT_MARGIN_DB`, `FIT_RATIO_FLOOR_DB`)."""
    return max(FIT_RATIO_FLOOR_DB, FIT_MARGIN_DB - reduction_db)


SPECTRAL_RATIO_DB = USER_SHARE_DB
"""What the microphone holds beyond her echo's predicted spectrum (`EchoFrame.spectral_db`)
counts as the user from this far under the microphone."""
AEC_HEARS_DB = 25.0
"""... provided AEC3 takes out less than this of the microphone then: it hears more than
her echo too. Where a clock step leaves a fit behind, AEC3 follows her echo, and keeps
taking out 30 dB or more."""
ADDED_DB = 3.0
"""How much louder than the microphone the detector's output may be before it counts as
the filter's own sound: the two are measured on frames cut a little apart, which differ
at a word's end."""


def leak_correlation(cleaned: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalised correlation of `cleaned` with any same-length stretch of `reference`
    that ends no later than it (the echo comes after what caused it)."""
    score = sliding_match(cleaned, reference)
    return float(np.max(np.abs(score))) if score.size else 0.0


@dataclass(frozen=True)
class EchoFrame:
    """Levels of one cleaned chunk, in dBFS."""

    mic_db: float
    """The microphone before cancellation."""
    out_db: float
    """After cancellation: the user, plus any residue of the echo."""
    far_db: float
    """The loudest reference over the echo tail that could reach this chunk."""
    captured_s: float
    late_samples: int = 0
    """Reference samples that were not published in time (cancelled against silence)."""
    recent_far_db: float = -120.0
    """The loudest reference over the last `echo_window_ms` (as her echo reaches the
    microphone, where the delay tracker measured it), and over the spread to a distinct
    later arrival the tracker measured (a reflection 150 ms later): below FAR_ACTIVE_DB,
    no direct or reflected echo can be arriving (she is paused), whatever the room's
    diffuse tail."""
    leak: float = 0.0
    """Peak normalised correlation (0-1) of the last 64 ms of cleaned audio with the
    reference at any delay within the tail: high when her echo got through the canceller."""
    near_db: float | None = None
    """The microphone after the stage's double-talk detector (a linear filter alone, which
    keeps the user's voice whole over hers); None without one."""
    near_leak: float = 0.0
    """`leak` of the detector's output: high when its filter lost her echo (a timing jump)."""
    near_erle_db: float | None = None
    """The detector's echo reduction (median over the last ~2 s she played), if known: its
    filter converges more slowly than AEC3, and loses her echo after a timing jump. None
    also just after the delay tracker moved the detector's reference (`tracker.current`)."""
    fit_db: float | None = None
    """The microphone less her echo through the latest good fit of her echo path
    (`Hindsight`, refitted every sixteenth of a second while she plays); None without one."""
    fit_leak: float = 0.0
    """`leak` of that output."""
    fit_reduction_db: float = 0.0
    """How much of her echo that fit has been taking out (the median that proved it)."""
    recent_mic_db: float | None = None
    """The loudest microphone chunk over the last ~100 ms (with a detector): the linear
    filter's residue of her echo fades more slowly than her echo at a word's end, so the
    detector's output is read against it."""
    spectral_db: float | None = None
    """What the microphone holds beyond her echo's predicted power spectrum (`EchoSpectrum`,
    with a detector and a measured delay), in dBFS; None when not known."""

    def explained(self, residue: Residue) -> bool:
        """True when what is left after cancellation can be her echo: she is playing, and
        the cleaned audio is faint, or far below what the microphone heard."""
        return self._explains(self.out_db, residue)

    def unexplained(
        self,
        residue: Residue,
        max_leak: float,
        detector_erle_db: float,
        detector_residue: Residue | None = None,
    ) -> bool:
        """Sound her reply cannot explain: after the canceller (its `residue`), or after
        the double-talk detector (whose linear filter keeps a user AEC3 crushes; counted
        while it removes `detector_erle_db` of her echo; `detector_residue`, by default the
        same), it is neither faint, nor her echo's remains, nor correlated with her voice.
        A detector louder than the microphone is its filter's own sound (`detector_adds`).
        The fit of her echo path (`fit_db`) is read as the detector is."""
        heard = max(self.mic_db, self.recent_mic_db or -120.0)
        linear = detector_residue or residue
        return (
            self._unexplained(self.out_db, self.leak, residue, max_leak)
            or (
                self.near_db is not None
                and self.detector_counts(detector_erle_db)
                and not self.detector_adds
                and self._unexplained(self.near_db, self.near_leak, linear, max_leak, heard)
            )
            or (
                self.fit_db is not None
                and self.fit_db <= self.mic_db + ADDED_DB
                and self._unexplained(
                    self.fit_db, self.fit_leak, self._fit_residue(linear), max_leak, heard
                )
            )
            or (
                self.spectral_db is not None
                and self._unexplained(
                    self.spectral_db, 0.0, replace(residue, ratio_db=SPECTRAL_RATIO_DB), max_leak
                )
            )
        )

    def _fit_residue(self, linear: Residue) -> Residue:
        """What the fit leaves of her echo: from `FIT_MARGIN_DB` above what it has been
        taking out, while AEC3 hears more than her echo too; else as the detector's."""
        if self.mic_db - self.out_db >= AEC_HEARS_DB:
            return linear
        ratio = fit_user_ratio_db(self.fit_reduction_db)
        return replace(linear, ratio_db=min(linear.ratio_db, ratio))

    def detector_counts(self, detector_erle_db: float) -> bool:
        """The detector's output is read: its filter removes `detector_erle_db` of her echo."""
        return self.near_erle_db is not None and self.near_erle_db >= detector_erle_db

    @property
    def user_db(self) -> float:
        """The louder of the canceller's and the detector's outputs, never above the
        microphone: what the user adds. Cancelling only takes away; a linear filter that
        has lost her echo path plays back its memory of her voice, even into a silent
        microphone (seen on the lab: the detector at -40 dBFS, the microphone at zero,
        just after a hold)."""
        louder = self.out_db if self.near_db is None else max(self.out_db, self.near_db)
        return min(louder, self.mic_db)

    @property
    def detector_adds(self) -> bool:
        """The detector's output is louder than the microphone: its filter is adding her
        voice (it lost her echo path), not keeping the user's."""
        return self.near_db is not None and self.near_db > self.mic_db + ADDED_DB

    def _unexplained(
        self,
        level: float,
        leak: float,
        residue: Residue,
        max_leak: float,
        mic_db: float | None = None,
    ) -> bool:
        return (
            level >= residue.floor_db
            and not self._explains(level, residue, mic_db)
            and leak < max_leak
        )

    def _explains(self, level: float, residue: Residue, mic_db: float | None = None) -> bool:
        if self.recent_far_db <= FAR_ACTIVE_DB:
            return False  # no direct echo can be arriving: a room's faint tail is no reason
        heard = self.mic_db if mic_db is None else mic_db
        return level < residue.floor_db or level - heard < residue.ratio_db


@dataclass(frozen=True)
class Residue:
    """What counts as the remains of her echo after cancellation."""

    ratio_db: float = -10.0
    """Cleaned level minus microphone level below which a chunk is her echo's remains."""
    floor_db: float = -48.0
    """Cleaned level (dBFS) below which nothing counts as the user while she plays."""


class EchoStage:
    """Cancels the player's echo from a chunk stream.

    Args:
        canceller: a started backend; the stage closes it.
        tap: where the player publishes what it played.
        delay_ms: echo delay beyond the device latencies PortAudio reports (doctor measures
            it). The reference is read `margin_ms` earlier still, so the filter sees it first.
        tail_ms: how much echo (reverb) the canceller models; used for `far_db`.
        echo_window_ms: how long after the reference the direct echo can still arrive,
            beyond `delay_ms` (device timing jitter included); used for `recent_far_db`.
        gate: silence chunks that are only her echo's remains, so the endpointer does not
            take them for speech (Silero hears speech in a residue 40 dB down); None keeps
            the cleaned audio as it is.
        detector: a second canceller run on the same audio for the levels only (`near_db`):
            a linear filter that keeps the user's voice where AEC3's suppression crushes
            it (bench/echo_dtd.py); the stage closes it.
        tracker: measures the echo's delay on the signals; the detector is given the
            reference as it arrives with her echo (`ALIGN_SLACK` early), so its filter
            converges fast and need not learn the echo path again after each step of the
            device clocks, and the reference's levels (`far_db`, `recent_far_db`) are read
            there too: an echo path slower than the clocks say (a Bluetooth speaker, or
            buffers grown at underruns) still counts as echoing after she paused. AEC3
            finds its own delay. With a tracker, the stage also keeps
            the last seconds of microphone and reference, to `look_back` at a hold.
        refit_samples: with a tracker, how often her echo path is fitted again while she
            plays, the latest good fit giving `EchoFrame.fit_db`; None for never.
    """

    def __init__(
        self,
        canceller: EchoCanceller,
        tap: ReferenceTap,
        delay_ms: float = 0.0,
        tail_ms: int = 300,
        margin_ms: float = 20.0,
        echo_window_ms: float = 80.0,
        gate: Residue | None = None,
        detector: EchoCanceller | None = None,
        tracker: EchoDelayTracker | None = None,
        refit_samples: int | None = REFIT_SAMPLES,
    ) -> None:
        self._canceller = canceller
        self._detector = detector
        self._tracker = tracker
        self._detect_mic = np.zeros(0, dtype=np.int16)
        self._detect_ref = np.zeros(0, dtype=np.int16)
        self._near_db: float | None = None
        self._detected = np.zeros(0, dtype=np.int16)
        self._tap = tap
        self._gate = gate
        self._lead_s = max(0.0, delay_ms - margin_ms) / 1000.0
        self._tail = RATE_HZ * tail_ms // 1000
        self._window = int(RATE_HZ * (echo_window_ms + max(0.0, delay_ms)) / 1000)
        self._timeline = ReferenceTimeline()
        self._pending = np.zeros(0, dtype=np.int16)
        self._pending_s = 0.0
        self._cleaned = np.zeros(0, dtype=np.int16)
        self._canceller_shift = 0
        """Samples by which the canceller's reference is read later than the clocks place
        it (`_canceller_reference`)."""
        self._mic_clock = SteadyClock(RATE_HZ, "microphone")
        self._mic_count = 0
        self._erle: deque[float] = deque(maxlen=60)
        self._near_erle: deque[float] = deque(maxlen=60)
        self._mic_while_playing: deque[float] = deque(maxlen=ECHO_EVIDENCE_CHUNKS)
        self._mic_levels: deque[float] = deque(maxlen=RECENT_MIC_CHUNKS)
        self._played = 0
        """Samples of microphone captured while she played, since the stage began."""
        self._reach = self._window + (tracker.max_lag if tracker is not None else self._tail)
        """How long she must have played before a quiet microphone says her voice does not
        reach it: the longest her echo may take to come back."""
        self.last: EchoFrame | None = None
        self.captured_until_s = 0.0
        """When the capture of the latest chunk read ended (time.monotonic), 0 if unknown."""
        self.late_samples = 0
        self.frames = 0
        self._hindsight = Hindsight()
        self._spectrum = EchoSpectrum() if tracker is not None and detector is not None else None
        self._held_fit: EchoPathFit | None = None
        self._running_fit: EchoPathFit | None = None
        self._since_refit = 0
        self._refit = refit_samples
        self._fitted = np.zeros(0, dtype=np.int16)
        self._fit_record: deque[float] = deque(maxlen=FIT_PROVEN_CHUNKS)
        self._fit_reduction = 0.0
        self._blocks: deque[tuple[int, float]] = deque(maxlen=RECENT_CHUNKS)
        """Samples and capture time of each chunk in `recent`."""
        self.recent: deque[AudioChunk] = deque(maxlen=RECENT_CHUNKS)
        """The latest cleaned chunks before the gate: an interruption heard from its onset."""
        self.recent_detected: deque[AudioChunk] = deque(maxlen=RECENT_CHUNKS)
        """The detector's output of the same chunks, one for one (with a detector): the
        user's first syllables over her voice, which AEC3 crushes."""

    @property
    def detecting(self) -> bool:
        """A double-talk detector runs alongside the canceller (`EchoFrame.near_db`)."""
        return self._detector is not None

    @property
    def _lag(self) -> int | None:
        """The delay tracker's lag, in samples; None without a tracker or a measure."""
        return None if self._tracker is None else self._tracker.lag

    @property
    def echo_delay_s(self) -> float:
        """How much later than the clocks say her echo reaches the microphone, to its last
        arrival (a reflection included), as the delay tracker measured it (0 where it is
        not measured)."""
        lag = self._lag
        return 0.0 if lag is None else (lag + self._spread) / RATE_HZ

    @property
    def latency_samples(self) -> int:
        """How far the cleaned audio lags the microphone."""
        return self._canceller.latency_samples

    @property
    def echo_heard(self) -> bool:
        """Her voice reaches the microphone: over the last ~10 s of chunks where she played,
        the microphone was mostly above FAR_ACTIVE_DB (a user talking over her for a few
        seconds does not make it so). False with headphones, or a mic out
        of the speaker's reach: then there are no echo remains to silence, and a reference
        the clock places late must not silence the user."""
        levels = self._mic_while_playing
        return len(levels) >= 10 and statistics.median(levels) > FAR_ACTIVE_DB

    @property
    def erle_db(self) -> float | None:
        """Median echo reduction over the last ~2 s of chunks where she was playing, if known."""
        return self._median(self._erle)

    @staticmethod
    def _median(erle: deque[float]) -> float | None:
        return statistics.median(erle) if len(erle) >= 10 else None

    def look_back(self) -> bool:
        """At a hold: fit her echo path on her voice just before (`Hindsight`). True when
        the fit takes her echo out well enough for `hindsight` to hear the user by."""
        lag = self._lag
        fit = self._hindsight.look_back(lag)
        if fit is None:
            why = "no echo delay measured yet" if lag is None else "too little of her echo"
            logger.debug("looked back: no fit of her echo path (%s)", why)
        else:
            logger.debug(
                "looked back: her echo path fitted %.0f dB down, %.0f dB just after",
                fit.erle_db,
                fit.check_db,
            )
        self._held_fit = fit if self._hindsight.usable(fit) else None
        return self._held_fit is not None

    def mark(self, chunks_back: int = 0) -> int | None:
        """Where the microphone stood `chunks_back` chunks before the latest (for
        `unexplained_since_db`); None where it is not followed (no delay tracker)."""
        if self._tracker is None:
            return None
        blocks = list(self._blocks)[len(self._blocks) - chunks_back :] if chunks_back else []
        return self._hindsight.end - sum(size for size, _ in blocks)

    def unexplained_since_db(self, mark: int | None) -> float | None:
        """How loud what the microphone heard since `mark` stays once her voice, fitted
        afresh, is taken out of it (`Hindsight.unexplained_db`, dBFS): faint for her echo
        alone, even after a step of the clocks the running fits missed. None when
        unknown."""
        if mark is None or self._tracker is None:
            return None
        return self._hindsight.unexplained_db(
            self._hindsight.end - mark, self._tracker.max_lag, self._tracker.spread
        )

    def forget_fit(self) -> None:
        """The hold is over: the fit will not follow her echo path for long."""
        self._held_fit = None

    def hindsight(self, chunks: int = 1) -> list[AudioChunk] | None:
        """The latest `chunks` chunks of `recent`, taken again from the microphone less her
        echo through the fit `look_back` made; None without one. Stamped with their
        capture times (no canceller look-ahead)."""
        fit = self._held_fit
        if fit is None:
            return None
        blocks = list(self._blocks)[-chunks:]
        out: list[AudioChunk] = []
        back = sum(size for size, _ in blocks)
        for size, stamp in blocks:
            back -= size
            left = self._hindsight.cancel(fit, size, back)
            if left is None:
                return None
            out.append(AudioChunk(left, RATE_HZ, stamp))
        return out

    async def chunks(self, source: AsyncIterator[AudioChunk]) -> AsyncIterator[AudioChunk]:
        """The cleaned stream of `source`; closes the canceller when it ends."""
        try:
            async for chunk in source:
                cleaned = self.process(chunk)
                if cleaned is not None:
                    yield cleaned
        finally:
            self._canceller.close()
            if self._detector is not None:
                self._detector.close()

    def process(self, chunk: AudioChunk) -> AudioChunk | None:
        """Cancel one chunk; None while less than a canceller frame is buffered."""
        # The reference is placed on the microphone's clock. Both streams count samples
        # on the sound server's clock, which can run a little off the monotonic one (the
        # lab's: 0.18 ms a second). Placed by monotonic time, each restarted sentence
        # landed a little later against the microphone, and its clock's steps (every
        # 6 ms of drift) moved her echo at once under every linear filter.
        for block in self._tap.drain():
            self._timeline.add(block, self._mic_clock.offset_s)
        samples = np.asarray(chunk.samples, dtype=np.int16).reshape(-1)
        stamp = chunk.timestamp_s
        if stamp:  # capture stamps jitter by milliseconds; the sample count does not
            moved_s = self._mic_clock.moved_s
            stamp = self._mic_clock.stamp(self._mic_count, stamp)
            self._timeline.shift(self._mic_clock.moved_s - moved_s)
        self._mic_count += samples.size
        if not self._pending.size:
            self._pending_s = stamp
        self._pending = np.concatenate([self._pending, samples])
        n = self._canceller.frame_samples
        whole = self._pending.size // n * n
        if not whole:
            return None
        mic, self._pending = self._pending[:whole], self._pending[whole:]
        start_s = self._pending_s
        self._pending_s = start_s + whole / RATE_HZ if start_s else 0.0
        self.captured_until_s = self._pending_s
        if not start_s:  # no capture time: the echo cannot be aligned; leave the audio alone
            self.last = None
            return AudioChunk(mic, RATE_HZ, 0.0)
        first = self._timeline.index(start_s - self._lead_s)
        reference, late = self._timeline.read(first, whole)
        given = self._canceller_reference(first, reference)
        out = np.empty(whole, dtype=np.int16)
        for i in range(0, whole, n):
            out[i : i + n] = self._canceller.process(mic[i : i + n], given[i : i + n])
        self.frames += whole // n
        self.late_samples += late
        fitted = self._follow(mic, reference)
        aligned = self._detector_reference(mic, reference, first)
        near_db = self._detect(mic, aligned, start_s)
        spectral_db = self._spectral(mic, aligned)
        # The reference as it reaches the microphone: her echo `late` samples behind it.
        at = first - self._echo_late()
        recent, _ = self._timeline.read(
            at - self._tail - LEAK_WINDOW, self._tail + LEAK_WINDOW + whole
        )
        self._cleaned = np.concatenate([self._cleaned, out])[-LEAK_WINDOW:]
        lag = self._canceller.latency_samples
        leak = leak_correlation(self._cleaned, recent[: len(recent) - max(0, whole - lag)])
        near_leak = leak_correlation(self._detected, recent) if self._detector is not None else 0.0
        fit_leak = leak_correlation(self._fitted, recent) if fitted is not None else 0.0
        frame = EchoFrame(
            level_db(mic),
            level_db(out),
            loudest_db(recent[LEAK_WINDOW:]),
            start_s,
            late,
            loudest_db(recent[-(self._window + self._spread + whole) :]),
            leak,
            near_db,
            near_leak,
            fit_db=None if fitted is None else level_db(fitted),
            fit_leak=fit_leak,
            fit_reduction_db=self._fit_reduction,
            spectral_db=spectral_db,
        )
        if frame.far_db > FAR_ACTIVE_DB:
            # She plays: how much of what reaches the mic is left. A mic that stays quiet
            # while she plays (headphones, a far-away speaker) hears no echo to leave;
            # but only once she has played longer than her echo may take to come back.
            self._played += whole
            quiet = frame.mic_db <= FAR_ACTIVE_DB
            if not quiet or self._played > self._reach:
                self._erle.append(NO_ECHO_DB if quiet else frame.mic_db - frame.out_db)
                if near_db is not None:
                    self._near_erle.append(NO_ECHO_DB if quiet else frame.mic_db - near_db)
            self._mic_while_playing.append(frame.mic_db)
        self._mic_levels.append(frame.mic_db)
        if near_db is not None:
            current = self._tracker is None or self._tracker.current
            frame = replace(
                frame,
                near_erle_db=self._median(self._near_erle) if current else None,
                recent_mic_db=max(self._mic_levels),
            )
        self.last = frame
        # The output lags the input by the backend's look-ahead: stamp what it really holds.
        cleaned = AudioChunk(out, RATE_HZ, start_s - self._canceller.latency_samples / RATE_HZ)
        self.recent.append(cleaned)
        self._blocks.append((whole, start_s))
        if self._gate is not None and self.echo_heard and frame.explained(self._gate):
            return AudioChunk(np.zeros_like(out), cleaned.sample_rate_hz, cleaned.timestamp_s)
        return cleaned

    def _follow(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray | None:
        """Keep the block for `Hindsight`; what the latest good fit of her echo path
        leaves of it (refitted every `REFIT_SAMPLES` while she plays), if there is one.

        These fits have no drift terms: extrapolated past what they were checked on,
        drift terms fitted to noise went wrong on a sentence's start and held her for her
        own echo. A static filter's error grows as her delay drifts, so each fit is made
        on her voice up to `REFIT_GAP` ago and followed only until the next. A fit is
        dropped when the tracker's lag moves (the clocks stepped: the fit no longer lines
        up), or `FIT_AGE_SAMPLES` after its stretch with none newer. Its output is read
        only while it proves itself: over the last `FIT_PROVEN_CHUNKS` chunks of her
        voice before this one, it took out `FIT_PROVEN_DB` of her echo (median). On the
        lab, a fit made just before a step of the clocks went on leaving her echo 6-10 dB
        down, and held her for it 23 times in a bench run without this. Chunks where it
        leaves what `EchoFrame` would read as the user (see `FIT_MARGIN_DB`) are not
        counted: the user's voice is no fault of the fit."""
        tracker = self._tracker
        if tracker is None:
            return None
        self._hindsight.add(mic, reference)
        if self._refit is None:
            return None
        fit = self._running_fit
        if fit is not None and (
            tracker.lag is None or fit.first_lag != self._hindsight.first_lag(tracker.lag)
        ):
            fit = None
        playing = level_db(reference) >= FAR_ACTIVE_DB
        if playing:
            self._since_refit += len(mic)
        if self._since_refit >= self._refit:
            self._since_refit = 0
            newer = self._hindsight.look_back(
                tracker.lag, drift=False, gap=REFIT_GAP, span=REFIT_SPAN
            )
            if self._hindsight.usable(newer):
                fit = newer
        if fit is not None and self._hindsight.end - fit.origin > FIT_AGE_SAMPLES:
            fit = None
        self._running_fit = fit
        if fit is None:
            self._fitted = np.zeros(0, dtype=np.int16)
            self._fit_record.clear()
            return None
        left = self._hindsight.cancel(fit, len(mic))
        if left is None:
            return None
        self._fitted = np.concatenate([self._fitted, left])[-LEAK_WINDOW:]
        record = self._fit_record
        proven = len(record) == record.maxlen and statistics.median(record) >= FIT_PROVEN_DB
        self._fit_reduction = statistics.median(record) if proven else 0.0
        heard, kept = level_db(mic), level_db(left)
        # Sound the fit leaves where it has been taking out more is the user, not a fault
        # of the fit: it must not unprove the fit at the user's first syllables.
        user = proven and kept - heard > fit_user_ratio_db(self._fit_reduction)
        if playing and heard > FAR_ACTIVE_DB and not user:
            record.append(heard - kept)
        return left if proven else None

    def _spectral(self, mic: np.ndarray, aligned: np.ndarray) -> float | None:
        """What `mic` holds beyond her echo's spectrum (`EchoFrame.spectral_db`), read on
        the reference moved to arrive with her echo; None until her delay is measured."""
        spectrum = self._spectrum
        if spectrum is None:
            return None
        excess = spectrum.add(mic, aligned)
        return None if self._lag is None else excess

    def _detector_reference(self, mic: np.ndarray, reference: np.ndarray, first: int) -> np.ndarray:
        """The reference for the detector: `reference` moved to arrive with her echo."""
        tracker = self._tracker
        if tracker is None or self._detector is None:
            return reference
        tracker.add(mic, reference)
        return self._moved(first, reference, self._echo_late())

    def _canceller_reference(self, first: int, reference: np.ndarray) -> np.ndarray:
        """The reference for the canceller: as the clocks place it while her echo comes
        within the canceller's reach of it, else moved later, to arrive a quarter of that
        reach ahead of her echo (a slow Bluetooth speaker, a buffer the clocks do not
        know of: of a recording's echo 600 ms late, AEC3 took out 2.6 dB on the reference
        as placed, 62 dB on the moved one; bench/echo_reach.py). The move follows the
        tracker's lag only when the lag leaves that reach again, so the steps of the
        clocks (5-15 ms) never jolt the canceller."""
        lag = self._lag
        reach = self._canceller.reach_samples
        if lag is not None and not 0 <= lag - self._canceller_shift <= reach:
            self._canceller_shift = max(0, lag - reach // 4)
            logger.debug(
                "her echo comes %.0f ms after the reference: the canceller's is read %.0f ms later",
                lag * 1000 / RATE_HZ,
                self._canceller_shift * 1000 / RATE_HZ,
            )
        return self._moved(first, reference, self._canceller_shift)

    def _moved(self, first: int, reference: np.ndarray, later: int) -> np.ndarray:
        """`reference` (read from timeline index `first`) read `later` samples later."""
        if not later:
            return reference
        moved, _ = self._timeline.read(first - later, len(reference))
        return moved

    @property
    def _spread(self) -> int:
        """Samples from her echo's first arrival to a later one the tracker measured."""
        return 0 if self._tracker is None else self._tracker.spread

    def _echo_late(self) -> int:
        """Samples by which her echo, as the tracker measured it, comes after the reference
        the clocks align (less `ALIGN_SLACK`); 0 where it is not measured."""
        lag = self._lag
        return 0 if lag is None else max(0, lag - ALIGN_SLACK)

    def _detect(self, mic: np.ndarray, reference: np.ndarray, start_s: float) -> float | None:
        """The level of what the detector's filter leaves of this block (its whole frames)."""
        detector = self._detector
        if detector is None:
            return None
        stamp = start_s - self._detect_mic.size / RATE_HZ  # no look-ahead: the input's time
        self._detect_mic = np.concatenate([self._detect_mic, mic])
        self._detect_ref = np.concatenate([self._detect_ref, reference])
        n = detector.frame_samples
        whole = self._detect_mic.size // n * n
        if whole:
            left = np.concatenate(
                [
                    detector.process(self._detect_mic[i : i + n], self._detect_ref[i : i + n])
                    for i in range(0, whole, n)
                ]
            )
            self._detect_mic = self._detect_mic[whole:]
            self._detect_ref = self._detect_ref[whole:]
            self._near_db = level_db(left)
            self._detected = np.concatenate([self._detected, left])[-LEAK_WINDOW:]
            self.recent_detected.append(AudioChunk(left, RATE_HZ, stamp))
        else:
            self.recent_detected.append(AudioChunk(np.zeros(0, np.int16), RATE_HZ, stamp))
        return self._near_db
