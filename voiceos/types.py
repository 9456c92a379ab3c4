"""Data carried between the parts of voiceos, and the small protocols that join them.

Every part depends on this module and on nothing heavier, so the core stays testable
with WAV files and text.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

PCM16 = npt.NDArray[np.int16]
"""Mono signed 16-bit samples."""


@dataclass(frozen=True)
class AudioChunk:
    """A block of mono audio from a source."""

    samples: PCM16
    """Mono int16 samples."""
    sample_rate_hz: int
    """Sample rate of `samples`."""
    timestamp_s: float = 0.0
    """Capture time of the first sample (time.monotonic clock), 0 when unknown."""


@dataclass(frozen=True)
class Transcript:
    """What a Transcriber heard."""

    text: str
    audio_s: float = 0.0
    """Duration of the transcribed audio."""
    elapsed_s: float = 0.0
    """Time the engine took."""
    sure: bool = True
    """The engine was confident of the words (Whisper: the decode they came from averaged
    a log-probability of at least -1 per token). Engines that say nothing are trusted."""
    readings: tuple[str, ...] = ()
    """What each decode heard, raw and in order, when the engine took more than one
    opinion (empty otherwise): barge-in reads a hum that the chosen words missed."""


@dataclass(frozen=True)
class UserTurn:
    """One thing the user said or typed."""

    text: str
    spoken: bool = False
    """True when it came through the microphone (or a WAV), False when typed."""
    end_of_speech_s: float = 0.0
    """When the user stopped speaking or pressed Enter (time.monotonic clock)."""


@dataclass(frozen=True)
class Spoken:
    """The result of speaking one sentence."""

    text: str
    """What was actually heard: the whole sentence, or the part before an interruption."""
    interrupted: bool = False
    first_audio_s: float = 0.0
    """When the first sample reached the device (time.monotonic), 0 when nothing played."""


@dataclass(frozen=True)
class VoiceSettings:
    """How replies sound. Kept in voiceos's own state, never read back from pyttsx3."""

    voice: str = "en-us"
    """espeak-ng voice id, e.g. "en-us", "en-gb-x-rp", "en-us+f3"."""
    rate_wpm: int = 175
    """Speaking rate in words per minute."""
    volume: float = 0.9
    """Loudness from 0.0 to 1.0."""
    engine: str = "pyttsx3"
    """The speech engine: "pyttsx3" (espeak-ng) or "piper" (a neural voice)."""


class TurnState(enum.Enum):
    """What the conversation is doing, for the display."""

    LISTENING = "listening"
    HEARING = "hearing speech"
    MID_THOUGHT = "waiting: you seem mid-thought"
    TRANSCRIBING = "transcribing"
    THINKING = "thinking"
    SPEAKING = "speaking"
    TYPING = "waiting for text"


class Action(enum.Enum):
    """What a reply asks the conversation to do besides speaking."""

    NONE = "none"
    STOP = "stop"
    """"Be quiet": stop speaking now, keep the conversation going."""
    END = "end"
    """"Goodbye": speak the reply, then end the session."""


class Source(enum.Enum):
    """Which part of the dialogue produced a reply."""

    SKILL = "skill"
    LLM = "llm"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Reply:
    """A reply under way: text deltas that stream in, plus what to do afterwards."""

    deltas: AsyncIterator[str]
    source: Source
    action: Action = Action.NONE


class Brain(Protocol):
    """Turns a user turn into a stream of reply text deltas."""

    def reply(self, turn: UserTurn) -> AsyncIterator[str]: ...


class Transcriber(Protocol):
    """Speech to text on 16 kHz mono int16 audio. Blocking; run it in an executor."""

    def transcribe(
        self, pcm16: PCM16, sample_rate_hz: int, expect: Mapping[str, float] | None = None
    ) -> Transcript:
        """`expect`: phrases the listener is waiting for ("Stop."), each with the least
        score (mean log-probability per token) at which it may be taken; an engine that
        can score them may take one as the words where it finds it about as likely."""
        ...


class Speaker(Protocol):
    """Speaks sentences and can be silenced at once."""

    async def say(self, sentence: str) -> Spoken: ...

    def stop(self) -> None: ...


class VoiceControl(Protocol):
    """Read and change the voice settings; changes are validated and persisted."""

    def current(self) -> VoiceSettings: ...

    def update(
        self,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        volume: float | None = None,
        engine: str | None = None,
    ) -> VoiceSettings: ...

    def voice_ids(self) -> list[str]: ...


@dataclass
class Timings:
    """Per-turn stage times in seconds on the time.monotonic clock (0 when not reached)."""

    end_of_speech_s: float = 0.0
    transcript_s: float = 0.0
    first_text_s: float = 0.0
    first_sentence_s: float = 0.0
    first_audio_s: float = 0.0
    extras: dict[str, float] = field(default_factory=dict)

    def since_end(self, t: float) -> float | None:
        """Milliseconds from the end of the user's turn to `t`, or None if not reached."""
        if not t or not self.end_of_speech_s:
            return None
        return (t - self.end_of_speech_s) * 1000.0
