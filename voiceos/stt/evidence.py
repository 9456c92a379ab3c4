"""Word or filler? Judging a decode on evidence, not on its text alone.

Whisper writes something for every sound: "Uh." for a clipped "up", "" for a soft "off",
"Thank you." for silence. The text alone cannot tell a real one-word turn from breath or
noise, so each decode carries Whisper's own confidence (no-speech probability and average
log-probability), and a doubtful one is weighed with how much speech the VAD heard and
with a second opinion (a wider beam, the full window). Pure: no model, no I/O.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from voiceos.stt.base import clean_transcript

logger = logging.getLogger(__name__)

SURE_NO_SPEECH_BELOW = 0.5
SURE_LOGPROB_ABOVE = -0.8
"""Measured: real "Thank you." scores no-speech 0.17 and log-prob -0.13; "you" on noise
or a tone scores 0.82-0.96 and below -1.1."""
SKIP_NO_SPEECH_ABOVE = 0.6
SKIP_LOGPROB_BELOW = -1.0
"""faster-whisper's own rule for a window with no speech in it."""
DOUBTFUL_LOGPROB_BELOW = -1.0
"""A decode this unsure is checked again, even when its text looks fine."""
SPEECH_MIN_S = 0.15
"""Less speech than this (by the VAD) is a click or a breath: no second opinion."""
SPEECH_SURE_S = 0.3
"""This much speech by the VAD vouches for a word that Whisper itself doubted."""


class Window(enum.Enum):
    """The encoder window a decode ran on."""

    SHORT = "short"
    """Shortened (15 s): about three times faster on short utterances."""
    FULL = "full"
    """Whisper's own 30 s window (or its segments, for longer audio)."""


@dataclass(frozen=True)
class Decoded:
    """One decode of one utterance, with Whisper's own confidence in it."""

    text: str
    no_speech: float
    """Whisper's probability that the window holds no speech, 0 to 1."""
    logprob: float
    """Average log-probability per token (0 is certain; below -1 is a guess)."""
    window: Window = Window.SHORT
    beam: int = 1
    runaway: bool = False
    """Stuck in a loop or out of token budget: the text is not to be used."""

    @property
    def sure(self) -> bool:
        """Whisper itself is sure there was speech and of what it heard."""
        return self.no_speech < SURE_NO_SPEECH_BELOW and self.logprob > SURE_LOGPROB_ABOVE

    @property
    def hears_nothing(self) -> bool:
        return self.no_speech > SKIP_NO_SPEECH_ABOVE and self.logprob < SKIP_LOGPROB_BELOW

    def words(self, vouched: bool = False) -> str:
        """The text without filler; "" when nothing in it is worth answering.

        Args:
            vouched: the VAD heard enough speech to back a polite "Thank you." up.
        """
        if self.runaway or self.hears_nothing:
            return ""
        return clean_transcript(self.text, confident=self.sure or vouched)


@dataclass(frozen=True)
class Heard:
    """The words kept from the decodes of one utterance, and how far to trust them."""

    words: str
    """"" when only filler, noise or nothing was heard."""
    sure: bool = True
    """Whisper was confident of the words: the decode they came from averaged at least
    `DOUBTFUL_LOGPROB_BELOW` per token."""
    readings: tuple[str, ...] = ()
    """Each decode's raw text, in order, when there was more than one."""


def heard_in(decoded: Decoded) -> Heard:
    """What one decode, the only one made, heard."""
    return Heard(decoded.words(), decoded.logprob >= DOUBTFUL_LOGPROB_BELOW)


def doubtful(decoded: Decoded) -> bool:
    """Worth a second opinion: no words, only filler, or a very unsure decode."""
    return (
        decoded.runaway
        or not decoded.words()
        or decoded.logprob < DOUBTFUL_LOGPROB_BELOW
        or decoded.hears_nothing
    )


def choose(candidates: Sequence[Decoded], speech_s: float) -> Heard:
    """The words to keep from several decodes of one utterance, given the VAD's speech time.

    A decode in which Whisper itself heard no speech never counts (faster-whisper's own
    rule); among the decodes with words, the most confident wins. Enough speech by the
    VAD vouches for a polite "Thank you." that Whisper alone was unsure of. Only filler, noise or
    nothing everywhere gives "".
    """
    vouched = speech_s >= SPEECH_SURE_S
    readings = tuple(c.text.strip() for c in candidates)
    best: tuple[float, str] | None = None
    for decoded in candidates:
        words = decoded.words(vouched)
        if not words:
            continue
        if best is None or decoded.logprob > best[0]:
            best = (decoded.logprob, words)
    if best is None:
        logger.debug("no words in %d decodes (%.2f s of speech)", len(candidates), speech_s)
        return Heard("", readings=readings)
    return Heard(best[1], best[0] >= DOUBTFUL_LOGPROB_BELOW, readings)
