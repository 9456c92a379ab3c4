"""Turn taking: when the user's turn ends, and what speech heard after it means.

Pure, like the Endpointer beside it: endpointer events and end-of-turn model scores go in,
decisions come out. Time is the stream's own (32 ms windows) or handed in; nothing here
reads a clock or touches a device, so the same audio and scores always decide the same.

Two ways to end a turn (`[listen] end_of_turn`):

- "silence": the endpointer's fixed `end_silence_ms` ends it.
- "smart": at a short pause the utterance is scored for how finished it sounds. A finished
  one ends there; an unfinished one waits for more, up to `max_silence_ms`, which always
  ends the turn.

Speech that starts after a turn ended but before its reply could be seen or heard is the
user going on: `classify_onset` says so, and the detector then carries the first part in
front of the continuation, so both are answered as one turn.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voiceos.listen.endpointer import (
    Endpointer,
    EndReason,
    Event,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    State,
)
from voiceos.types import PCM16, AudioChunk

logger = logging.getLogger(__name__)


class EndMode(enum.Enum):
    SMART = "smart"
    SILENCE = "silence"


class Completion(Protocol):
    """Scores how finished an utterance sounds, from 0 (mid-thought) to 1 (finished)."""

    def probability(self, audio: PCM16) -> float: ...


@dataclass(frozen=True)
class MidThought:
    """The user paused but sounds unfinished: the turn is held open for more."""

    probability: float
    """The model's P(finished); NaN when the words alone held the turn."""
    t_s: float
    """Stream position where speech stopped."""
    words: bool = False
    """True when the words (a transcript ending on "the", "and", ...) held it, not the sound."""


@dataclass(frozen=True)
class Finishing:
    """A pause: the turn may end here, decided when its transcript is ready.

    The reply needs that transcript anyway, so deciding then costs no time. Answer with
    `TurnDetector.transcribed(text, pause)`: words that trail off hold the turn, a question
    ends it, and anything else is settled by the end-of-turn model on the audio.
    """

    pause: int
    """Which pause this is about, for `transcribed`."""


DANGLING = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "its",
        "and",
        "or",
        "but",
        "because",
        "than",
        "of",
        "to",
        "for",
        "with",
        "from",
        "into",
        "about",
        "if",
        "um",
        "uh",
        "er",
    ]
)
"""Words an utterance does not end on: articles, possessives, conjunctions, fillers...

Only words that almost never end a sentence: "is", "that" or "on" often do ("turn it on").
"""


def sounds_unfinished(text: str) -> bool:
    """True when a transcript trails off: on a DANGLING word, a comma or an ellipsis.

    A question mark means a finished question, whatever its last word.
    """
    stripped = text.strip()
    if not stripped or stripped.endswith("?"):
        return False
    if stripped.endswith((",", "...", "…", "-", "—")):
        return True
    last = stripped.split()[-1].strip(".,!?;:\"'").lower()
    return last in DANGLING


@dataclass(frozen=True)
class TurnEnded:
    """The user's turn is over; answer `audio` (which includes any carried first part)."""

    audio: PCM16
    t_s: float
    """Stream position where speech stopped (before the silence waited)."""
    captured_s: float
    """time.monotonic capture time of the end of speech, 0 when unknown."""
    reason: str
    """"finished" (the model), "question" (the words), "silence", "max_silence" (smart
    mode's cap) or "max_length"."""
    silence_ms: float
    """Silence waited after speech before deciding."""
    probability: float | None = None
    """The end-of-turn model's P(finished), None in silence mode."""
    continued: bool = False
    """True when a carried first part was joined in front of this speech."""

    def timing(self) -> dict[str, float]:
        """The decision for the timing line: reason code, silence waited, P(finished)."""
        out = {f"turn ended ({self.reason}) after silence ms": self.silence_ms}
        if self.probability is not None:
            out["P(finished)"] = self.probability
        return out


TurnEvent = Event | MidThought | Finishing | TurnEnded


