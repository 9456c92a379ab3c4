"""The shapes of personal statements: "my cat's called Miso", "I live in Porto", "I'm a nurse".

Each rule matches one clause (already cleaned by capture.py) and builds a `Heard` fact
with a subject, a key and the user's words; the builders check the captured value (a
plausible name, a place, a job) and return None when it is not one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from voiceos.dialogue.vocab import (
    BREEDS,
    DAYS,
    FAVOURITE_SAME,
    FEELINGS,
    JOB_SUFFIXES,
    JOBS,
    MODIFIERS,
    MONTHS,
    NOT_JOBS,
    PETS,
    RELATIONS,
    canonical,
    wordset,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heard:
    """One personal fact stated by the user."""

    subject: str
    """What it is about, e.g. "cat", "best friend", "home", "work", "likes"."""
    key: str
    """Facts with the same key replace each other: "cat.name", "home", "like:jazz"."""
    text: str
    """The user's own words (one clause, discourse markers like "actually" dropped)."""
    value: str = ""
    """The answer in short: "Miso", "Porto", "a nurse"."""
    name: str = ""
    """A proper name the fact gives (a person's or pet's), for hotwords and answers."""


_WORD = r"[^\W\d_][\w'’-]*"
_NAME = rf"(?P<name>{_WORD}(?:\s+(?-i:[A-Z])[\w'-]*){{0,2}})"
_REL = r"(?P<rel>(?:(?:{m})\s+)?(?:{r}))".format(
    m="|".join(sorted(MODIFIERS, key=len, reverse=True)),
    r="|".join(sorted(RELATIONS, key=len, reverse=True)),
)
_PET = r"(?P<pet>(?:guinea pig|golden retriever|german shepherd|{p}))".format(
    p="|".join(sorted(PETS | frozenset(BREEDS), key=len, reverse=True))
)
_WHO = rf"(?:{_REL}|{_PET})"
_REST = r"(?P<x>.+)"
_MINE = r"(?:my|our)"
_PLACE = r"(?P<place>.+)"
_POSS = r"(?:'s|s|’s)"

# Words that end a place or name: "Porto now", "Lisbon with her wife".
_STOP_AFTER = re.compile(
    r"\s+(?:now|since|for|with|and|but|because|cause|these|at|this|last|next|on|about|"
    r"as|right|which|who|where|when|so|though|actually|anymore|again|too|ever|lately|"
    r"recently|originally|years?|months?|weeks?|days?|already|by|until|till|in|"
    r"while|just|it's|its|is|was|and|they|she|he|we|i)\b.*$",
    re.IGNORECASE,
)
NOT_NAMES = wordset(
    """a an the my your his her our their this that it one not no so very too just really
    here there called named also still always never back home out off up down over in on
    at from with about fine good ok okay great well sorry sure tired sad happy busy new old
    little big young cute lovely gorgeous sweet adorable beautiful annoying lazy crazy
    amazing awesome smart clever funny nice kind mean strict older younger taller shorter
    getting going doing feeling working moving living coming staying trying being having
    sick ill pregnant married single divorced away gone dead alive retired angry upset
    worried nervous scared hungry bored someone something anyone nobody everyone who what
    where when how why which twins twin tall short is was are has had lives works loves
    likes hates lived worked just moved got gets"""
)


def _cased(text: str) -> bool:
    """True when the text has capitals beyond a sentence start and "I" (typed, not heard)."""
    return any(ch.isupper() for ch in re.sub(r"^\W*\w|\bI\b|\bI'", "", text))


