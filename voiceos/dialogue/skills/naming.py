"""Putting a misheard name right: "no, it's Theodore", "it's spelled T H E O D O R E".

Speech recognition gets unusual names wrong ("the Adora" for "Theodore"), and voiceos
then greets the user by the wrong one. A correction replaces the stored name, which the
recogniser is then given as a hint, so it is heard right from then on.

"No, it's …" is only a correction right after a turn about the name; "no, my name is …",
"that's not my name, it's …" and spelling it out are corrections at any time. A plain
first "my name is …" is left to the remembering skill.
"""

from __future__ import annotations

import logging
import re

from voiceos.dialogue.skills.base import Said, SkillContext, SkillReply
from voiceos.dialogue.skills.remembering import NOT_NAMES, title_name
from voiceos.dialogue.skills.text import wordset

logger = logging.getLogger(__name__)

_SPELLED = re.compile(
    r"^(?:no\s+|actually\s+|sorry\s+)?(?:(?:my name|it|that|the name)(?:'s| is)?\s+)?"
    r"(?:spelled|spelt|spelling is|spelled out|spelt out)\s+(?:like\s+|as\s+)?(?P<letters>.+)$|"
    r"^(?:let me spell it|i'll spell it|i will spell it)\s+(?P<letters2>.+)$"
)
_CORRECTION = re.compile(
    r"^(?:(?:no|nope|not quite|nearly|almost|close|actually|sorry|oh)\s+)*"
    r"(?:(?:my name is not|my name isn't|my name's not|that's not my name|that isn't my name|"
    r"that is not my name|it's not|it isn't|it is not|not)\s+(?:\w+\s+){0,2}?)?"
    r"(?:(?:you got my name wrong|you misheard(?: me| my name)?|you've got it wrong)\s+)?"
    r"(?:it's|it is|its|i'm|i am|i said|my name is|my name's|call me|the name is|that's)\s+"
    r"(?P<name>[\w'-]+(?:\s+[\w'-]+)?)(?:\s+not\s+[\w' -]+)?$"
)
_CORRECTING = re.compile(
    r"^(?:no|nope|not quite|nearly|almost|close|actually|sorry)\b|\bnot\b|\bisn't\b|"
    r"\bwrong\b|\bmisheard\b|^i said\b"
)
_ABOUT_NAME = re.compile(r"\bmy name\b|\bwrong name\b|\bmisheard me\b|\bmisheard my\b")
_NOT_A_NAME = wordset("right correct wrong it me perfect true lovely nice cool exactly it's")
_LETTER_RUN = re.compile(r"^[a-z](?:[\s.,-]+[a-z]){1,23}$")


def _letters(text: str) -> str | None:
    """ "t h e o d o r e" / "t-h-e-o-d-o-r-e" / "theodore" -> "theodore"; None if not a name."""
    text = text.strip(" .,!?")
    if _LETTER_RUN.match(text):
        return re.sub(r"[^a-z]", "", text)
    words = text.split()
    if len(words) == 1 and words[0].isalpha() and 2 <= len(words[0]) <= 20:
        return words[0]
    return None


def correct_name(said: Said, ctx: SkillContext) -> SkillReply | None:
    """A correction of the user's name, stored; None when `said` is not one."""
    spelled = _SPELLED.match(said.text)
    if spelled:
        letters = _letters(spelled["letters"] or spelled["letters2"] or "")
        if letters is None:
            return None
        return _store(title_name([letters]), ctx, spelled=True)
    if ctx.last_skill == "name" and _LETTER_RUN.match(said.text):
        return _store(title_name([re.sub(r"[^a-z]", "", said.text)]), ctx, spelled=True)
    found = _CORRECTION.match(said.text)
    if not found or not _CORRECTING.search(said.text):
        return None
    if ctx.last_skill != "name" and not _ABOUT_NAME.search(said.text):
        return None
    words = found["name"].split()
    if any(w in NOT_NAMES or w in _NOT_A_NAME or not w.replace("'", "").isalpha() for w in words):
        return None
    typed = re.search(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b", said.raw, re.I)
    name = typed.group(0) if typed and typed.group(0)[:1].isupper() else title_name(words)
    return _store(name, ctx, spelled=False)


def _store(name: str, ctx: SkillContext, spelled: bool) -> SkillReply:
    old = ctx.set_name(name)
    logger.info("the user's name was corrected")
    if old and old.lower() == name.lower():
        return SkillReply(f"{name}. That's what I have. I'll keep it that way.", "name")
    if spelled:
        return SkillReply(f"{name}. Thank you for spelling it. I've got it right now.", "name")
    line = ctx.say.pick(
        (
            "Sorry about that, {n}. I've got it right now.",
            "{n}. Sorry, I misheard. I won't again.",
            "Oh, {n}. Thank you for correcting me.",
        )
    )
    return SkillReply(line.format(n=name), "name")
