"""Hearing known names: when to ask Whisper again with hints, and what to trust after.

Whisper tiny.en turns unusual names into common words ("Theodore" -> "the Adora").
Giving it the names as a prompt fixes most of that, but a prompt also changes how it
reads every other sentence (dropped trailing phrases, numbers run together): measured on
the corpus sentences, WER went from 5.6% to 6.7-7.9%. So the plain decode comes first,
and a hinted one is asked for only when the plain text has a place for a name ("my name
is …", "call me …", "my sister …") or a word that sounds like a known one. The hinted
text is taken only if it brings a known name in and otherwise says the same thing. Last,
a word in a name's place that sounds like a known name is written as that name. Pure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from voiceos.stt.wer import normalise_words, word_errors

logger = logging.getLogger(__name__)

_RELATIONS = (
    r"my (?:wife|husband|partner|girlfriend|boyfriend|friend|"
    r"best friend|sister|brother|mum|mom|mother|dad|father|son|daughter|boss|colleague|"
    r"cat|dog|baby|grandma|grandpa|grandmother|grandfather|aunt|uncle|cousin|niece|"
    r"nephew|neighbour|neighbor|teacher|roommate|flatmate)(?:'s)?(?: name)?(?: is)?"
)
_SLOT = re.compile(
    r"\b(?:my name is|my name's|name is|call me|i'm|i am|it's|it is|this is|named|called|"
    rf"name's|spelled|spelt|not|{_RELATIONS})\s+(?P<rest>[\w' -]+)",
    re.IGNORECASE,
)
"""Where a name may follow: worth asking Whisper again with hints."""
_NAME_SLOT = re.compile(
    rf"\b(?:my name is|my name's|call me|i'm called|named|called|{_RELATIONS})\s+"
    r"(?P<rest>[\w' -]+)",
    re.IGNORECASE,
)
"""Where a name surely follows: a sound-alike there is written as the known name."""
MIN_KEY = 3
"""Shorter sound keys ("an" for Ana) match too many common words to go by sound."""
SOUNDS_LIKE = 0.72
"""Phonetic-key similarity from which a heard word is taken for a known name."""
MAX_OTHER_EDITS = 2
"""A hinted decode may change this many words besides bringing the name in."""


def phonetic_key(text: str) -> str:
    """A rough sound-alike key: consonant skeleton after English spelling rules.

    "Dmitri" and "Demetri" -> "dmtr"; "Beatrix" and "Mia Tricks" -> "btrks"/"mtrks".
    """
    word = re.sub(r"[^a-z]", "", text.lower())
    if not word:
        return ""
    for old, new in (
        ("ph", "f"),
        ("ck", "k"),
        ("sch", "sk"),
        ("sh", "s"),
        ("ch", "k"),
        ("th", "t"),
        ("dg", "j"),
        ("qu", "k"),
        ("q", "k"),
        ("x", "ks"),
        ("z", "s"),
        ("gh", "g"),
        ("kn", "n"),
        ("wh", "w"),
    ):
        word = word.replace(old, new)
    word = re.sub(r"c(?=[eiy])", "s", word).replace("c", "k")
    head, tail = word[0], re.sub(r"[aeiouyhw]", "", word[1:])
    key = (head if head in "aeiouy" else head) + tail
    key = re.sub(r"^[aeiouy]", "a", key)
    return re.sub(r"(.)\1+", r"\1", key)


def sounds_like(heard: str, name: str) -> float:
    """0 to 1: how alike `heard` (one or two words) and `name` sound, by their sound keys
    or, for short names whose keys say little, by their letters."""
    a, b = phonetic_key(heard), phonetic_key(name)
    if not a or not b:
        return 0.0
    by_sound = SequenceMatcher(None, a, b).ratio()
    heard_letters, name_letters = (re.sub(r"[^a-z]", "", t.lower()) for t in (heard, name))
    return max(by_sound, SequenceMatcher(None, heard_letters, name_letters).ratio())


def _spans(words: list[str], size: int) -> list[tuple[int, int]]:
    return [(i, i + n) for n in range(1, size + 1) for i in range(len(words) - n + 1)]


def _nearest(span: str, names: Sequence[str], min_key: int = MIN_KEY) -> tuple[float, str]:
    if len(phonetic_key(span)) < min_key:
        return (0.0, "")
    scored = [(sounds_like(span, n), n) for n in names if len(phonetic_key(n)) >= min_key]
    return max(scored, default=(0.0, ""))


def has_name(text: str, names: Sequence[str]) -> bool:
    lowered = f" {' '.join(normalise_words(text))} "
    return any(f" {' '.join(normalise_words(n))} " in lowered for n in names if n.strip())


_CORRECTING = re.compile(r"^(?:no|nope|actually)\b|\bnot\b|\bisn't\b|\bwrong\b|\bspel")
"""A correction brings a new name in: the known one must not be pulled into it."""


def worth_hinting(text: str, names: Sequence[str]) -> bool:
    """Should Whisper be asked again with the names as hints?"""
    if not names or not text or has_name(text, names) or _CORRECTING.search(text.lower()):
        return False
    if _SLOT.search(text):
        return True
    words = text.split()
    return any(_nearest(" ".join(words[a:b]), names)[0] >= SOUNDS_LIKE for a, b in _spans(words, 2))


def take_hinted(plain: str, hinted: str, names: Sequence[str]) -> bool:
    """Use the hinted decode: it brings a known name in where the plain one heard something
    that sounds a little like it, and otherwise agrees."""
    if not hinted or not has_name(hinted, names) or has_name(plain, names):
        return False
    brought = [n for n in names if has_name(hinted, [n])]
    if len(brought) > 1:
        return False  # the prompt's list read back ("Ana, Jo"), not a name heard
    errors, _ = word_errors(plain, hinted)
    if errors > max(len(normalise_words(n)) for n in brought) + MAX_OTHER_EDITS:
        return False
    replaced = _replaced(normalise_words(plain), normalise_words(hinted))
    return any(sounds_like(replaced, n) >= LOOSELY_ALIKE for n in brought)


LOOSELY_ALIKE = 0.5
"""What the plain decode heard where the hinted one puts a name must sound this much like
it: the prompt can pull in a known name that was never said (the persona's, say)."""


def _replaced(plain: list[str], hinted: list[str]) -> str:
    """The plain words that the hinted decode changed."""
    changed: list[str] = []
    for tag, a, b, _c, _d in SequenceMatcher(None, plain, hinted).get_opcodes():
        if tag != "equal":
            changed.extend(plain[a:b])
    return " ".join(changed)


def snap(text: str, names: Sequence[str]) -> str:
    """Write a word in a name's place that sounds like a known name as that name.

    "My name is Demetri." with Dmitri known -> "My name is Dmitri."
    """
    if not names or not text or has_name(text, names) or _CORRECTING.search(text.lower()):
        return text
    found = _NAME_SLOT.search(text)
    if not found:
        return text
    tokens = list(re.finditer(r"[\w'-]+", text[found.start("rest") :]))[:2]
    best: tuple[float, str, int] = (0.0, "", 0)
    for count in range(1, len(tokens) + 1):
        heard = " ".join(t.group(0) for t in tokens[:count])
        score, name = _nearest(heard, names, min_key=2)  # a sure slot: short names too
        if score > best[0]:
            best = (score, name, count)
    score, name, count = best
    if score < SOUNDS_LIKE:
        return text
    start = found.start("rest") + tokens[0].start()
    end = found.start("rest") + tokens[count - 1].end()
    logger.debug("heard %r as the known name %r (%.2f)", text[start:end], name, score)
    return text[:start] + name + text[end:]


CANDIDATE_ALIKE = 0.3
"""A known name this little like the heard word is still worth scoring against it."""
RESCORE_MARGIN = 0.9
"""A known name in a name's place is taken when Whisper scores the sentence with it no
more than this much lower (mean log-probability per token) than what it heard. Measured
on espeak renderings: the right name scored 0.05-0.86 lower than the mishearing (one at
1.33); an unrelated name 1.1-3.4 lower."""


def candidates(text: str, names: Sequence[str]) -> list[str]:
    """`text` with the words in its name slot replaced by each known name that sounds at
    least a little like them; [] when there is no sure name slot or a name is already there.
    """
    if not names or not text or has_name(text, names) or _CORRECTING.search(text.lower()):
        return []
    found = _NAME_SLOT.search(text)
    if not found:
        return []
    tokens = list(re.finditer(r"[\w'-]+", text[found.start("rest") :]))[:2]
    out: list[str] = []
    for count in range(1, len(tokens) + 1):
        start = found.start("rest") + tokens[0].start()
        end = found.start("rest") + tokens[count - 1].end()
        for name in names:
            if sounds_like(text[start:end], name) >= CANDIDATE_ALIKE:
                candidate = text[:start] + name + text[end:]
                if candidate not in out:
                    out.append(candidate)
    return out
