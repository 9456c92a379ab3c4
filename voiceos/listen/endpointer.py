"""End-of-turn detection: audio chunks in, speech events out.

Pure and deterministic: time is counted in 32 ms windows of the stream, never read from a
clock, so the same audio always gives the same events. The VAD backend only reports a
probability per window; the state machine here decides:

    QUIET --speech--> STARTING --min_speech--> SPEAKING --silence--> STOPPING --end--> QUIET
                          \\--silence: SpeechDiscarded--> QUIET        \\--speech--> SPEAKING

A window starts speech when its probability reaches `threshold`; once started, speech goes
on while it stays above `threshold - HYSTERESIS`. The end-of-speech silence
counts every window since the last speech window, so a probability that hovers just under
the threshold cannot hold a turn open.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from voiceos.listen.vad import WINDOW_SAMPLES, SpeechProbability
from voiceos.types import PCM16, AudioChunk

logger = logging.getLogger(__name__)

TAIL_MS = 160
"""Audio kept after the last speech window, for fading consonants."""
HYSTERESIS = 0.15
"""Once speech has begun, windows down to `threshold - HYSTERESIS` still count as speech
(Silero's own advice). A soft one-syllable "yes" hovers around 0.3-0.6 and was dropped as
a click without it."""


class State(enum.Enum):
    QUIET = "quiet"
    STARTING = "starting"
    SPEAKING = "speaking"
    STOPPING = "stopping"


class EndReason(enum.Enum):
    SILENCE = "silence"
    MAX_LENGTH = "max_length"
    EARLY = "early"
    """Ended by `finish()` before the full silence (the turn-taking policy decided)."""


@dataclass(frozen=True)
class SpeechStarted:
    """Speech was confirmed (after `min_speech_ms` of it)."""

    t_s: float
    """Stream position of the first speech window, in seconds from the first sample fed."""
    captured_s: float = 0.0
    """time.monotonic capture time of that window, 0 when the chunks carried none."""


@dataclass(frozen=True)
class SpeechEnded:
    """An utterance ended; `audio` runs from the pre-roll to just after the last speech."""

    audio: PCM16
    t_s: float
    """Stream position where speech stopped (before the end-of-speech silence)."""
    captured_s: float = 0.0
    """time.monotonic capture time of the end of speech, 0 when unknown."""
    reason: EndReason = EndReason.SILENCE
    silence_s: float = 0.0
    """Silence counted after the last speech when the utterance was ended."""


@dataclass(frozen=True)
class SpeechPaused:
    """Silence has run for part of `end_silence_ms`: the utterance has probably ended.

    `audio` is what SpeechEnded will carry if speech does not resume, so a transcript of
    it can be started now and used as is. SpeechResumed withdraws it.
    """

    audio: PCM16
    t_s: float
    captured_s: float = 0.0


@dataclass(frozen=True)
class SpeechResumed:
    """Speech came back after a SpeechPaused: discard any work started on it."""

    t_s: float


@dataclass(frozen=True)
class SpeechDiscarded:
    """A burst shorter than `min_speech_ms` (a click, a cough) was ignored."""

    t_s: float
    duration_s: float


Event = SpeechStarted | SpeechPaused | SpeechResumed | SpeechEnded | SpeechDiscarded


class Endpointer:
    """Segments a 16 kHz mono stream into utterances with a speech-probability source.

    Args:
        vad: scores 512-sample windows (e.g. SileroVad, started).
        threshold: probability from which a window is speech.
        end_silence_ms: silence that ends an utterance.
        min_speech_ms: speech needed before an utterance counts; shorter bursts are dropped.
        max_utterance_s: an utterance is cut at this length.
        pre_roll_ms: audio kept from before the first speech window.
        pause_fraction: share of `end_silence_ms` after which SpeechPaused is sent;
            0 turns it off.
        hysteresis: how far below `threshold` speech, once started, may dip and go on.
    """

    def __init__(
        self,
        vad: SpeechProbability,
        sample_rate_hz: int = 16000,
        threshold: float = 0.5,
        end_silence_ms: int = 500,
        min_speech_ms: int = 200,
        max_utterance_s: float = 20.0,
        pre_roll_ms: int = 300,
        pause_fraction: float = 0.6,
        hysteresis: float = HYSTERESIS,
    ) -> None:
        if sample_rate_hz != 16000:
            raise ValueError("the Endpointer works on 16 kHz audio; resample first")
        self.vad = vad
        self.sample_rate_hz = sample_rate_hz
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.window_s = WINDOW_SAMPLES / sample_rate_hz
        self.end_windows = max(1, math.ceil(end_silence_ms / 1000 / self.window_s))
        self.min_windows = max(1, math.ceil(min_speech_ms / 1000 / self.window_s))
        self.max_windows = max(1, math.floor(max_utterance_s / self.window_s))
        self.pause_windows = (
            max(1, math.ceil(self.end_windows * pause_fraction)) if pause_fraction > 0 else 0
        )
        self.tail_windows = min(math.ceil(TAIL_MS / 1000 / self.window_s), self.end_windows)
        if self.pause_windows:
            self.tail_windows = min(self.tail_windows, self.pause_windows)
        self._pre_roll: deque[np.ndarray] = deque(
            maxlen=math.ceil(max(0, pre_roll_ms) / 1000 / self.window_s)
        )
        self.reset_state()

    @property
    def state(self) -> State:
        return self._state

    def reset_state(self) -> None:
        """Forget any utterance in progress and the stream position's buffers."""
        self._state = State.QUIET
        self._pending = np.zeros(0, dtype=np.int16)
        self._window = 0  # index of the next window
        self._clock: tuple[int, float] = (0, 0.0)  # (sample index, capture time) anchor
        self._pre_roll.clear()
        self._utterance: list[np.ndarray] = []
        self._first_speech = 0  # window index of the utterance's first speech window
        self._last_speech = 0  # window index of its latest speech window
        self._speech_windows = 0
        self._paused = False

    def reset(self) -> None:
        """Start afresh, e.g. after the microphone was paused: state and VAD memory."""
        self.reset_state()
        self.vad.reset()

    def feed(self, chunk: AudioChunk) -> list[Event]:
        """Add a chunk of any length; returns the events it completed, in order."""
        if chunk.sample_rate_hz != self.sample_rate_hz:
            raise ValueError(
                f"chunk at {chunk.sample_rate_hz} Hz; the Endpointer needs {self.sample_rate_hz}"
            )
        samples = np.asarray(chunk.samples, dtype=np.int16).reshape(-1)
        if chunk.timestamp_s:
            self._clock = (self._window * WINDOW_SAMPLES + self._pending.size, chunk.timestamp_s)
        buffer = np.concatenate([self._pending, samples]) if self._pending.size else samples
        events: list[Event] = []
        whole = buffer.size // WINDOW_SAMPLES * WINDOW_SAMPLES
        for start in range(0, whole, WINDOW_SAMPLES):
            events.extend(self._step(buffer[start : start + WINDOW_SAMPLES]))
        self._pending = buffer[whole:].copy()
        return events

    def _t(self, window: int) -> float:
        return window * self.window_s

    def _captured(self, window: int) -> float:
        index, stamp = self._clock
        if not stamp:
            return 0.0
        return stamp + (window * WINDOW_SAMPLES - index) / self.sample_rate_hz

    def _audio(self) -> PCM16:
        # Pre-roll plus everything up to a short tail after the last speech window.
        kept = len(self._utterance) - (self._window - 1 - self._last_speech) + self.tail_windows
        return np.concatenate(self._utterance[: max(1, kept)]).astype(np.int16)

    def _step(self, window_pcm: np.ndarray) -> list[Event]:
        index = self._window
        self._window += 1
        p = self.vad.probability(window_pcm.astype(np.float32) / np.float32(32768.0))
        floor = self.threshold if self._state is State.QUIET else self.threshold - self.hysteresis
        speech = p >= floor
        if self._state is State.QUIET:
            if not speech:
                self._pre_roll.append(window_pcm)
                return []
            self._utterance = [*self._pre_roll, window_pcm]
            self._pre_roll.clear()
            self._first_speech = self._last_speech = index
            self._speech_windows = 1
            self._state = State.STARTING
            return self._confirm_start()
        self._utterance.append(window_pcm)
        if speech:
            self._last_speech = index
            self._speech_windows += 1
        if self._state is State.STARTING:
            if speech:
                return self._confirm_start()
            if index - self._last_speech >= self.end_windows:
                return [self._discard()]
            return []
        return self._while_speaking(index, speech)

    def _confirm_start(self) -> list[Event]:
        if self._speech_windows < self.min_windows:
            return []
        self._state = State.SPEAKING
        first = self._first_speech
        return [SpeechStarted(self._t(first), self._captured(first))]

    def _discard(self) -> SpeechDiscarded:
        duration = (self._last_speech - self._first_speech + 1) * self.window_s
        event = SpeechDiscarded(self._t(self._first_speech), duration)
        self._pre_roll.extend(self._utterance)  # the deque keeps only the newest
        self._utterance = []
        self._state = State.QUIET
        return event

    def _while_speaking(self, index: int, speech: bool) -> list[Event]:
        events: list[Event] = []
        if speech and self._state is State.STOPPING:
            self._state = State.SPEAKING
            if self._paused:
                self._paused = False
                events.append(SpeechResumed(self._t(index)))
        elif not speech:
            self._state = State.STOPPING
        end = self._last_speech + 1
        if index - self._first_speech + 1 >= self.max_windows:
            return [*events, self._finish(EndReason.MAX_LENGTH, index + 1)]
        if self._state is State.STOPPING:
            quiet = index - self._last_speech
            if quiet >= self.end_windows:
                events.append(self._finish(EndReason.SILENCE, end))
            elif self.pause_windows and quiet >= self.pause_windows and not self._paused:
                self._paused = True
                events.append(SpeechPaused(self._audio(), self._t(end), self._captured(end)))
        return events

    @property
    def pause_t_s(self) -> float:
        """Stream position where the current pause's silence began."""
        return self._t(self._last_speech + 1)

    def finish(self) -> SpeechEnded | None:
        """End the utterance now, during its end-of-speech silence; None if not in one.

        The audio is the same as the SpeechPaused just sent carried, so a transcript
        started on that can be used as is.
        """
        if self._state is not State.STOPPING:
            return None
        return self._finish(EndReason.EARLY, self._last_speech + 1)

    def _finish(self, reason: EndReason, end: int) -> SpeechEnded:
        audio = (
            np.concatenate(self._utterance).astype(np.int16)
            if reason is EndReason.MAX_LENGTH
            else self._audio()
        )
        silence_s = (self._window - 1 - self._last_speech) * self.window_s
        event = SpeechEnded(audio, self._t(end), self._captured(end), reason, silence_s)
        logger.debug("utterance %.2f-%.2f s (%s)", self._t(self._first_speech), event.t_s, reason)
        self._utterance = []
        self._paused = False
        self._state = State.QUIET
        return event
