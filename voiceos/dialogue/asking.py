"""Questions about the user, in other words: "what's my cat called?", "where's home?".

`ask()` reads a normalised question and says what it is after: a subject ("cat",
"sister", or the user themself) and a slot ("name", "home", "work"...). `answer()` picks
the facts that answer it, newest first. Lexical, with synonyms from vocab.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from voiceos.dialogue.vocab import (
    FAVOURITE_SAME,
    MODIFIERS,
    PETS,
    RELATIONS,
    canonical,
    wordset,
)

logger = logging.getLogger(__name__)


class FactLike(Protocol):
    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Ask:
    """What a question wants to know."""

    slot: str
    """ "name", "home", "origin", "work", "study", "date", "likes", "dislikes", "plans",
    "feelings", "has", "favourite"."""
    who: str = ""
    """Whose: "" for the user, else a subject such as "cat" or "best friend"."""
    detail: str = ""
    """A narrowing word: "colour" for "what's my favourite colour"."""
    words: frozenset[str] = frozenset()
    """The question's content words, to rank likes and plans by."""


_WHO = r"(?P<who>[a-z][a-z' ]{1,30}?)"
_MY = r"(?:my|our)"
_POSS = r"(?:'s| s)?"

RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(regex), slot)
    for regex, slot in (
        # names
        (rf"\bwhat(?:'s| is| was|s)? (?:the name of )?{_MY} {_WHO}{_POSS} (?:name|called)\b",
         "name"),
        (rf"\bwhat(?:'s| is| was|s)? the name of {_MY} {_WHO}$", "name"),
        (rf"\bwhat (?:do|did) (?:i|we) (?:call|name) {_MY} {_WHO}$", "name"),
        (rf"\bwhat name (?:did|do) (?:i|we) give (?:to )?{_MY} {_WHO}$", "name"),
        (rf"\bwhat(?:'s| is|s)? {_MY} {_WHO} called\b", "name"),
        (rf"\bwhat (?:are|were) {_MY} {_WHO} called\b", "name"),
        (rf"\bwhat are {_MY} {_WHO}(?:'|s')? names\b", "name"),
        (rf"\bwho(?:'s| is| was|s) {_MY} {_WHO}$", "name"),
        (rf"\bwhat(?:'s| is|s) {_MY} {_WHO}{_POSS} name\b", "name"),
        (rf"\b{_MY} {_WHO}{_POSS} name\b", "name"),
        (rf"\bwhat {_MY} {_WHO}(?:'s| is)? called\b", "name"),
        # other people's home, work, birthday
        (rf"\bwhere (?:does|did) {_MY} {_WHO} (?:live|stay|move to|reside)\b", "home"),
        (rf"\bwhere(?:'s| is) {_MY} {_WHO} (?:living|based)\b", "home"),
        (rf"\bwhat (?:does|did) {_MY} {_WHO} do\b", "work"),
        (rf"\bwhat(?:'s| is) {_MY} {_WHO}{_POSS} (?:job|work)\b", "work"),
        (rf"\bwhen(?:'s| is|s) {_MY} (?P<who2>[a-z ]+?)(?:'s| s) birthday\b", "date"),
        (r"\bwhen(?:'s| is|s) (?:my|our) (?:wedding )?anniversary\b", "anniversary"),
        # the user's own
        (r"\bwhere (?:do|did) (?:i|we) (?:live|stay|reside|call home|move to|move|moved to)\b|"
         r"\bwhere(?:'s| is|s) (?:my )?home\b|\bwhere am i (?:living|based|staying|at home)\b|"
         r"\bwhat (?:city|town|country|place|village|part of \w+) do i live in\b|"
         r"\bwhere(?:'s| is) my (?:house|flat|apartment|place)\b|\bwhere have i moved\b|"
         r"\bwhat(?:'s| is) my (?:address|city|town)\b|\bwhere do i call home\b|"
         r"\bwhere i (?:live|am living|'m living|moved to|call home)\b|"
         r"\bwhich (?:city|town|country|place|village) (?:do i live in|am i in|am i living in|"
         r"is home)\b|\bwhat (?:city|town|country) am i (?:in|living in)\b", "home"),
        (r"\bwhere (?:am|was) i (?:originally )?from\b|\bwhere was i (?:born|raised|brought up)\b|"
         r"\bwhere did i grow up\b|\bwhere do i (?:originally )?come from\b|"
         r"\bwhat(?:'s| is) my (?:hometown|home town|birthplace|place of birth)\b|"
         r"\bwhat (?:country|city|town|place) (?:am i from|was i born in|did i grow up in)\b|"
         r"\bwhere are my roots\b|\bwhere(?:'s| is) my family from\b|"
         r"\bwhere(?:'s| is) my (?:hometown|home town)\b|"
         r"\bwhich (?:country|city|town|place) (?:am i from|was i born in|did i grow up in)\b",
         "origin"),
        (r"\bwhat (?:do|did) i do(?: for (?:work|a living|money|my job|a job))?(?: again)?$|"
         r"\bhow do i (?:earn|make) (?:money|my money|a living|my living)\b|"
         r"\bwhat(?:'s| is) my (?:job|profession|occupation|line of work|career|work)\b|"
         r"\bwhat do i work as\b|\bwhere do i work\b|\bhow do i (?:earn|make) (?:a|my) living\b|"
         r"\bwhat (?:kind|sort|type) of (?:work|job) do i do\b|"
         r"\bwhat am i by (?:trade|profession)\b|"
         r"\bwhat do i do (?:for work|for a living|for money|all day|at work)\b|"
         r"\bwhat is it i do\b|\bwhat(?:'s| is) my day job\b|\bdo you know what i do\b|"
         r"\bi do for (?:work|a living|money)\b|\bwhat i do for\b|"
         r"\bwhat (?:[a-z]+ )?do i teach\b|\bwhat (?:company|firm|business) do i\b", "work"),
        (r"\bwhat (?:[a-z]+ ){0,2}?(?:do|am) i (?:study|studying)\b|"
         r"\bwhat(?:'s| is) my (?:major|degree|subject|course)\b|"
         r"\bwhere do i (?:study|go to (?:school|university|college|uni))\b|"
         r"\bwhat (?:course|degree|subject) am i (?:doing|taking|studying)\b|"
         r"\bwhat am i training (?:to be|as)\b", "study"),
        (r"\bwhen(?:'s| is|s| was) my (?:birthday|bday|date of birth)\b|\bwhen was i born\b|"
         r"\bwhat(?:'s| is) my (?:birthday|date of birth|birth date|birthdate)\b|"
         r"\bwhen do i (?:celebrate|have) my birthday\b|\bwhat (?:day|date) (?:is|was) my "
         r"birthday\b|\bwhen do i (?:get older|turn)\b|\bwhat day was i born\b", "date"),
        (r"\bwhat(?:'s| is|s) my fav(?:ou?rite)? (?P<detail>[a-z ]+?)$", "favourite"),
        (r"\bwhat (?:[a-z]+ ){0,3}?(?:do|did) i (?:hate|dislike|loathe|detest|not like|"
         r"can't stand)\b|\bwhat (?:[a-z]+ ){0,3}?(?:don't|do not|didn't) i (?:like|enjoy)\b|"
         r"\bwhat (?:[a-z]+ ){0,3}?can't i (?:stand|bear)\b|"
         r"\bwhat (?:annoys|bothers) me\b|\bwhat am i not (?:a fan of|into)\b", "dislikes"),
        (r"\b(?:what|who) (?:[a-z]+ ){0,3}?(?:do|did) i (?:like|love|enjoy|adore|dig)\b|"
         r"\bwhat (?:[a-z]+ ){0,3}?am i (?:into|a fan of|crazy about|obsessed with|"
         r"passionate about)\b|\bwhich (?:[a-z]+ ){0,3}?do i (?:like|love|enjoy)\b|"
         r"\bwhat are my (?:hobbies|interests|likes|passions)\b|\bwhat makes me happy\b|"
         r"\bwhat do i (?:like|love|enjoy) doing\b|\bwhat are my favourite things\b", "likes"),
        (r"\bwhat are my plans\b|\bwhere am i (?:going|flying|off to|heading|travell?ing)\b|"
         r"\bwhat am i (?:doing|up to) (?:this|next|on|tomorrow|tonight|at the|over)\b|"
         r"\bwhen am i (?:flying|going|leaving|travell?ing|off|moving|starting|visiting|seeing|"
         r"getting|back|meeting|having)\b|\bdo i have (?:any )?plans\b|"
         r"\bwhat have i got (?:on|coming up|planned)\b|\bwhat(?:'s| is) coming up\b|"
         r"\bwhat(?:'s| is) my (?:plan|trip|schedule)\b|\bwhat am i planning\b|"
         r"\bwhat do i have (?:on|coming up|planned)\b|\bwhere(?:'s| is) my trip\b|"
         r"\bwhat(?:'s| is) happening (?:on|this|next|tomorrow|tonight|at the|over)\b|"
         r"\bwhen(?:'s| is) my (?P<detail>[a-z ]+)$", "plans"),
        (r"\bhow old am i\b|\bwhat(?:'s| is) my age\b", "age"),
        (r"\bwhat am i allergic to\b|\bwhat (?:can't|cannot|shouldn't) i eat\b|"
         r"\bwhat(?:'s| are) my allerg(?:y|ies)\b|\bam i allergic\b|"
         r"\bdo i have (?:any )?allergies\b", "allergies"),
        (rf"\bmy {_WHO} (?:is|was|'s) called\b", "name"),
        (r"\bhow (?:am|was|have) i (?:been )?feeling\b|\bhow did i (?:say i )?feel\b|"
         r"\bwhat(?:'s| is| was) my mood\b|\bhow was i doing\b|\bwhat was i feeling\b|"
         r"\bwhat (?:was|am|have) i (?:been )?(?:worried|anxious|nervous|scared|stressed|upset)"
         r" about\b", "feelings"),
        (r"\bdo (?:i|we) have (?:a |an |any )?(?P<detail>[a-z ]+?)$|"
         r"\bhave (?:i|we) got (?:a |an |any )?(?P<detail2>[a-z ]+?)$|"
         r"\bwhat (?:pets?|animals?|kind of pets?) do (?:i|we) have\b", "has"),
    )
)  # fmt: skip


