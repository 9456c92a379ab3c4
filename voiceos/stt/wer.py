"""Word error rate with a normaliser that forgives spelling style, not recognition errors.

Both sides are lower-cased, stripped of punctuation and hyphens, and a run of number words
or digits becomes its digits, one word each, so "eighteen thirteen", "1813" and "18 13" all
give 1 8 1 3, "ten" and "10" give 1 0, and a wrong digit costs one word, not the run.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER = {w: str(i) for i, w in enumerate(_UNITS)}
_NUMBER.update({w: str(10 + i) for i, w in enumerate(_TEENS)})
_TENS_VALUE = {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_SPELLING = {"mr": "mister", "mrs": "missus", "dr": "doctor", "ok": "okay"}
_TOKEN = re.compile(r"[a-z0-9']+")


def _is_number(word: str) -> bool:
    return word.isdigit() or word in _NUMBER or word in _TENS_VALUE


def normalise_words(text: str) -> list[str]:
    """Words of `text` in the canonical form used for scoring."""
    lowered = text.lower().replace("-", " ").replace("’", "'")
    words = [_SPELLING.get(w, w) for w in _TOKEN.findall(lowered)]
    words = [w.strip("'") for w in words if w.strip("'")]
    out: list[str] = []
    digits: list[str] = []
    for i, word in enumerate(words):
        near_number = (i > 0 and _is_number(words[i - 1])) or (
            i + 1 < len(words) and _is_number(words[i + 1])
        )
        if word in ("oh", "o") and near_number:
            word = "zero"
        if not _is_number(word):
            if digits:
                out.extend("".join(digits))
                digits = []
            out.append(word)
            continue
        if word in _UNITS[1:] and i > 0 and words[i - 1] in _TENS_VALUE and digits:
            digits[-1] = digits[-1][0] + _NUMBER[word]  # "twenty three" -> 23
        elif word in _TENS_VALUE:
            digits.append(str(_TENS_VALUE[word]))
        else:
            digits.append(_NUMBER.get(word, word))
    if digits:
        out.extend("".join(digits))
    return out


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance: substitutions + deletions + insertions."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_word != hyp_word),
            )
        previous = current
    return previous[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(errors, reference words) after normalising both texts."""
    ref = normalise_words(reference)
    return edit_distance(ref, normalise_words(hypothesis)), len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Normalised WER of one pair; 0.0 when both are empty."""
    errors, words = word_errors(reference, hypothesis)
    if words == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / words
