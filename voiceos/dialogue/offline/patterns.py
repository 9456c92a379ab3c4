"""Statement shapes worth answering in kind: "I feel…", "I can't…", "my boss always…".

Each pattern captures part of what the user said as {x}; the brain turns it around
("my" -> "your") and fits it into a reply. Long captures use the plain lines instead,
because echoing a paragraph back sounds like a parrot.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from voiceos.dialogue.skills.text import wordset

logger = logging.getLogger(__name__)

MAX_ECHO_WORDS = 10


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    echo: tuple[str, ...]
    """Lines with {x}, the user's words turned around."""
    plain: tuple[str, ...]
    """Lines without {x}."""
    topic: str | None = None
    """A topic the pattern implies, when the words alone might not show it."""
    negative: bool = False
    """True when the pattern itself is negative ("I can't…"): a "not" does not turn it."""
    wins: bool = False
    """True when its lines fit better than any topic's ("I should get some sleep")."""


def _p(
    regex: str,
    echo: tuple[str, ...],
    plain: tuple[str, ...],
    topic: str | None = None,
    negative: bool = False,
    wins: bool = False,
) -> Pattern:
    return Pattern(re.compile(regex), echo, plain, topic, negative, wins)


COMPLIMENTS = wordset(
    "kind sweet funny lovely nice smart clever amazing great wonderful beautiful good helpful "
    "cute brilliant awesome cool interesting fun adorable thoughtful"
)
INSULTS = wordset(
    "stupid dumb useless annoying boring creepy weird rude wrong broken bad terrible awful "
    "pointless dull slow idiot idiotic lame"
)

