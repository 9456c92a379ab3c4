"""Voice skills: speed, loudness, accent and engine by asking, and saying what they are now.

Every change goes through VoiceControl.update, which validates and persists it; values
are clamped here first, so no request ("set volume to 1000") can leave the allowed range.
"""

from __future__ import annotations

import logging
import re

from voiceos.config import RULES, ConfigError
from voiceos.dialogue.skills.base import Said, SkillContext, SkillReply
from voiceos.dialogue.skills.text import numbers_in, wordset
from voiceos.speak.voices import ACCENTS, resolve_voice, split_variant

logger = logging.getLogger(__name__)

RATE_MIN = int(RULES["voice.rate_wpm"].low or 80)
RATE_MAX = int(RULES["voice.rate_wpm"].high or 400)
VOLUME_MIN = 0.1
"""Quieter than the config allows by voice, so a spoken "softer" can never mute her."""
VOLUME_MAX = float(RULES["voice.volume"].high or 1.0)
RATE_STEPS = {"small": 10, "normal": 25, "big": 50}
VOLUME_STEPS = {"small": 0.05, "normal": 0.1, "big": 0.25}

_SMALL = re.compile(
    r"\b(?:a (?:little|tiny|wee)(?: bit)?|a (?:bit|tad|touch|smidge)|slightly|little)\b"
)
_BIG = re.compile(r"\b(?:much|a lot|lots|way|far|a whole lot|really|so much|heaps)\b")
_SLOWER = re.compile(
    r"\b(?:slower|more slowly|slow down|too fast|too quick(?:ly)?|less fast|not so fast)\b|"
    r"\b(?:speak|talk|read|go)\b.*\bslowly\b"
)
_FASTER = re.compile(
    r"\b(?:faster|quicker|more quickly|speed up|too slow(?:ly)?|hurry up|pick up the pace)\b|"
    r"\b(?:speak|talk|read|go)\b.*\b(?:quickly|fast)$"
)
_LOUDER = re.compile(
    r"\b(?:louder|more loudly|speak up|volume up|raise your voice|too quiet(?:ly)?|too soft(?:ly)?|"
    r"can't hear you|cannot hear you|turn (?:it |yourself |the volume |your volume )?up|"
    r"(?:increase|raise) (?:the |your )?volume)\b|\b(?:speak|talk)\b.*\bloud(?:ly|er)?$"
)
_SOFTER = re.compile(
    r"\b(?:quieter|softer|more quietly|more softly|volume down|lower your voice|too loud(?:ly)?|"
    r"not so loud|less loud|tone it down|turn (?:it |yourself |the volume |your volume )?down|"
    r"(?:decrease|lower|reduce) (?:the |your )?volume)\b|"
    r"\b(?:speak|talk)\b.*\b(?:quietly|softly)\b"
)
_RATE_TO = re.compile(r"\bwords? (?:per|a|an|each) minute\b|\b(?:rate|speed|pace|wpm)\b")
_VOLUME_TO = re.compile(
    r"\b(?:set|turn|change|make|put|bring)\b.*\bvolume\b|"
    r"\bvolume(?: (?:to|at|level|of))? \S+(?: percent)?$|\bpercent volume\b"
)
_ASK_VOICE = re.compile(
    r"\bwhat (?:voice|accent)\b|\bwhich (?:voice|accent)\b|\bwhat(?:'s| is) your (?:voice|accent)\b"
    r"|\bwho(?:se)? voice is this\b"
)
_ASK_VOICES = re.compile(
    r"\bwhat (?:other )?(?:voices|accents) (?:do you have|can you do|are there|have you got)\b|"
    r"\b(?:list|show me) (?:the |your )?(?:voices|accents)\b|\bwhich (?:voices|accents)\b"
)
_ASK_RATE = re.compile(
    r"\bhow fast (?:are you|do you|you're|you are|is your)\b|\bhow quickly do you\b|"
    r"\bwhat(?:'s| is) your (?:speaking |talking )?(?:rate|speed|pace)\b"
)
_ASK_VOLUME = re.compile(
    r"\bhow loud (?:are you|is your|do you)\b|\bwhat(?:'s| is) (?:your|the) volume\b"
)
_ACCENT = re.compile(
    r"\b(?:use|switch to|change to|try|give me|put on|do|speak (?:with|in|like)|"
    r"talk (?:with|in|like)|sound(?: like)?|change your (?:voice|accent) to|"
    r"set (?:your |the )?(?:voice|accent) to)\s+"
    r"(?:an?\s+|the\s+|your\s+|my\s+)?(?P<q>[a-z0-9+/ -]+?)\s*(?:voice|accent|english)?$"
)
_RESET = re.compile(
    r"\b(?:normal|usual|default|regular|own|original)\b.*\b(?:voice|accent|speed|pace|rate)\b|"
    r"\breset (?:your )?voice\b"
)
_NATURAL = re.compile(
    r"\b(?:natural|neural|realistic|human(?:-like)?|human sounding|piper|real)\s+voice\b"
)
_OLD_ENGINE = re.compile(
    r"\b(?:old|older|previous|former|robot|robotic|espeak|classic|first)\s+voice\b"
)
_NEW_VOICE = re.compile(r"\b(?:different|another|new|other) (?:voice|accent)\b|^change your voice$")
# Statements about the world, not requests: "time goes faster when you're having fun".
_NOT_ABOUT_ME = wordset("time days years weeks life car heart world goes went gone run ran grows")
_ABOUT_ME = wordset("speak talk say read voice volume rate speed pace you your yourself you're it")