def _name(raw: str | None, clause: str) -> str:
    """A plausible proper name from `raw`, or "" ("Miso", "Mister Whiskers")."""
    if not raw:
        return ""
    words = _STOP_AFTER.sub("", raw).strip(" ,.!?'\"").split()
    if not 1 <= len(words) <= 3 or any(w.lower() in NOT_NAMES for w in words):
        return ""
    if any(not w.replace("'", "").replace("-", "").isalpha() for w in words):
        return ""
    if _cased(clause) and not all(w[:1].isupper() for w in words):
        return ""
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _place(raw: str | None) -> str:
    if not raw:
        return ""
    place = _STOP_AFTER.sub("", raw).strip(" ,.!?'\"")
    words = place.split()
    if not words or len(words) > 6 or words[0].lower() in ("with", "my", "her", "his", "their"):
        return ""
    return place


def _thing(raw: str | None) -> str:
    thing = (raw or "").strip(" ,.!?'\"")
    thing = re.sub(r"\s+(?:a lot|so much|very much|too|really|loads|any more|anymore|these days|"
                   r"at all|either|now)$", "", thing, flags=re.I)  # fmt: skip
    if not thing or thing.lower() in ("it", "that", "this", "them", "you", "him", "her", "me"):
        return ""
    return thing


def _subject(who: str) -> str:
    words = who.lower().split()
    if words and words[-1] in BREEDS or who.lower() in ("golden retriever", "german shepherd"):
        return BREEDS.get(words[-1], "dog")
    if words and words[-1] in ("friend", "mate", "buddy", "pal") and words[0] in (
        "best", "closest", "oldest"
    ):  # fmt: skip
        return "best friend"
    return " ".join(canonical(w) for w in words)


def _slug(text: str) -> str:
    words = re.findall(r"[^\W_]+", text.lower())
    keep = [w for w in words if w not in ("a", "an", "the", "to", "my", "some", "of")]
    return " ".join(keep[:3])


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], str], Heard | None]]


def _rule(regex: str, make: Callable[[re.Match[str], str], Heard | None]) -> Rule:
    return re.compile(regex, re.IGNORECASE), make


def _who(m: re.Match[str]) -> str:
    return _subject(m.group("rel") or m.group("pet"))


def _named(m: re.Match[str], clause: str) -> Heard | None:
    name = _name(m.group("name"), clause)
    if not name:
        return None
    who = _who(m)
    return Heard(who, f"{who}.name", clause, name, name)


def _named_then(m: re.Match[str], clause: str) -> Heard | None:
    """ "my sister Ana lives in Lisbon": a name, and whatever follows it."""
    name = _name(m.group("name"), clause)
    if not name or len(name.split()) > 1:
        return None
    who = _who(m)
    rest = m.group("x")
    home = re.match(
        r"(?:now |still |currently |just |recently )?(?:lives|is living|moved|has moved|"
        r"has just moved) (?:in|to) (.+)",
        rest,
        re.I,
    )
    if home and _place(home.group(1)):
        return Heard(who, f"{who}.home", clause, _place(home.group(1)), name)
    job = re.match(r"(?:works as|is) (?:a|an) (.+)", rest, re.I)
    if job and _job(job.group(1)):
        return Heard(who, f"{who}.work", clause, _job(job.group(1)), name)
    return Heard(who, f"{who}.name", clause, name, name)


def _lives(m: re.Match[str], clause: str) -> Heard | None:
    place = _place(m.group("place"))
    if not place:
        return None
    who = _who(m)
    return Heard(who, f"{who}.home", clause, place)


def _their_job(m: re.Match[str], clause: str) -> Heard | None:
    job = _job(m.group("x"))
    if not job:
        return None
    who = _who(m)
    return Heard(who, f"{who}.work", clause, job)


def _has_pet(m: re.Match[str], clause: str) -> Heard | None:
    pet = _subject(m.group("pet"))
    name = _name(m.groupdict().get("name"), clause)
    return Heard(pet, f"{pet}.name" if name else f"{pet}.has", clause, name or pet, name)


def _home(m: re.Match[str], clause: str) -> Heard | None:
    place = _place(m.group("place"))
    return Heard("home", "home", clause, place) if place else None