PATTERNS: tuple[Pattern, ...] = (
    _p(
        r"^help(?: me)?\b|\bi need (?:some |your )?help\b|^can you help\b",
        (),
        ("I'll try. What's going on?", "Of course. Tell me what's happening."),
    ),
    _p(
        r"^(?:i'm|i am) (?:going to|gonna|planning to|about to|hoping to) (?P<x>.+)",
        ("You're going to {x}? How do you feel about it?", "What made you decide to {x}?"),
        ("That sounds like a plan. How do you feel about it?",),
        "plans",
    ),
    _p(
        r"^i (?:should|ought to|have to|need to|must|better|'d better|had better) (?:probably |"
        r"really |just )?(?:go|get some sleep|go to (?:bed|sleep)|sleep|head off|get going|"
        r"log off|get some rest|be going|get back to \w+)\b(?P<x>)",
        (),
        ("Of course. Look after yourself.", "Go on, then. I'll be here when you're back."),
        wins=True,
    ),
    _p(
        r"\bi (?:really )?(?:don't|do not) (?:want|wanna|feel like) (?:to )?(?:talk|talking|"
        r"go on|think) about (?:it|that|this|them|him|her)\b(?P<x>)",
        (),
        (
            "That's okay. We can talk about something else, or just keep each other company.",
            "All right. We don't have to. I'm here either way.",
        ),
        wins=True,
    ),
    _p(
        r"\bi (?:can't|cannot|couldn't|can not) (?:get to )?sleep\b(?P<x>)",
        (),
        (
            "Oh, that's rough. Is something on your mind, keeping you awake?",
            "That's horrible. What usually helps you settle?",
        ),
        "sleep",
        wins=True,
    ),
    _p(
        r"\bi(?:'m| am) (?:so |really |just |getting )?(?:tired|sick|fed up|weary) of "
        r"(?P<x>everything|it all|this|all of it|life)\b",
        (),
        (
            "That sounds exhausting. What's been wearing you down most?",
            "That's a lot to carry. What's weighing on you most?",
        ),
        "feelings",
        wins=True,
    ),
    _p(
        r"\bi(?: think i)?(?: could do with| could use| need| fancy| want|'d like| would like|"
        r"'d love| would love) (?P<x>(?:a|an|some|more) (?:\w+ ){0,2}(?:walk|air|sleep|rest|"
        r"break|holiday|coffee|tea|nap|bath|hug|time off|quiet|drink|change))\b",
        ("{X} sounds like a good idea. Has it been one of those days?",),
        ("That sounds like a good idea.",),
        wins=True,
    ),
    _p(
        r"\bi(?:'ve| have)? (?:been )?(?:trying|learning|starting|started|beginning|began) to "
        r"(?P<x>.+)",
        ("What made you want to {x}?", "How's it going so far?"),
        ("How's it going so far?",),
        wins=True,
    ),
    _p(
        r"\bi(?:'ve| have)? (?:been )?(?:learning|taking up|took up|started|practising|"
        r"practicing) (?P<x>.+)",
        (),
        ("How's it going so far?", "What got you started?"),
    ),
    _p(
        r"\bi (?:(?:dreamt|dreamed) (?:that |about )?|had (?:a|the|this|such a|the most) "
        r"(?:\w+ )?dream(?: about| that)? ?)(?P<x>.*)",
        ("You dreamt {x}? What do you make of it?", "How did it feel, dreaming {x}?"),
        ("What happened in it?", "How did you feel when you woke up?"),
        "dreams",
    ),
    _p(
        r"\bi(?:'m| am)? (?:a bit |really |so |very |quite |pretty |a little |kind of )?"
        r"(?:worried|worrying|anxious|nervous|scared) (?:about|of) (?P<x>.+)",
        ("What worries you most about {x}?", "What's the worst you imagine happening with {x}?"),
        ("What's the part that worries you most?",),
        "feelings",
    ),
    _p(
        r"\bi(?:'m| am|'ve been| have been)? (?:thinking|wondering) (?:about|of) (?P<x>.+)",
        ("What about {x} keeps coming back to you?", "What's got you thinking about {x}?"),
        ("What's got you thinking about it?",),
    ),
    _p(
        r"\bi (?:feel|'m feeling|am feeling|have been feeling|'ve been feeling|felt) (?P<x>.+)",
        ("You feel {x}. What do you think is behind that?", "When did you start feeling {x}?"),
        ("What do you think is behind that feeling?", "How long have you felt this way?"),
        "feelings",
    ),
    _p(
        r"\bi want you to (?P<x>.+)",
        ("I'll do my best. Why do you want me to {x}?",),
        ("I'll do my best. Tell me more?",),
    ),
    _p(
        r"\bi (?:really )?(?:want|would like|'d like) (?P<x>(?:a|an|some|more|my|the) .+)",
        ("What makes you want {x}?", "What would change if you had {x}?"),
        ("What would change if you got it?", "What's drawing you to it?"),
    ),
    _p(
        r"\bi wish (?P<x>.+)",
        ("What makes you wish {x}?", "If you could have that, what would be different?"),
        ("If you could have that, what would be different?",),
    ),
    _p(
        r"\bi (?:really |just )?need to (?P<x>.+)",
        ("What's stopping you?", "Then maybe now's the time. What would make it easier?"),
        ("What's stopping you?",),
    ),
    _p(
        r"\bi (?:really |just )?need (?P<x>(?:a|an|some|more) \w+(?: \w+)?)$",
        ("{X} sounds like a good idea. What's been going on?", "What would {x} give you?"),
        ("What would help most right now?",),
    ),
    _p(
        r"\bi (?:really )?(?:hate|can't stand|don't (?:really )?like|do not (?:really )?like|"
        r"dislike|despise|can't bear) (?P<x>.+)",
        ("What is it about {x} that gets to you?", "Has {x} always bothered you?"),
        ("What is it that gets to you?",),
        negative=True,
    ),
    _p(
        r"\bi (?:can't|cannot|can not|couldn't) (?P<x>.+)",
        ("What makes it hard to {x}?",),
        ("What makes it hard?", "What's in the way, do you think?"),
        negative=True,
    ),
    _p(
        r"\bi (?:think|believe|guess|suppose|reckon) (?:that )?(?P<x>.+)",
        ("What makes you think {x}?", "Do you really think {x}?"),
        ("What makes you think so?", "How sure are you?"),
    ),
    _p(
        r"\bi (?:really )?(?:love|adore) (?P<x>.+)",
        ("What do you love most about {x}?", "What is it about {x} that gets you?"),
        ("What do you love most about it?",),
    ),
    _p(
        r"\bi (?:really )?(?:like|enjoy|'m into|am into) (?P<x>.+)",
        ("What do you enjoy about {x}?", "How did you get into {x}?"),
        ("What do you enjoy about it?",),
    ),
    _p(
        r"\bi miss (?P<x>.+)",
        ("What do you miss most about {x}?",),
        ("What do you miss most?",),
        "loneliness",
    ),
    _p(
        r"\bi(?:'ve| have)? had (?P<x>(?:a|an|such a|the|the most) \w+.*)",
        ("{X}? Tell me about it.",),
        ("What happened?", "Tell me about it."),
    ),
    _p(
        r"^(?P<x>(?:he|she|they) (?!are\b|were\b|is\b|was\b)\w+.*)",
        (),
        ("How do you feel about that?", "And how is that for you?"),
    ),
    _p(
        r"\bi (?:remember|used to) (?P<x>.+)",
        ("What made you think of that now?", "Do you miss it?"),
        ("What made you think of that now?",),
    ),
    _p(
        r"^my (?P<x>\w+ (?!and\b|or\b|but\b)(?!(?:is|was|are|were) (?:called|named)\b)\w+\b.*)",
        (),
        ("How do you feel about that?", "How does that sit with you?"),
    ),
    _p(
        r"^(?:i'm|i am) (?P<x>(?:\w+ ){0,2}\w+)$",
        ("You're {x}? Tell me more about that.", "{X}? What's that like?"),
        ("Tell me more about that.",),
    ),
    _p(
        r"\b(?:because|cause|cos) (?P<x>.+)",
        ("Is that the whole reason?", "And does that explain all of it?"),
        ("Is that the whole reason?",),
    ),
    _p(
        r"^should i (?P<x>.+)",
        (
            "What does your gut say about whether to {x}?",
            "What would you tell a friend who asked that?",
        ),
        ("What does your gut say?",),
    ),
    _p(
        r"\bwhat (?:do you think|is your opinion|are your thoughts) (?:about|of|on) (?P<x>.+)",
        ("I'm still making up my mind about {x}. What do you think?",),
        ("I'm still making up my mind. What do you think?",),
    ),
    _p(
        r"^do you (?P<x>.+)",
        ("I'm not sure I {x} the way you do. Do you?", "Do I {x}? I'm still finding out."),
        ("I'm still finding that out about myself. What about you?",),
    ),
    _p(
        r"^(?:why|how come) (?P<x>.+)",
        ("That's a good question. What do you think?", "I wonder that too. What's your guess?"),
        ("That's a good question. What do you think?",),
    ),
    _p(
        r"^(?:can|could|would|will) you (?P<x>.+)",
        (),
        (
            "I'm not sure I can do that from here, but I'd like to try. What did you have in mind?",
            "I'll do what I can with words. Tell me a bit more about what you need?",
        ),
    ),
)

