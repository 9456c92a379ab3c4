"""What every speech-to-text engine shares: its error and the clean-up of its text."""

from __future__ import annotations

import logging
import re

from voiceos.types import Transcriber, Transcript

logger = logging.getLogger(__name__)

__all__ = ["Transcriber", "TranscriberError", "Transcript", "clean_transcript", "is_filler"]


class TranscriberError(Exception):
    """A speech-to-text engine that cannot load or answer. The message says what to do."""


_TAG = re.compile(r"[\[(<*♪♫][^\])>*♪♫]*[\])>*♪♫]")
"""Sound tags Whisper writes for non-speech: [BLANK_AUDIO], (music), *sighs*, ♪ ... ♪."""
_WORDS = re.compile(r"[a-z0-9']+")

_JUNK = {
    "you",
    "thanks for watching",
    "thank you for watching",
    "thanks for listening",
    "thank you for listening",
    "thank you so much for watching",
    "please subscribe",
    "subscribe",
    "like and subscribe",
    "please like and subscribe",
    "so",
    "uh",
    "um",
    "hmm",
    "mm",
    "ah",
    "oh",
}
"""Whole transcripts that are Whisper's sounds for silence, noise or breath (lower-case)."""

_POLITE = {"thank you", "thank you very much", "thanks", "bye", "bye bye"}
"""Also hallucinated on silence, but people say them too: kept only when the engine is sure."""

_FILLER_PREFIXES = ("subtitles by", "captions by", "transcribed by", "translated by")


def is_filler(text: str, confident: bool = False) -> bool:
    """True when `text` carries no words a person would want answered.

    Args:
        text: an engine's transcript.
        confident: the engine is sure there was speech (e.g. Whisper's no-speech
            probability was low), so polite phrases such as "Thank you." are real.
    """
    stripped = _TAG.sub(" ", text)
    words = _WORDS.findall(stripped.lower().replace("-", " "))
    if not words:
        return True
    phrase = " ".join(words)
    if phrase in _POLITE:
        return not confident
    return phrase in _JUNK or phrase.startswith(_FILLER_PREFIXES)


def clean_transcript(text: str, confident: bool = False) -> str:
    """Tidy an engine's text; "" when it is only filler, sound tags or punctuation.

    Examples: " Hello there." -> "Hello there."; "Thank you." -> "" unless `confident`;
    "[BLANK_AUDIO]" -> "".
    """
    if is_filler(text, confident):
        if text.strip():
            logger.debug("dropped filler transcript %r", text)
        return ""
    without_tags = _TAG.sub(" ", text)
    return " ".join(without_tags.split())