_QUESTION_WORDS = wordset(
    "what where when which does have with that this your about kind sort type like love enjoy "
    "into doing going plans plan"
)


def _ranked(facts: list[FactLike], words: frozenset[str], limit: int) -> list[FactLike]:
    """`facts` (newest first) with those sharing a word with the question first."""

    def shared(fact: FactLike) -> int:
        said = set(fact.text.lower().split()) | set(fact.key.split(":")[-1].split())
        return len(said & words)

    best = sorted(facts, key=shared, reverse=True)
    if best and shared(best[0]):  # the question names one: answer just that
        best = [f for f in best if shared(f)]
    return best[:limit]


def _who(raw: str) -> str:
    words = [w for w in raw.replace("'s", "").split() if w not in ("the", "a", "an")]
    while words and words[-1] in ("is", "was", "again", "now", "called", "named"):
        words.pop()
    if not words:
        return ""
    last = words[-1]
    if last.endswith("s") and last[:-1] in PETS | RELATIONS:  # "my cats" is about the cat
        words[-1] = last[:-1]
    if words[-1:] in (["friend"], ["mate"]) and words[0] in ("best", "closest", "oldest"):
        return "best friend"
    return " ".join(canonical(w) for w in words)


_ASKING = re.compile(
    r"^(?:what|where|who|whom|whose|when|which|how|do|did|does|is|are|am|was|were|have|has|"
    r"can|could|tell me|remind me|any idea|i forgot|i forget|i can't remember|"
    r"i don't remember|you know|guess)\b"
)