_KNOWLEDGE = re.compile(
    r"^(?:what|who|where|when|which|whose)\b|^how (?:many|much|far|tall|big|old|long|do|does|"
    r"did)\b|"
    r"^(?:is|are|was|were|does|did) (?!you\b|i\b)"
)
_WONDER = re.compile(
    r"^what(?:'s| is) (?:love|life|the meaning of life|happiness|consciousness|time|death|"
    r"a soul|beauty|friendship|the point)\b"
)


_TRAILING = re.compile(
    r"(?:(?:^|\s+)(?:honestly|really|actually|though|anyway|lately|i guess|i think|you know|"
    r"to be honest|lol|too|either|tonight|today|right now|this morning|this evening|"
    r"at the moment|these days|again|recently|any ?more|at all|so much|a lot|now|last night|"
    r"yesterday|this week|last week))+$"
)
_CUT = re.compile(
    r"\s+(?:especially|because|but|and then|and|so|when|since|which|although|though|while|"
    r"if|cause|cos|like|except|unless|until|whereas|or)\b.*$"
)
_NOT = re.compile(r"\b(?:not|never|don't|do not|didn't|no longer|hardly|isn't|wasn't)\b")
ASKING_ME = re.compile(r"^(?:do|are|have|can|could|would|will|did|were) you\b")
"""A question to the companion herself, which topics should not take over."""


@dataclass(frozen=True)
class Match:
    pattern: Pattern
    captured: str
    negated: bool = False
    """A "not" or "never" before the captured words: echoing them would say the opposite."""


def match(text: str) -> Match | None:
    """The first pattern that fits normalised `text`; the capture ends before a new clause."""
    for pattern in PATTERNS:
        found = pattern.regex.search(text)
        if found:
            whole = found.groupdict().get("x") or ""
            captured = _TRAILING.sub("", _CUT.sub("", whole)).strip()
            before = text[: found.start("x")] if "x" in found.groupdict() else text
            negated = not pattern.negative and bool(_NOT.search(before))
            negated = negated or bool(_NOT.match(captured))
            return Match(pattern, captured, negated)
    return None


NEGATED = re.compile(r"\b(?:not|never|don't|didn't|no|isn't|wasn't|can't|won't)\b")
_ASKED = re.compile(
    r"^(?:what|where|who|whom|whose|when|which|why|how|do|does|did|is|are|am|was|were|have|"
    r"has|can|could|would|will|should|shall)\b"
)


def is_question(text: str) -> bool:
    """Normalised text that starts like a question."""
    return bool(_ASKED.match(text))


_PERSONAL = re.compile(r"\b(?:i|i'm|i've|me|my|we|our|us|you|your|you're)\b")


def is_knowledge_question(text: str) -> bool:
    """A question about the world, which needs the internet or a bigger brain."""
    return bool(_KNOWLEDGE.search(text)) and not _WONDER.search(text) and not is_personal(text)


def is_personal(text: str) -> bool:
    """Mentions the user or the companion: no lookup would answer it."""
    return bool(_PERSONAL.search(text))


def is_wondering(text: str) -> bool:
    """A big question worth wondering about together ("what is love")."""
    return bool(_WONDER.search(text))
