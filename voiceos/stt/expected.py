"""Expected phrases: words the listener is waiting for, taken when Whisper finds them likely.

Over her voice, the user's "no" reaches Whisper as a short word cut at its start and laid
over what is left of her echo. Decoded freely it comes back as "So.", "Cool." or nothing,
and she talks on. The listener knows what matters there (a request to stop), so it passes
those phrases along; Whisper scores each one as the words of the audio (the decoder's mean
log-probability per token, forced through the phrase) and the phrase is taken when it is
at least nearly as likely as what was heard, and likely in itself: each phrase may come
with its own bar (how likely is likely enough depends on how easily other sounds pass for
it). Pure: scores in, a choice out.

Measured on what barge-in transcribed in lab runs (bench/echo_bargein.py, the audio kept;
BENCHMARKS.md, session 22): stop words Whisper misheard scored their phrase at -1.1
(a real "no" heard as "So.", at -1.40) to -2.2 (an espeak-ng "wait" heard as "with.");
over her echo alone and over backchannels, no stop phrase scored above -2.7 (about 80
transcripts in three runs).
"""

from __future__ import annotations

from collections.abc import Mapping

LIKELY_ABOVE = -2.2
"""An expected phrase scoring below this (mean log-probability per token) is not in the
audio, whatever was heard instead: over her echo's remains, where Whisper often hears
nothing at all, the stop phrases scored -2.7 at best."""
MARGIN = 0.6
"""How much less likely than the heard words an expected phrase may be and still be taken.
Live, misheard stop words scored their phrase up to 0.5 under the words heard instead
("with..." -1.68 and "Wait." -2.09; "You know..." -1.49 and "No." -2.00); where the
heard words were clearly likelier ("Go." -0.84 against "No." -2.03, the /n/ lost), the
phrase is not taken. Over her echo and backchannels, `LIKELY_ABOVE` alone decided."""


def pick(
    heard: float | None, phrases: Mapping[str, float], floors: Mapping[str, float] | None = None
) -> str:
    """The expected phrase to take as the words, or "" to keep what was heard.

    Args:
        heard: the score of the heard words, or None when nothing was heard.
        phrases: each expected phrase's score on the same audio.
        floors: the least score at which each phrase may be taken (`LIKELY_ABOVE` for
            one not named). The likeliest phrase that reaches its floor, and is within
            `MARGIN` of the heard words, is taken.
    """
    floors = floors or {}
    taken = [
        (score, phrase)
        for phrase, score in phrases.items()
        if score >= floors.get(phrase, LIKELY_ABOVE) and (heard is None or score >= heard - MARGIN)
    ]
    return max(taken)[1] if taken else ""