def _origin(m: re.Match[str], clause: str) -> Heard | None:
    place = _place(m.group("place"))
    if not place or place.split()[0].lower() in MONTHS or re.match(r"\d", place):
        return None
    return Heard("origin", "origin", clause, place)


def _job(raw: str) -> str:
    job = _STOP_AFTER.sub("", raw).strip(" ,.!?")
    words = job.lower().split()
    if not words or len(words) > 5:
        return ""
    last = words[-1]
    if set(words) & NOT_JOBS or words[0] in ("bit", "little", "lot"):
        return ""
    if last in JOBS or (len(last) > 4 and last.endswith(JOB_SUFFIXES) and last not in FEELINGS):
        return job
    return ""


def _work_as(m: re.Match[str], clause: str) -> Heard | None:
    job = _job(m.group("x"))
    return Heard("work", "work", clause, job) if job else None


def _work(m: re.Match[str], clause: str) -> Heard | None:
    thing = _thing(m.group("x"))
    return Heard("work", "work", clause, thing) if thing else None


def _study(m: re.Match[str], clause: str) -> Heard | None:
    thing = _thing(m.group("x"))
    return Heard("study", "study", clause, thing) if thing else None


def _date(subject: str) -> Callable[[re.Match[str], str], Heard | None]:
    def make(m: re.Match[str], clause: str) -> Heard | None:
        when = _thing(m.group("x"))
        if not when:
            return None
        who = _subject(m.group("rel")) if m.groupdict().get("rel") else ""
        full = f"{who} {subject}".strip()
        return Heard(full, f"{full}.date", clause, when)

    return make


def _favourite(m: re.Match[str], clause: str) -> Heard | None:
    what, thing = m.group("what").lower(), _thing(m.group("x"))
    what = FAVOURITE_SAME.get(what, what)
    if not thing:
        return None
    return Heard(f"favourite {what}", f"favourite:{what}", clause, thing)


def _taste(subject: str) -> Callable[[re.Match[str], str], Heard | None]:
    def make(m: re.Match[str], clause: str) -> Heard | None:
        thing = _thing(m.group("x"))
        if not thing or len(thing.split()) > 8:
            return None
        return Heard(subject, f"taste:{_slug(thing)}", clause, thing)

    return make


def _plan(m: re.Match[str], clause: str) -> Heard | None:
    rest = m.group("x")
    when = m.groupdict().get("when") or ""
    timed = when or re.search(
        r"\b(?:on|this|next|tomorrow|tonight|later|soon|in|at|for the|over the|the day after)"
        r"\b|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend)\b",
        rest,
        re.I,
    )
    trip = re.match(r"(?:flying|heading|driving|travell?ing|moving|taking a trip) to ",
                    rest, re.I)  # fmt: skip
    if not (timed or trip):
        return None
    capitals = [c.lower() for c in re.findall(r"(?-i:\b[A-Z][a-z]+)", rest)]
    places = [c for c in capitals if c not in DAYS and c not in MONTHS] if _cased(clause) else []
    core = re.split(r"\b(?:on|this|next|tomorrow|tonight|later|soon|at|for)\b", rest, maxsplit=1)[0]
    key = places[0] if places else _slug(re.sub(r"^\w+ (?:to )?", "", core)) or _slug(rest)
    value = f"{rest.strip(' ,.!?')} {when.strip(' ,')}".strip()
    return Heard("plans", f"plan:{key}", clause, value)


def _feeling(m: re.Match[str], clause: str) -> Heard | None:
    feeling = m.group("f").lower()
    if feeling in ("fine", "good", "ok", "okay", "great", "well", "alright"):
        return None
    return Heard("feelings", "feeling", clause, feeling)


