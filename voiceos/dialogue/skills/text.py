"""Turning transcripts and typed lines into something patterns can match, and back.

Speech transcripts arrive lower-case, without punctuation and full of "um"; typed lines
arrive with anything at all in them. Both go through the same steps here.
"""

from __future__ import annotations

import logging
import random
import re
import unicodedata
from collections import deque
from collections.abc import Sequence

logger = logging.getLogger(__name__)

MAX_CHARS = 2000
"""Longer input is cut: nobody says more than this in one breath."""


def wordset(text: str) -> frozenset[str]:
    """A set of words written as one string, which reads better than a long list literal."""
    return frozenset(text.split())


_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")


def clean(text: str, limit: int = MAX_CHARS) -> str:
    """Printable text only: terminal escapes dropped, control and format characters become
    spaces, length bounded."""
    text = _ESCAPE.sub(" ", text[: limit * 2])
    kept = [" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text]
    return " ".join("".join(kept).split())[:limit].replace("’", "'").replace("‘", "'")


_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['-][^\W_]+)*")


def normalise(text: str) -> str:
    """Lower-case words, numbers and inner apostrophes or hyphens; punctuation dropped."""
    return " ".join(_TOKEN.findall(clean(text).lower()))


FILLERS = wordset("um umm uh uhh uhm er erm hmm hm mm mmm ah ahh please kindly maybe perhaps")
_PREFIX = re.compile(
    r"^(?:hey|hi|hello|ok|okay|so|well|right|alright|oh|now|and|but|just|actually|"
    r"could you|can you|would you|will you|do you think you could|would you mind|"
    r"i want you to|i'd like you to|i would like you to|i need you to|"
    r"i wonder if you could|i was wondering if you could|if you could|you could|"
    r"do me a favor and|do me a favour and)\b\s*"
)
_SUFFIX = re.compile(r"(?<!\bfor)\s+(?:for me|thanks|thank you|now|then|ok|okay|if you can)$")


def strip_fillers(text: str, names: Sequence[str] = ()) -> str:
    """Drop hesitations, politeness and the companion's own name from normalised text.

    "um could you maybe speak a bit slower please samantha" -> "speak a bit slower".
    """
    lowered = {n.lower() for n in names}
    words = [w for w in text.split() if w not in FILLERS and w not in lowered]
    out = " ".join(words)
    while True:
        shorter = _SUFFIX.sub("", _PREFIX.sub("", out)).strip()
        if shorter == out:
            return out
        out = shorter


_UNITS = {
    w: i
    for i, w in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
        + ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen")
        + ("eighteen", "nineteen")
    )
}
_TENS = {
    w: 10 * (i + 2)
    for i, w in enumerate(
        ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
    )
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | frozenset(_SCALES) | {"a", "and"}


def read_number(words: Sequence[str], start: int = 0) -> tuple[float, int] | None:
    """Read a number at `words[start]`: "150", "3.5" or "one hundred and fifty".

    Returns the value and the index after it, or None when no number starts there.
    """
    if start >= len(words):
        return None
    first = words[start]
    if re.fullmatch(r"\d+(?:\.\d+)?|\d{1,3}(?:,\d{3})+", first):
        return float(first.replace(",", "")), start + 1
    total, current, last, i = 0, 0, "", start
    while i < len(words):
        word = words[i]
        parts = word.split("-")
        if len(parts) == 2 and parts[0] in _TENS and _UNITS.get(parts[1], 0) in range(1, 10):
            if last not in ("", "scale"):
                break
            current += _TENS[parts[0]] + _UNITS[parts[1]]
            last = "unit"
        elif word in _TENS:
            if last not in ("", "scale"):
                break
            current += _TENS[word]
            last = "ten"
        elif word in _UNITS:
            if last not in ("", "scale", "ten") or (last == "ten" and _UNITS[word] >= 10):
                break
            current += _UNITS[word]
            last = "unit"
        elif word in _SCALES and (last in ("unit", "ten") or last == "a"):
            if _SCALES[word] == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * _SCALES[word]
                current = 0
            last = "scale"
        elif word == "a" and not last and i + 1 < len(words) and words[i + 1] in _SCALES:
            last = "a"
        elif word == "and" and last == "scale" and i + 1 < len(words):
            nxt = words[i + 1].split("-")[0]
            if nxt not in _UNITS and nxt not in _TENS:
                break
        else:
            break
        i += 1
    if last in ("", "a"):
        return None
    return float(total + current), i


def numbers_in(text: str) -> list[float]:
    """Every number in normalised text, written in digits or in words."""
    words = text.split()
    found: list[float] = []
    i = 0
    while i < len(words):
        got = read_number(words, i)
        if got is None:
            i += 1
            continue
        found.append(got[0])
        i = got[1]
    return found


def say_number(value: float) -> str:
    """175.0 -> "175", 0.333333 -> "0.33"."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if abs(value) >= 1 else f"{value:.2g}"


_SWAP = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    "am": "are",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
    "you're": "I'm",
    "you've": "I've",
    "you'll": "I'll",
    "you'd": "I'd",
    "we": "you",
    "our": "your",
    "us": "you",
}
_PAIRS = {("i", "was"): ("you", "were"), ("you", "were"): ("I", "was"), ("you", "are"): ("I", "am")}
_SUBJECT_NEXT = wordset(
    "are were was should can could will would do did does have had know think seem look feel "
    "sound make said say never always really just might must want need like love"
)


def reflect(text: str) -> str:
    """Turn the user's words around: "I love my job" -> "you love your job"."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        word, low = words[i], words[i].lower()
        nxt = words[i + 1].lower() if i + 1 < len(words) else ""
        if (low, nxt) in _PAIRS:
            out.extend(_PAIRS[(low, nxt)])
            i += 2
            continue
        if low == "you":
            out.append("I" if (not out or nxt in _SUBJECT_NEXT) else "me")
        else:
            out.append(_SWAP.get(low, word))
        i += 1
    return " ".join(out)


class Variety:
    """Picks among ways of saying something, avoiding the ones used most recently."""

    def __init__(self, rng: random.Random, remember: int = 24) -> None:
        self.rng = rng
        self._recent: deque[str] = deque(maxlen=remember)

    def pick(self, options: Sequence[str]) -> str:
        """A random option not said lately (or the least recently said one)."""
        if not options:
            return ""
        fresh = [o for o in options if o not in self._recent]
        if fresh:
            choice = self.rng.choice(fresh)
        else:
            recent = list(self._recent)
            choice = min(options, key=lambda o: max(i for i, r in enumerate(recent) if r == o))
        self.note(choice)
        return choice

    def note(self, said: str) -> None:
        """Record something said another way, so pick() avoids it too."""
        self._recent.append(said)

    def was_recent(self, said: str) -> bool:
        return said in self._recent
