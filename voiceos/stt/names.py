"""Hearing known names: when to ask Whisper again with hints, and what to trust after.

Whisper tiny.en turns unusual names into common words ("Theodore" -> "the Adora").
Giving it the names as a prompt fixes most of that, but a prompt also changes how it
reads every other sentence (dropped trailing phrases, numbers run together): measured on
the corpus sentences, WER went from 5.6% to 6.7-7.9%. So the plain decode comes first,
and a hinted one is asked for only when the plain text has a place for a name ("my name
is …", "call me …", "my sister …") or a word that sounds like a known one. The hinted
text is taken only if it brings a known name in and otherwise says the same thing. Last,
where a name surely follows and none known was heard, Whisper scores the sentence with
each known name in that place, and with common names nobody mentioned as a baseline;
`decide` takes a known name only when it fits nearly as well as the heard words and
clearly better than the baseline and the other known names. (Writing in a sound-alike by
spelling alone, `snap`, is the fallback when there is no encoding to score on.) Pure.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
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


def proposed(plain: str, hinted: str, names: Sequence[str]) -> str | None:
    """The one known name a hinted decode brought in that the plain one lacks, if any: a
    second opinion, from the decoder, that this name was said."""
    if not hinted or has_name(plain, names):
        return None
    brought = [n for n in names if has_name(hinted, [n])]
    return brought[0] if len(brought) == 1 else None


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


PROPOSED_MARGIN = 1.3
"""The margin for the name a hinted decode proposed but that was not taken on spelling
(Kwame heard as "Gwen"; the hinted decode said "Kwame"): two pieces of evidence."""
RESCORE_MARGIN = 1.0
"""A known name in a name's place may score this much lower than what Whisper heard (mean
log-probability per token of the whole sentence). Measured on espeak renderings of "My
name is NAME.": the right name 0.06-1.14 below the mishearing (Kwame heard as "Gwen"
0.85-0.95, Imogen as "David John" 0.83-1.07); another name said, with this one known,
usually 1.2-2.5 below."""
BASELINE_GAP = 0.2
"""...and must score this much above the median of the same place filled with common
names nobody mentioned: a margin alone cannot tell "the audio fits this name" from "the
audio is unclear and any name fits" (Nadia heard as "Argyo" scored Margot within 1.6, but
Margot no better than Hannah or Daniel)."""
RUNNER_UP_GAP = 0.3
"""...and this much above the next known name: when two known names fit about as well
("Uda": Ana or Ravi), neither is taken."""
BASELINE_NAMES = ("Margaret", "Peter", "Lucy", "Oliver", "Hannah", "George", "Sophie", "Daniel")
"""Common names that stand for "someone else": the baseline a known name must beat."""
MAX_SLOT_WORDS = 3
"""The heard words a name may have become ("David John", "Ray, bye, Jo")."""


@dataclass(frozen=True)
class Slot:
    """The words in a sure name slot, and where the heard text puts them."""

    text: str
    spans: tuple[tuple[int, int], ...]
    """Character spans of the heard words that a name may replace: the rest of the clause
    when it is short, else its first word or its first two."""
    lead: str = ""
    """Words to put before the name: "is " when the lead-in was heard only as "my name"."""

    def filled(self, name: str) -> list[str]:
        return [self.text[:a] + self.lead + name + self.text[b:] for a, b in self.spans]


def name_slot(text: str, names: Sequence[str]) -> Slot | None:
    """The sure name slot of `text` worth rescoring with known names: None when there is
    none, a known name is already in the text, or the text corrects a name."""
    if not names or not text or has_name(text, names) or _CORRECTING.search(text.lower()):
        return None
    found = _NAME_SLOT.search(text)
    if not found:
        return _misheard_lead(text)
    offset = found.start("rest")
    clause = re.split(r"[.?!;]| and | but ", text[offset:], maxsplit=1)[0]
    tokens = list(re.finditer(r"[\w'-]+", clause))
    if not tokens:
        return None
    counts = [len(tokens)] if len(tokens) <= MAX_SLOT_WORDS else [1, 2]
    spans = tuple((offset + tokens[0].start(), offset + tokens[n - 1].end()) for n in counts)
    return Slot(text, spans)


_HALF_LEAD = re.compile(
    r"^\W*my name\s+(?!is\b|was\b|'s\b)(?P<rest>[\w' ,-]+?)\s*[.?!]?\s*$", re.IGNORECASE
)
"""A short utterance that starts "my name" but did not hear the "is" and the name after
it ("my name will see about", "My name and move"): the rest may be "is NAME"."""


def _misheard_lead(text: str) -> Slot | None:
    found = _HALF_LEAD.match(text)
    if not found or len(re.findall(r"[\w'-]+", found.group("rest"))) > MAX_SLOT_WORDS:
        return None
    return Slot(text, ((found.start("rest"), found.end("rest")),), lead="is ")


def baseline_names(names: Sequence[str], heard: str = "") -> list[str]:
    """BASELINE_NAMES without those that sound like a known name or the heard words."""
    return [
        b
        for b in BASELINE_NAMES
        if max((sounds_like(b, n) for n in [*names, heard] if n), default=0.0) < LOOSELY_ALIKE
    ]


def decide(
    heard: float, known: dict[str, float], baseline: Sequence[float], hinted: str | None = None
) -> str | None:
    """The known name to write in the slot, from Whisper's scores (mean log-probability
    per token) of the sentence as heard, with each known name, and with each baseline
    name in the slot; None to keep what was heard. `hinted`: the name a hinted decode
    proposed, allowed PROPOSED_MARGIN instead of RESCORE_MARGIN."""
    if not known or not baseline:
        return None
    ranked = sorted(known.items(), key=lambda item: -item[1])
    name, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else -math.inf
    typical = statistics.median(baseline)
    taken = (
        best >= heard - (PROPOSED_MARGIN if name == hinted else RESCORE_MARGIN)
        and best >= typical + BASELINE_GAP
        and best >= runner_up + RUNNER_UP_GAP
    )
    logger.debug(
        "name rescoring: %s %.2f (heard %.2f, baseline median %.2f, runner-up %.2f): %s",
        name,
        best,
        heard,
        typical,
        runner_up,
        "taken" if taken else "kept what was heard",
    )
    return name if taken else None