def is_question(raw: str, text: str) -> bool:
    """True for a question: a "?" in the typed line, or question words first."""
    return raw.rstrip().endswith("?") or bool(_ASKING.match(text))


def ask(text: str) -> Ask | None:
    """What the normalised question `text` asks about the user, or None."""
    for regex, slot in RULES:
        m = regex.search(text)
        if not m:
            continue
        groups = {k: v for k, v in m.groupdict().items() if v}
        who = groups.get("who") or groups.get("who2") or ""
        detail = groups.get("detail") or groups.get("detail2") or ""
        if slot == "date" and who:
            return Ask("date", _who(who))
        if slot == "anniversary":
            return Ask("date", "anniversary")
        if slot == "has":
            thing = canonical(detail.split()[-1].rstrip("s")) if detail else "pet"
            if thing not in PETS and thing not in ("pet", "animal"):
                return None
            return Ask("has", thing)
        words = frozenset(w for w in text.split() if len(w) > 3 and w not in _QUESTION_WORDS)
        whose = _who(who) if who else ""
        if whose in ("line of", "day", "own", "line"):
            whose = ""  # "what's my line of work" is the user's own
        return Ask(slot, whose, detail.strip(), words)
    return None


def _about(fact: FactLike, who: str) -> bool:
    """True when the fact's subject is `who` ("sister" matches "little sister")."""
    subject = fact.topic.split()
    want = who.split()
    if not want or not subject:
        return False
    if who in ("pet", "animal", "pets"):
        return subject[-1] in PETS
    # "kitty cat" asks about the cat; "best friend" is not any friend.
    return want[-1] == subject[-1] and all(w in subject for w in want[:-1] if w in MODIFIERS)


