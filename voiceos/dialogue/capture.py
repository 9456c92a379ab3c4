"""Facts said in passing: "my cat's called Miso", "I live in Porto", "I'm flying to Tokyo".

`hear()` reads one user turn and returns the personal facts it states, each with a
subject ("cat", "home", "work"), a key (a newer fact with the same key replaces the old
one, which is how "actually my cat's name is Pixel" corrects), and the user's own words.
Questions, negations, hypotheticals and other people's reported words state no facts.
Pure and offline: no I/O, no model.
"""

from __future__ import annotations

import logging
import re

from voiceos.dialogue.statements import RULES, Heard, about_them

__all__ = ["Heard", "hear", "states_a_fact"]

logger = logging.getLogger(__name__)

MAX_HEARD_CHARS = 300


_LEAD = re.compile(
    r"^(?:(?:oh|ah|so|well|and|also|anyway|actually|by the way|btw|plus|yeah|yes|no|nope|"
    r"ugh|oof|argh|gosh|man|wow|hmm|sigh|lol|haha|omg|right so|okay so|"
    r"ok|okay|right|hey|hi|hello|just so you know|fun fact|guess what|remember|"
    r"remember that|don't forget|don't forget that|for the record|in fact|i mean|i meant|"
    r"sorry|correction|wait|basically|honestly|um|uh|er|erm|like|oh and|and also|"
    r"by the way and|though|but|funny thing is|you know what|you know|little update|"
    r"update|quick update|news|as i (?:told you|said|mentioned)(?: before| earlier)?|"
    r"like i (?:said|told you)(?: before| earlier)?)\b[,:;.!\s-]*)+",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r"[,\s]+(?:actually|by the way|btw|though|anyway|now|these days|at the moment|"
    r"for now|lol|haha|you know|i guess|i think|as it happens|if you must know|ha|"
    r"wish me luck|fingers crossed|can you believe it|believe it or not|if you can believe it)"
    r"\s*$",
    re.IGNORECASE,
)
_CLAUSES = re.compile(
    r"(?<=[.!?;])\s+|\s*[.;!]+\s*$|"
    r",?\s+(?:and|but|so|plus)\s+(?=(?:i|my|i'm|i've|we|our|she's|he's|she|he)\b)|"
    r",\s+(?=(?:i|my|i'm|i've|we|we're|our)\s)",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"^(?:what|where|who|whom|whose|when|why|how|which|do|does|did|is|are|am|was|were|can|"
    r"could|would|will|should|shall|have|has|had|may|might|isn't|aren't|don't|didn't)\b",
    re.IGNORECASE,
)
_NOT_A_FACT = re.compile(
    r"\b(?:if|whether|would|wouldn't|could|couldn't|might|maybe|perhaps|imagine|imagining|"
    r"suppose|supposing|pretend|pretending|wish|wished|someday|one day|i'd|we'd|should|"
    r"unless|probably|hopefully|fantasi[sz]e|dream of|dreaming|dreamt|dreamed|apparently|"
    r"according to|supposedly|allegedly|rumou?r|rumou?red)\b",
    re.IGNORECASE,
)
_REPORTED = re.compile(
    r"\b(?!i\b)[\w']+ (?:said|says|say|told|tells|tell|thinks|thought|claims|claimed|reckons|"
    r"reckoned|believes|believed|insists|insisted|asked|asks|wrote|joked|heard|swears)\b|"
    r"\b(?:i was told|i heard|i read)\b",
    re.IGNORECASE,
)
"""Someone else's words: "my friend says her dog is Bruno". The user's own "as I told you"
is not reported speech."""
_NEGATED = re.compile(
    r"\b(?:not|never|no|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|haven't|hasn't|"
    r"hadn't|won't|nor|neither|no longer|anymore|any more|nobody|none|nothing|"
    r"can't|cannot|ain't|without)\b|n't\b",
    re.IGNORECASE,
)

_NEGATION_FREE = ("dislikes",)


def _clauses(text: str) -> list[tuple[str, bool]]:
    """Clauses of `text`, each with True when it was asked rather than said."""
    out: list[tuple[str, bool]] = []
    for sentence in re.split(r"(?<=[.!?;])\s+", text.strip()):
        asked = sentence.rstrip().endswith("?")
        for part in _CLAUSES.split(sentence):
            part = (part or "").strip(' ,.!?;:-"')
            if part:
                out.append((part, asked))
    return out


_NOT_THE_OLD = re.compile(r",?\s+(?:and\s+)?not\s+(?-i:[A-Z])?[\w'-]+(?:\s+(?-i:[A-Z])[\w'-]*)?$"
                          r"|,\s*not\s+[\w'-]+$", re.IGNORECASE)  # fmt: skip


def _clean_clause(part: str) -> str:
    """The clause without discourse markers, nor the "not Miso" of a correction."""
    part = _NOT_THE_OLD.sub("", _LEAD.sub("", part).strip(" ,"))
    while True:
        shorter = _TAIL.sub("", part).strip(" ,")
        if shorter == part:
            return part
        part = shorter


def hear(text: str, last: Heard | None = None) -> list[Heard]:
    """The personal facts `text` states, in the order said (at most one per clause).

    `last` is the latest fact about a person or pet, so "she lives in Lisbon" right after
    "my sister Ana…" is about Ana.
    """
    found: list[Heard] = []
    for part, asked in _clauses(" ".join(text.split())[: MAX_HEARD_CHARS * 3]):
        clause = _clean_clause(part)[:MAX_HEARD_CHARS]
        if not clause or asked or _QUESTION.match(clause) or _NOT_A_FACT.search(clause):
            continue
        if _REPORTED.search(clause):
            continue
        negated = bool(_NEGATED.search(_MAIN.split(clause, maxsplit=1)[0]))
        heard = _first(clause, negated) or (None if negated else about_them(clause, last))
        if heard is not None:
            found.append(heard)
            last = heard if "." in heard.key else last
    return found


_MAIN = re.compile(
    r",\s*(?:which|where|who|but|though|although|because|since|so|and|even though)\b|"
    r"\s(?:which|because|although|though|even though)\s",
    re.IGNORECASE,
)
"""Where a clause's main statement ends: "I live in Porto, which isn't far from the sea"."""


def states_a_fact(clause: str) -> bool:
    """True when `clause` is said as a plain statement: not asked, negated, imagined or
    reported (the same test `hear()` applies before its rules)."""
    clause = _clean_clause(clause.strip())
    return bool(clause) and not (
        clause.endswith("?")
        or _QUESTION.match(clause)
        or _NOT_A_FACT.search(clause)
        or _REPORTED.search(clause)
        or _NEGATED.search(_MAIN.split(clause, maxsplit=1)[0])
    )


def _first(clause: str, negated: bool) -> Heard | None:
    for regex, make in RULES:
        m = regex.match(clause)
        if not m:
            continue
        heard = make(m, clause)
        if heard is None:
            continue
        if negated and heard.subject not in _NEGATION_FREE:
            return None
        return heard
    return None