def _addressed(said: Said) -> bool:
    words = set(said.words)
    if words & _NOT_ABOUT_ME:
        return False
    return bool(words & _ABOUT_ME) or len(said.words) <= 4


def _step(text: str) -> str:
    return "small" if _SMALL.search(text) else "big" if _BIG.search(text) else "normal"


def _update(ctx: SkillContext, **change: object) -> bool:
    try:
        ctx.voice.update(**change)  # type: ignore[arg-type]
    except ConfigError as exc:
        logger.warning("voice change %s refused: %s", change, exc)
        return False
    return True


def _refused(ctx: SkillContext) -> SkillReply:
    return SkillReply(
        ctx.say.pick(
            (
                "Hmm, that didn't work. I'll stay as I am for now.",
                "I couldn't change that, sorry. I'm still sounding the same.",
            )
        ),
        "voice",
    )


def _set_rate(ctx: SkillContext, target: float, slower: bool, asked: bool = False) -> SkillReply:
    now = ctx.voice.current().rate_wpm
    rate = int(round(min(max(target, RATE_MIN), RATE_MAX)))
    edge = "as slow" if rate == RATE_MIN else "as fast"
    if rate == now and target != now:
        return SkillReply(f"That's {edge} as I go.", "voice")
    if not _update(ctx, rate_wpm=rate):
        return _refused(ctx)
    if rate != int(round(target)) and not asked:
        return SkillReply(f"That's {edge} as I go.", "voice")
    if rate != int(round(target)):
        return SkillReply(
            f"The {'slowest' if rate == RATE_MIN else 'fastest'} I can go is {rate} words a minute,"
            " so that's what you're getting.",
            "voice",
        )
    if asked:
        return SkillReply(f"Okay, {rate} words a minute. How's this?", "voice")
    lines = (
        ("Okay, slowing down. Is this better?", "Sure. I'll take my time.", "Slower it is. Better?")
        if slower
        else ("Okay, picking up the pace.", "Sure, a bit quicker now.", "Faster it is. How's this?")
    )
    return SkillReply(ctx.say.pick(lines), "voice")


def _set_volume(ctx: SkillContext, target: float, softer: bool) -> SkillReply:
    now = ctx.voice.current().volume
    volume = round(min(max(target, VOLUME_MIN), VOLUME_MAX), 2)
    if abs(volume - now) < 0.005:
        edge = "as quiet" if softer else "as loud"
        return SkillReply(f"That's {edge} as I go.", "voice")
    if not _update(ctx, volume=volume):
        return _refused(ctx)
    if abs(volume - target) > 0.005:
        edge = "as quiet" if volume <= VOLUME_MIN else "as loud"
        return SkillReply(f"That's {edge} as I go.", "voice")
    lines = (
        ("Okay, I'll speak more softly.", "Is this better?", "Quieter now.")
        if softer
        else ("Okay, a little louder.", "How's this?", "Can you hear me better now?")
    )
    return SkillReply(ctx.say.pick(lines), "voice")


def _volume_from(value: float, percent: bool) -> float:
    """Spoken volumes: "50 percent", "0.5", or "7" on a scale of ten."""
    if percent or value > 10:
        return value / 100
    return value if value <= 1 else value / 10


def _accent_names() -> dict[str, str]:
    """Voice id -> the first accent word for it ("en-gb-x-rp" -> "british")."""
    names: dict[str, str] = {}
    for name, vid in ACCENTS.items():
        if len(name) > 2:  # "uk", "us" read badly in a sentence
            names.setdefault(vid, name)
    return names


def _accent_name(voice_id: str) -> str | None:
    return _accent_names().get(split_variant(voice_id)[0])


def _set_engine(ctx: SkillContext, engine: str) -> SkillReply:
    natural = engine == "piper"
    if ctx.voice.current().engine == engine:
        what = "my natural voice" if natural else "my old voice"
        return SkillReply(f"This is {what} already.", "voice")
    try:
        ctx.voice.update(engine=engine)
    except ConfigError as exc:
        logger.warning("engine change to %s refused: %s", engine, exc)
        if natural:
            return SkillReply(
                "My natural voice isn't available here, so I'll keep this one for now.", "voice"
            )
        return _refused(ctx)
    if natural:
        return SkillReply(
            ctx.say.pick(
                ("Okay. This is my natural voice.", "Here's my natural voice. How's this?")
            ),
            "voice",
        )
    return SkillReply("Okay, back to my old voice.", "voice")