class TurnDetector:
    """Wraps an Endpointer: its SpeechEnded becomes TurnEnded, smart mode ends turns early.

    In smart mode the endpointer must be built with `end_silence_ms = max_silence_ms` and
    a pause at `complete_silence_ms` (see `endpointer_timing`): every SpeechPaused is
    scored, and a score at or above `threshold` ends the turn right there.

    Args:
        endpointer: segments the audio.
        completion: the end-of-turn model; None means silence mode.
        threshold: P(finished) from which a pause ends the turn.
    """

    def __init__(
        self,
        endpointer: Endpointer,
        completion: Completion | None = None,
        threshold: float = 0.5,
        check_words: bool = True,
    ) -> None:
        self.endpointer = endpointer
        self.completion = completion
        self.threshold = threshold
        self.check_words = check_words
        self._carry: PCM16 | None = None
        self._score: float | None = None
        self._pauses = 0
        self._awaiting: int | None = None
        self._paused_audio: PCM16 | None = None
        self._reason = "finished"

    @property
    def idle(self) -> bool:
        """No utterance has been confirmed (speech may be starting)."""
        return self.endpointer.state in (State.QUIET, State.STARTING) and self._carry is None

    @property
    def mode(self) -> EndMode:
        return EndMode.SILENCE if self.completion is None else EndMode.SMART

    def carry(self, audio: PCM16) -> None:
        """Put `audio` (a turn that was cancelled for its continuation) before the next one."""
        self._carry = audio if self._carry is None else np.concatenate([self._carry, audio])

    def reset(self) -> None:
        self._carry = None
        self._score = None
        self._awaiting = None
        self.endpointer.reset()

    def flush(self) -> list[TurnEvent]:
        """The audio ended: end a turn still held open (a recording that stops mid-wait)."""
        self._awaiting = None
        ended = self.endpointer.finish()
        return self._ended(ended) if ended is not None else []

    def transcribed(self, text: str, pause: int) -> list[TurnEvent]:
        """The transcript of pause `pause` (see Finishing): end the turn, or keep waiting."""
        if self._awaiting != pause:
            return []  # speech resumed, or the turn already ended
        self._awaiting = None
        t_s = self.endpointer.pause_t_s
        if not text.strip() or sounds_unfinished(text):
            # Nothing intelligible yet is no reason to answer: wait for more, up to the cap.
            return [MidThought(math.nan, t_s, words=True)]
        if text.strip().endswith("?"):
            self._reason = "question"  # the words alone settle it; the model is not asked
        else:
            assert self.completion is not None and self._paused_audio is not None
            self._score = p = float(self.completion.probability(self._paused_audio))
            if p < self.threshold:
                return [MidThought(p, t_s)]
        ended = self.endpointer.finish()
        return self._ended(ended) if ended is not None else []

    def feed(self, chunk: AudioChunk) -> list[TurnEvent]:
        out: list[TurnEvent] = []
        for event in self.endpointer.feed(chunk):
            out.extend(self._on(event))
        return out

    def _with_carry(self, audio: PCM16) -> PCM16:
        if self._carry is None:
            return audio
        return np.concatenate([self._carry, audio]).astype(np.int16)

    def _on(self, event: Event) -> list[TurnEvent]:
        if isinstance(event, SpeechPaused):
            paused = dataclasses.replace(event, audio=self._with_carry(event.audio))
            if self.completion is None:
                return [paused]
            if self.check_words:
                # Decide when the transcript is ready: the reply cannot start sooner anyway.
                self._pauses += 1
                self._awaiting = self._pauses
                self._paused_audio = paused.audio
                return [paused, Finishing(self._pauses)]
            self._score = p = float(self.completion.probability(paused.audio))
            if p < self.threshold:
                return [paused, MidThought(p, event.t_s)]
            ended = self.endpointer.finish()
            return [paused, *self._ended(ended)] if ended is not None else [paused]
        if isinstance(event, SpeechResumed):
            self._score = None
            self._awaiting = None
            return [event]
        if isinstance(event, SpeechEnded):
            return self._ended(event)
        return [event]

    def _ended(self, event: SpeechEnded) -> list[TurnEvent]:
        silence_ms = event.silence_s * 1000
        if event.reason is EndReason.MAX_LENGTH:
            reason = "max_length"
        elif event.reason is EndReason.EARLY:
            reason = self._reason
        else:
            reason = "silence" if self.completion is None else "max_silence"
        ended = TurnEnded(
            self._with_carry(event.audio),
            event.t_s,
            event.captured_s,
            reason,
            silence_ms,
            self._score if self.completion is not None else None,
            continued=self._carry is not None,
        )
        self._carry = None
        self._score = None
        self._awaiting = None
        self._paused_audio = None
        self._reason = "finished"
        return [ended]


def endpointer_timing(
    mode: EndMode,
    end_silence_ms: int,
    pause_fraction: float,
    complete_silence_ms: int,
    max_silence_ms: int,
) -> tuple[int, float]:
    """The endpointer's (end_silence_ms, pause_fraction) for a mode.

    Silence mode keeps the configured values; smart mode ends at the cap and pauses (to
    score and to start transcribing) after `complete_silence_ms`.
    """
    if mode is EndMode.SILENCE:
        return end_silence_ms, pause_fraction
    end = max(max_silence_ms, complete_silence_ms)
    window_ms = 32  # the endpointer counts whole 32 ms windows: pause after exactly
    pause_windows = math.ceil(complete_silence_ms / window_ms)  # ceil(complete) of them
    return end, min(1.0, pause_windows / math.ceil(end / window_ms) - 1e-9)


class Overlap(enum.Enum):
    """What speech that starts now means."""

    NEW_TURN = "new turn"
    CONTINUATION = "continuation"
    """The user went on before the reply could be seen or heard: merge, answer once."""
    BARGE_IN = "barge-in"
    OWN_VOICE = "own voice"
    """Heard while (or just after) voiceos spoke aloud, with barge-in off: its own echo."""


@dataclass(frozen=True)
class ReplyStatus:
    """Where the latest turn's reply stands, for `classify_onset`. Times: time.monotonic."""

    pending: bool = False
    """A turn ended and its reply is not finished (queued, transcribing, thinking, speaking)."""
    shown_s: float = math.inf
    """When the reply first became perceptible: first audio, or first text when printed."""
    audible: bool = True
    """Replies are spoken aloud (False when muted or printed only)."""
    ended_s: float = 0.0
    """When the last reply finished."""


def classify_onset(
    onset_s: float, reply: ReplyStatus, *, barge_in: bool, echo_guard_s: float
) -> Overlap:
    """Decide what speech starting at `onset_s` is, given the reply's state then.

    Only audio that was played can come back as an echo: a muted or printed reply never
    makes the user's speech count as voiceos's own.
    """
    if reply.pending:
        if onset_s < reply.shown_s:
            return Overlap.CONTINUATION
        if barge_in:
            return Overlap.BARGE_IN
        return Overlap.OWN_VOICE if reply.audible else Overlap.NEW_TURN
    recent = reply.audible and reply.ended_s > 0 and onset_s - reply.ended_s < echo_guard_s
    return Overlap.OWN_VOICE if recent else Overlap.NEW_TURN