_TIME_WORDS = r"(?:{})".format("|".join(MONTHS))
RULES: tuple[Rule, ...] = (
    # Names of people and pets.
    _rule(rf"^{_MINE} {_WHO}{_POSS}? name(?:'s| is| was) {_NAME}(?:[\s,].*)?$", _named),
    _rule(rf"^{_MINE} {_WHO}(?: is|'s|s)? (?:called|named) {_NAME}(?:[\s,].*)?$", _named),
    _rule(rf"^{_MINE} {_WHO} is {_NAME}$", _named),
    _rule(rf"^{_NAME}(?: is|'s) {_MINE} {_WHO}$", _named),
    _rule(
        rf"^i(?:'m| am)(?: happily)? (?:married to|engaged to|with|dating|going out with) {_NAME}$",
        lambda m, c: (
            Heard("partner", "partner.name", c, *[_name(m.group("name"), c)] * 2)
            if _name(m.group("name"), c)
            else None
        ),
    ),
    _rule(rf"^(?:i|we) call my {_WHO} {_NAME}$", _named),
    _rule(
        r"^(?:i|we)(?: have|'ve got| have got| got) (?:two|three|four) (?:\w+ )?" + _PET + r"s?,? "
        r"(?:called |named )?(?-i:(?P<names>[A-Z]\w+(?:(?:, | and )[A-Z]\w+)+))$",
        lambda m, c: Heard(
            _subject(m.group("pet")),
            f"{_subject(m.group('pet'))}.name",
            c,
            m.group("names"),
            m.group("names"),
        ),
    ),  # fmt: skip
    _rule(
        r"^(?:i|we)(?: have| have got|'ve got|'ve| got| adopted| just adopted| own| rescued)"
        rf" (?:a|an|one|two|three|\w+ little|\w+ )?(?:(?:little|new|young|old|big|small|black|"
        rf"white|ginger|grey|gray|tabby|rescue|fluffy|lazy) )*{_PET}"
        rf"(?:s)?(?:,? (?:called|named|whose name is|by the name of|and (?:his|her|its|their)"
        rf" name is|(?:his|her|its|their) name is) {_NAME})?(?:[\s,].*)?$",
        _has_pet,
    ),
    # Where people live and what they do.
    _rule(
        rf"^my {_REL}(?: and (?:her|his|their) \w+)? (?:now |still |currently |just )?"
        rf"(?:lives|is living|has moved|moved|lives over) (?:in|to) {_PLACE}",
        _lives,
    ),
    _rule(rf"^my {_REL} (?:works as|is) (?:a|an) {_REST}", _their_job),
    _rule(rf"^{_MINE} {_WHO} {_NAME} {_REST}", _named_then),
    # Dates.
    _rule(
        r"^my (?P<rel>[\w ]+?)['’]?s birthday(?:'s| is| falls)? (?:on )?(?P<x>.+)$",
        _date("birthday"),
    ),  # fmt: skip
    _rule(r"^my birthday(?:'s| is| falls)? (?:on |in )?(?P<x>.+)$", _date("birthday")),
    _rule(
        rf"^i was born on (?P<x>.+)$|^i was born in (?P<x2>{_TIME_WORDS}\b.*|\d{{4}}.*)$",
        lambda m, c: Heard("birthday", "birthday.date", c, m.group("x") or m.group("x2")),
    ),
    _rule(
        r"^(?:my|our) (?:wedding )?anniversary(?:'s| is)? (?:on |in )?(?P<x>.+)$",
        _date("anniversary"),
    ),  # fmt: skip
    # Home and origin.
    _rule(
        r"^(?:i|we)(?:'ve| have|'m| am|'re| are)?(?: been)? (?:now |currently |still |actually |"
        r"happily )?(?:live|lived|living|based|staying|reside|settled) in " + _PLACE,
        _home,
    ),
    _rule(
        r"^(?:i|we)(?:'ve| have) been in (?P<place>.+?) (?:for|since) ",
        _home,
    ),
    _rule(
        rf"^(?:i|we)(?:'ve| have)? (?:just |recently |finally )*(?:moved|relocated) to {_PLACE}",
        _home,
    ),  # fmt: skip
    _rule(rf"^(?:my )?home(?: for (?:me|us))?(?: is|'s| these days is) (?:in )?{_PLACE}", _home),
    _rule(rf"^(?:i|we) (?:now |currently )?live with [\w' ]+? in {_PLACE}", _home),
    _rule(
        r"^i(?:'m| am) (?:originally |actually |half )?(?-i:(?P<place>[A-Z][a-z]+(?:ian|ish|ese|"
        r"an|i|ch|ic)))$",
        _origin,
    ),
    _rule(
        r"^(?:i|we)(?:'m| am|'re| are) (?:originally |actually )?from " + _PLACE,
        _origin,
    ),
    _rule(rf"^i (?:originally )?come from {_PLACE}", _origin),
    _rule(
        rf"^i was (?:born and raised|born and bred|born|raised|brought up) in {_PLACE}",
        _origin,
    ),
    _rule(rf"^i grew up (?:in|on|near|around|outside|by) {_PLACE}", _origin),
    _rule(rf"^my (?:hometown|home town)(?: is|'s) {_PLACE}", _origin),
    # Work and study.
    _rule(
        r"^i(?:'m| am)? (?:studying|study|majoring in|major in|doing a (?:degree|phd|masters|"
        r"master's|course|diploma) in|reading|training to be|training as|learning to be) " + _REST,
        _study,
    ),
    _rule(
        r"^i(?:'m| am) (?:a |an )?(?:\w+ year )?(?:student|pupil|undergrad|undergraduate|"
        r"postgrad|phd student|grad student)(?: at| in| of| doing)? ?(?P<x>.*)$",
        lambda m, c: Heard("study", "study", c, _thing(m.group("x")) or "a student"),
    ),
    _rule(r"^i go to (?P<x>.*(?:school|university|college|uni))$", _study),
    _rule(
        r"^i(?: work|'m working| am working| have worked|'ve worked|'ve been working|"
        r" have been working) (?:as|at|for|in|from|nights|with) " + _REST,
        _work,
    ),
    _rule(r"^my (?:job|work|profession|career)(?: is|'s) (?:as )?" + _REST, _work),
    _rule(
        r"^i (?:do|make) (?P<x>.+?) for a living$|^i make (?:a|my) living (?:as|by) (?P<x2>.+)$",
        lambda m, c: Heard("work", "work", c, m.group("x") or m.group("x2")),
    ),  # fmt: skip
    _rule(r"^i(?:'m| am|'ve been|'ve| have been) (?:a|an) " + _REST, _work_as),
    _rule(r"^i (?:run|own|manage|teach|nurse|drive|fix|design|build) " + _REST, _work),
    _rule(
        r"^i do (?P<x>[\w ]+? (?:for|at) (?:a|an|the|my) (?:[\w-]+ ){0,2}(?:company|firm|agency|"
        r"bank|hospital|school|startup|start-up|business|charity|council|university|shop|store|"
        r"restaurant|studio|magazine|newspaper|team))\b",
        _work,
    ),
    _rule(
        r"^i(?:'m| am) in (?:my|the) (?:\w+ )?year (?:of|at|in) (?P<x>.+)$",
        _study,
    ),
    _rule(
        r"^i(?:'m| am) (?P<x>retired|unemployed|self-employed|self employed|between jobs|"
        r"out of work|a stay-at-home \w+|freelance|freelancing)",
        _work,
    ),
    # Likes and dislikes ("I don't like" is a dislike, not a negation).
    _rule(
        r"^my (?:fav(?:ou?rite)?) (?P<what>[\w ]+?) (?:is|are|has to be|'s) " + _REST, _favourite
    ),  # fmt: skip
    _rule(
        r"^i (?:really |absolutely |totally |just |kind of |kinda |honestly )?(?:hate|dislike|"
        r"loathe|detest|can't stand|cannot stand|don't like|do not like|can't bear|"
        r"don't enjoy|really don't like|don't care for|can't abide|am not keen on) " + _REST,
        _taste("dislikes"),
    ),
    _rule(
        r"^i(?:'m| am) not (?:a |really a |much of a |very |that |too |really |so )?(?:big )?"
        r"(?:fan of|into|keen on|big on|a fan of|fond of) " + _REST,
        _taste("dislikes"),
    ),  # fmt: skip
    _rule(
        r"^i (?:really |absolutely |totally |just |do |also |kind of |kinda |still )?"
        r"(?:love|like|enjoy|adore|dig) " + _REST,
        _taste("likes"),
    ),
    _rule(
        r"^i(?:'m| am) (?:really |totally |so |a bit |kind of |kinda |also )?(?:into|a (?:big |"
        r"huge )?fan of|obsessed with|crazy about|mad about|passionate about|hooked on) " + _REST,
        _taste("likes"),
    ),
    # Plans.
    _rule(
        r"^(?P<when>(?:(?:next|this|on|later|over the) \w+|tomorrow|tonight|at the weekend),? )?"
        r"(?:i|we)(?:'m| am|'re| are| will be|'ll be) (?P<x>(?:flying|going|heading|driving|"
        r"travell?ing|moving|off|taking|visiting|starting|seeing|having|meeting|getting|"
        r"leaving|running|doing|playing|hosting|throwing|cooking|catching|sitting|"
        r"celebrating|spending|in|at|away|back) .+)",
        _plan,
    ),
    _rule(
        r"^(?:i|we)(?: have|'ve got| have got| got) (?P<x>(?:a|an|my|our)\b.+)$",
        lambda m, c: _plan(m, c),
    ),
    # Age and allergies.
    _rule(
        r"^i(?:'m| am| just turned| turned) (?P<x>\d{1,3}|[a-z]+-[a-z]+|twenty|thirty|forty|"
        r"fifty|sixty|seventy|eighty|ninety)(?: years old| years of age)?$",
        lambda m, c: Heard("age", "age", c, m.group("x")),
    ),
    _rule(
        r"^i(?:'m| am)(?: very| really| quite| badly| seriously)? allergic to (?P<x>.+)$",
        lambda m, c: (
            Heard("allergies", f"allergy:{_slug(m.group('x'))}", c, _thing(m.group("x")))
            if _thing(m.group("x"))
            else None
        ),
    ),
    # Feelings worth following up.
    _rule(
        r"^i(?:'m| am|'ve been| have been| feel| felt| was|'m feeling| am feeling|"
        r"'ve been feeling| have been feeling)? (?:so |really |very |a bit |pretty |quite |"
        r"kind of |kinda |a little |super |totally |incredibly |feeling |pretty )*"
        r"(?P<f>" + "|".join(sorted(FEELINGS, key=len, reverse=True)) + r")\b(?P<x>.*)$",
        _feeling,
    ),
)

_THEY_LIVE = re.compile(
    r"^(?:she|he)(?:'s| is| has)? (?:now |still |currently |just )?(?:lives|living|moved|"
    r"relocated) (?:in|to) " + _PLACE,
    re.IGNORECASE,
)
_THEY_WORK = re.compile(r"^(?:she|he)(?:'s| is| works as) (?:a|an) " + _REST, re.IGNORECASE)


def about_them(clause: str, last: Heard | None) -> Heard | None:
    """ "she lives in Lisbon" about the person (or pet) mentioned just before."""
    if last is None or "." not in last.key:
        return None
    who, name = last.subject, last.name
    home = _THEY_LIVE.match(clause)
    if home and _place(home.group("place")):
        return Heard(who, f"{who}.home", clause, _place(home.group("place")), name)
    work = _THEY_WORK.match(clause)
    if work and _job(work.group("x")):
        return Heard(who, f"{who}.work", clause, _job(work.group("x")), name)
    return None