def describe(ctx: SkillContext) -> SkillReply:
    now = ctx.voice.current()
    accent = _accent_name(now.voice)
    what = f"my {accent.title()} voice" if accent else f"the voice called {now.voice}"
    if now.engine == "piper":
        what = "my natural voice"
    return SkillReply(
        f"This is {what}, at about {now.rate_wpm} words a minute"
        f" and {round(now.volume * 100)} percent volume.",
        "voice",
    )


def _offered(ctx: SkillContext) -> list[str]:
    ids = {i.lower() for i in ctx.voice.voice_ids()}
    return sorted(name.title() for vid, name in _accent_names().items() if vid in ids)


def _use_voice(ctx: SkillContext, query: str) -> SkillReply | None:
    current = ctx.voice.current().voice
    if _NEW_VOICE.search(query):
        offered = [ACCENTS[n.lower()] for n in _offered(ctx)]  # ids, in a stable order
        base, _ = split_variant(current)
        later = [v for v in offered if v != base]
        target: str | None = later[ctx.say.rng.randrange(len(later))] if later else None
    else:
        target = resolve_voice(query, ctx.voice.voice_ids())
    if target is None:
        choices = ", ".join(_offered(ctx)) or "only this one"
        return SkillReply(f"I don't have a voice like that. I can do {choices}.", "voice")
    _, variant = split_variant(current)
    # espeak-ng's accents: asking for one leaves the natural (Piper) voice.
    engine = {"engine": "pyttsx3"} if ctx.voice.current().engine != "pyttsx3" else {}
    if split_variant(target)[0] == split_variant(current)[0] and not engine:
        return SkillReply("That's the voice I'm using already.", "voice")
    if not (
        (variant and _update(ctx, voice=f"{target}+{variant}", **engine))
        or _update(ctx, voice=target, **engine)
    ):
        return _refused(ctx)
    accent = _accent_name(target)
    if not accent:
        return SkillReply(ctx.say.pick(("How do I sound now?", "Okay. Is this better?")), "voice")
    lead = ctx.say.pick(("Alright,", "Okay,", "Sure,"))
    return SkillReply(f"{lead} my {accent.title()} voice. How do I sound?", "voice")


def handle(said: Said, ctx: SkillContext) -> SkillReply | None:
    text = said.text
    if _ASK_VOICES.search(text):
        return SkillReply(f"I can speak with these accents: {', '.join(_offered(ctx))}.", "voice")
    if _ASK_RATE.search(text):
        return SkillReply(f"About {ctx.voice.current().rate_wpm} words a minute.", "voice")
    if _ASK_VOLUME.search(text):
        return SkillReply(f"I'm at {round(ctx.voice.current().volume * 100)} percent.", "voice")
    if _ASK_VOICE.search(text) and not _ACCENT.search(text):
        return describe(ctx)
    if _NATURAL.search(text) and _addressed(said):
        return _set_engine(ctx, "piper")
    if _OLD_ENGINE.search(text) and _addressed(said):
        return _set_engine(ctx, "pyttsx3")
    if _RESET.search(text) and _addressed(said):
        wants_voice = not re.search(r"\b(?:speed|pace|rate)\b", text)
        changes: dict[str, object] = {"rate_wpm": ctx.persona.rate_wpm}
        if wants_voice and ctx.persona.voice:
            changes["voice"] = ctx.persona.voice
        if wants_voice and ctx.persona.engine:
            changes["engine"] = ctx.persona.engine
        if not _update(ctx, **changes):
            return _refused(ctx)
        return SkillReply("Okay, back to my usual self.", "voice")
    numbers = numbers_in(text)
    if numbers and _RATE_TO.search(text) and _addressed(said):
        target = numbers[-1]
        return _set_rate(ctx, target, target < ctx.voice.current().rate_wpm, asked=True)
    if numbers and _VOLUME_TO.search(text):
        target = _volume_from(numbers[-1], "percent" in text)
        return _set_volume(ctx, target, target < ctx.voice.current().volume)
    if re.search(r"\b(?:max|maximum|full) volume\b|\bvolume (?:to )?(?:max|maximum|full)\b", text):
        return _set_volume(ctx, VOLUME_MAX, softer=False)
    if _addressed(said):
        now = ctx.voice.current()
        for pattern, sign in ((_SLOWER, -1), (_FASTER, 1)):
            if pattern.search(text):
                return _set_rate(ctx, now.rate_wpm + sign * RATE_STEPS[_step(text)], sign < 0)
        for pattern, sign in ((_SOFTER, -1), (_LOUDER, 1)):
            if pattern.search(text):
                return _set_volume(ctx, now.volume + sign * VOLUME_STEPS[_step(text)], sign < 0)
    if _NEW_VOICE.search(text):
        return _use_voice(ctx, text)
    accent = _ACCENT.search(text)
    if not accent or re.match(r"(?:you|i|we|it|that|this)\b", accent.group("q")):
        return None
    query = accent.group("q").strip()
    named = re.search(r"\b(?:voice|accent)\b", text) is not None
    if named or (query in ACCENTS and query != "english"):
        return _use_voice(ctx, query)
    return None
