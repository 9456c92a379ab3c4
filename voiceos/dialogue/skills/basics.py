"""Skills that need nothing but a clock: stop, goodbye, the time, the date and help."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from voiceos.dialogue.skills.base import Said, SkillContext, SkillReply
from voiceos.types import Action

logger = logging.getLogger(__name__)

# Whole-utterance matches only: "I can't stop thinking about her" is not a command.
_STOP = re.compile(
    r"^(?:(?:ok|okay|alright|no|hey)\s+)?(?:(?:stop(?: it| that| talking| speaking| now)?|"
    r"be quiet|quiet(?: down)?|shush|sh+|hush|shut up|that's enough|enough|silence|be silent|"
    r"pipe down|zip it)\s*)+$"
)
_WAIT = re.compile(
    r"^(?:(?:ok|okay|no|hey|oh|um)\s+)?(?:(?:(?:hold on|hang on|wait|wait up|just|give me)"
    r"(?: (?:a|one) (?:sec|second|moment|minute))?|one (?:sec|second|moment|minute)|"
    r"a (?:sec|second|moment|minute)|let me think)\s*)+$"
)
_BYE = re.compile(
    r"^(?:(?:ok|okay|alright|well|thanks|thank you|right)\s+)*(?:good ?bye|bye(?: bye)?|"
    r"good ?night|night night|see you(?: later| tomorrow| soon| then)?|see ya|"
    r"talk to you (?:later|tomorrow|soon)|talk (?:later|soon|tomorrow)|"
    r"that's all(?: for (?:now|today))?|"
    r"i (?:have|need|'ve got) to go(?: now)?|i gotta go|i'm off|i'm going to (?:bed|sleep)|"
    r"farewell|catch you later|later|cheerio|ciao|so long|we're done|end (?:the )?conversation)"
    r"(?:\s+(?:for now|then|now|for today|bye))*$"
)
_TIME = re.compile(
    r"\bwhat time is it\b|\bwhat time it is\b|\bwhat's the time\b|\bwhat is the time\b|"
    r"\b(?:tell|give) me the time\b|\b(?:know|have|got) the time\b|^(?:the )?time(?: now)?$|"
    r"\bcurrent time\b|\bwhat's the time now\b|\bhow late is it\b"
)
_DATE = re.compile(
    r"\bwhat(?:'s| is) (?:the date|today's date|the day)\b|\bwhat(?:'s| is) today$|"
    r"\bwhat date is it\b|"
    r"\bwhat day (?:is it|is today|it is|of the week|is tomorrow|was yesterday)\b|"
    r"\bwhich day is it\b|\bwhat(?:'s| is) (?:the )?date (?:today|tomorrow)\b|"
    r"^(?:the |today's )?date(?: today)?$|\bwhat (?:year|month) is it\b|"
    r"\bwhat(?:'s| is) tomorrow's date\b|\bwhat(?:'s| is) tomorrow$"
)
_HELP = re.compile(
    r"^help(?: me)?$|\bwhat can you do\b|\bwhat (?:can|should) i (?:say|ask)\b|"
    r"\bwhat are you able to do\b|\bwhat do you do\b|"
    r"\bhow do(?:es)? (?:i use )?(?:you|this) work\b|"
    r"\bwhat (?:are your |)(?:commands|skills)\b|\bhow do i use you\b"
)

_PERIODS = (
    (5, "at night"),
    (12, "in the morning"),
    (17, "in the afternoon"),
    (21, "in the evening"),
)


def speak_time(now: datetime) -> str:
    """15:07 -> "3:07 in the afternoon"; exact noon and midnight by name."""
    if now.minute == 0 and now.hour in (0, 12):
        return "midnight" if now.hour == 0 else "noon"
    hour = now.hour % 12 or 12
    clock = f"{hour} o'clock" if now.minute == 0 else f"{hour}:{now.minute:02d}"
    period = next((p for end, p in _PERIODS if now.hour < end), "at night")
    return f"{clock} {period}"


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def speak_date(day: datetime) -> str:
    """-> "Tuesday, the 25th of November, 2025"."""
    return f"{day:%A}, the {ordinal(day.day)} of {day:%B}, {day.year}"


def asks_for_silence(text: str) -> bool:
    """Whether `text` (normalised, fillers stripped) asks her to stop and say nothing."""
    return _STOP.match(text) is not None


def stop(said: Said, ctx: SkillContext) -> SkillReply | None:
    if asks_for_silence(said.text):
        return SkillReply("", "stop", Action.STOP)
    if _WAIT.match(said.text):
        # Stop talking, and say that she is waiting: silence would sound like not hearing.
        line = ctx.say.pick(("I'm listening.", "Take your time.", "Mm-hm. I'm here."))
        return SkillReply(line, "stop", Action.STOP)
    return None


def goodbye(said: Said, ctx: SkillContext) -> SkillReply | None:
    if not _BYE.match(said.text):
        return None
    line = ctx.say.pick(ctx.persona.farewells)
    name = ctx.name()
    if name and ctx.say.rng.random() < 0.4:
        line = f"{line.rstrip('.!')}, {name}."
    return SkillReply(line, "goodbye", Action.END)


def clock(said: Said, ctx: SkillContext) -> SkillReply | None:
    text = said.text
    now = ctx.clock()
    if _TIME.search(text):
        where = re.search(r"\btime(?: is it)? in ([a-z][a-z ]+)$", text)
        if where:
            return SkillReply(
                f"I only know the time here, and it's {speak_time(now)}. "
                f"I can't check {where.group(1).title()} while I'm offline.",
                "time",
            )
        lead = ctx.say.pick(("It's {t}.", "It's {t} right now.", "Right now it's {t}."))
        return SkillReply(lead.format(t=speak_time(now)), "time")
    if not _DATE.search(text):
        return None
    if "tomorrow" in text:
        day, when = now + timedelta(days=1), "Tomorrow is"
    elif "yesterday" in text:
        day, when = now - timedelta(days=1), "Yesterday was"
    else:
        day, when = now, ctx.say.pick(("Today is", "It's"))
    if re.search(r"\bwhat year\b", text):
        return SkillReply(f"It's {day.year}.", "date")
    if re.search(r"\bwhat month\b", text):
        return SkillReply(f"It's {day:%B}.", "date")
    if re.search(r"\bwhat day\b|\bthe day\b|\bwhich day\b", text):
        return SkillReply(f"{when} {day:%A}, the {ordinal(day.day)}.", "date")
    return SkillReply(f"{when} {speak_date(day)}.", "date")


def help_(said: Said, ctx: SkillContext) -> SkillReply | None:
    if not _HELP.search(said.text):
        return None
    memory = (
        "I can remember things you tell me, like your name, and forget them when you ask. "
        if ctx.memory is not None
        else "My long-term memory is switched off, but I'll keep your name for today. "
    )
    return SkillReply(
        "I can tell you the time or the date. "
        + memory
        + "I can speak slower, faster, louder or softer, or try another accent. "
        "Say stop and I'll be quiet, or goodbye when you're done. "
        + ctx.say.pick(("Or we can just talk.", "Mostly, though, I like to talk.")),
        "help",
    )