def answer(question: Ask, facts: Sequence[FactLike]) -> list[FactLike]:
    """The facts (oldest first in `facts`) that answer `question`, newest first."""
    newest = list(reversed(facts))
    slot, who = question.slot, question.who
    if slot == "name":
        named = [f for f in newest if f.name and _about(f, who)]
        return named[:1]
    if slot in ("home", "work") and who:
        return [f for f in newest if f.key == f"{f.topic}.{slot}" and _about(f, who)][:1]
    if slot == "date":
        target = f"{who} birthday" if who and who != "anniversary" else who or "birthday"
        wanted = set(target.split())
        return [f for f in newest if f.key == f"{target}.date" or (
            who not in ("", "anniversary") and f.key == f"{f.topic}.date"
            and wanted <= set(f.topic.split()))
        ][:1]  # fmt: skip
    if slot == "has":
        return [f for f in newest if _about(f, who)][:1]
    if slot == "favourite":
        detail = question.detail.split()[-1] if question.detail else ""
        detail = FAVOURITE_SAME.get(detail, detail)
        favs = [f for f in newest if f.key.startswith("favourite:")]
        exact = [f for f in favs if f.key.split(":", 1)[1].split()[-1:] == [detail]]
        return exact[:1] or [f for f in newest if f.key.startswith("taste:") and
                             f.topic == "likes" and detail and detail in f.key][:1]  # fmt: skip
    if slot in ("likes", "dislikes"):
        found = [f for f in newest if f.key.startswith("taste:") and f.topic == slot]
        if slot == "likes":
            found += [f for f in newest if f.key.startswith("favourite:")]
        return _ranked(found, question.words, 4)
    if slot == "plans":
        detail = question.detail
        plans = [f for f in newest if f.key.startswith("plan:")]
        if detail:
            words = set(detail.split())
            plans = [f for f in plans if words & set(f.key[5:].split())] or plans
        return _ranked(plans, question.words, 3)
    if slot == "feelings":
        return [f for f in newest if f.key == "feeling"][:1]
    if slot == "age":
        return [f for f in newest if f.key == "age"][:1] or [
            f for f in newest if f.key == "birthday.date"
        ][:1]
    if slot == "allergies":
        return [f for f in newest if f.key.startswith("allergy:")][:3]
    fallback = {"work": "study", "study": "work"}
    for key in (slot, fallback.get(slot, "")):
        found = [f for f in newest if key and f.key == key]
        if found:
            return found[:1]
    return []
