"""Memory skills: the user's name, "remember that…", "what did I tell you about…", "forget…".

"Forget everything" asks once before wiping: one misheard sentence from a television
should not erase months of memories. The next turn answers; anything but a yes keeps it.
"""

from __future__ import annotations

import logging
import re

from voiceos.dialogue import asking, vocab
from voiceos.dialogue.capture import Heard, hear
from voiceos.dialogue.memory import Fact, Memory
from voiceos.dialogue.skills.base import Said, SkillContext, SkillReply
from voiceos.dialogue.skills.text import reflect, wordset

logger = logging.getLogger(__name__)

_NAME_IS = re.compile(
    r"^(?:(?:hi|hello|hey)(?: there)?\s+)?(?:remember (?:that )?)?(?:my name is|my name's|"
    r"call me|you can call me|please call me|i'm called|i am called|the name's|"
    r"my friends call me|everyone calls me|i go by)\s+(?P<name>.+)$"
)
_I_AM = re.compile(
    r"^(?:(?:hi|hello|hey)(?: there)?\s+)?(?:i'm|i am\b|this is\b(?=.*\b(?:here|speaking)$))"
    r"\s*(?P<name>.+?)(?:\s+(?:here|speaking|by the way))?$"
)
_TRAILING = re.compile(r"\s+(?:by the way|actually|now|from now on|instead|please|then|ok|okay)$")
# Words people say after "I'm" / "call me" that are not names.
NOT_NAMES = wordset(
    """a an the not no so very too just really quite also still always never here there back
    home out off up down over in on at from with about your my his her our their this that it
    fine good ok okay great well alright sorry sure tired sad happy bored busy hungry thirsty
    sick ill lonely excited nervous worried scared afraid angry upset stressed exhausted sleepy
    awake cold hot warm lost confused curious glad free late early ready done new old alive
    better worse married single divorced pregnant serious kidding joking listening trying
    thinking going doing feeling working leaving staying coming back later tomorrow crazy
    anything something nothing everything someone nobody anybody everybody one two three
    maybe what who why how when where if because but and or okay yes yeah nope hello hi hey
    me you him them us monday tuesday wednesday thursday friday saturday sunday
    human person man woman boy girl guy mad fed sure certain afraid allergic vegan vegetarian
    fat thin tall short rich poor broke stuck fine"""
)
_WHATS_MY_NAME = re.compile(
    r"\b(?:what's|what is|whats|say|tell me|do you (?:know|remember)|you know) my name\b|"
    r"^who am i$|\bwhat do you call me\b|\bwhat am i called\b|\bwho do you think i am\b"
)
_REMEMBER = re.compile(
    r"^(?:remember|don't forget|do not forget|make a note|note|keep in mind|memorise|memorize)"
    r"(?: that| this| for me)?[\s:]+(?P<fact>.+)$"
)
_RECALL = re.compile(
    r"\bwhat (?:did|have) i (?:tell|told|say|said to) you about (?P<q>.+)$|"
    r"\bwhat do you (?:know|remember) about (?P<q2>.+)$|"
    r"^(?:do you )?remember (?:anything about |what i (?:said|told you) about |"
    r"when i told you about )(?P<q3>.+)$|\bdid i (?:tell|mention to) you about (?P<q4>.+)$|"
    r"^do you remember (?P<q5>.+)$"
)
_RECALL_ALL = re.compile(
    r"\bwhat (?:do )?you (?:know|remember)(?: about (?:me|myself|us))?$|"
    r"\bwhat have (?:i told you|you remembered|you got on me)\b|"
    r"\bwhat(?:'s| is) in your memory\b|\bwhat do you have on me\b"
)
_WIPE = re.compile(
    r"^(?:forget|erase|delete|wipe|clear)\s+(?:everything|all of it|all that|all|it all|"
    r"all my data|(?:all )?your memor(?:y|ies)|everything you know(?: about me)?|"
    r"all you know about me|all about me|everything about me|who i am)$"
)
_FORGET = re.compile(
    r"^(?:forget|erase|delete|stop remembering|don't remember)\s+"
    r"(?:about\s+|what i (?:said|told you) about\s+|that\s+(?=\w+\s+\w))?(?P<q>.+)$"
)
_QUESTION = re.compile(r"(?:when|what|where|who|how|if|whether|why)\b")
_RAW_FACT = re.compile(
    r"(?:remember|forget|note|mind|memori[sz]e)(?: that| this| for me)?[\s,:]+(.+)", re.IGNORECASE
)
_YES = re.compile(r"^(?:yes|yeah|yep|yup|sure|do it|go ahead|i'm sure|i am sure|confirm|correct)\b")


def _plausible_name(words: list[str], strict: bool) -> bool:
    if not 1 <= len(words) <= (2 if strict else 3):
        return False
    for word in words:
        bare = word.replace("'", "").replace("-", "")
        if not bare.isalpha() or len(bare) > 20 or word in NOT_NAMES:
            return False
        if strict and len(word) > 4 and re.search(r"(?:ing|ed|ly|ful|ous|ive|less|ish)$", word):
            return False
    return True


def title_name(words: list[str]) -> str:
    def cap(part: str) -> str:
        return "'".join(p[:1].upper() + p[1:] for p in part.split("'"))

    return " ".join("-".join(cap(p) for p in word.split("-")) for word in words)


def _raw_name(raw: str, lowered: list[str]) -> str | None:
    """The name as typed, when the typing had capitals; None when it was not capitalised."""
    found = re.search(r"\b" + r"\W+".join(map(re.escape, lowered)) + r"\b", raw, re.IGNORECASE)
    if not found:
        return None
    text = found.group(0)
    return text if text[:1].isupper() else None


def _claimed_name(said: Said) -> str | None:
    explicit = _NAME_IS.match(said.text)
    match = explicit or _I_AM.match(said.text)
    if not match:
        return None
    words = _TRAILING.sub("", match.group("name")).split()
    if not _plausible_name(words, strict=not explicit):
        return None
    # Typed or cased text: "I'm tired" is lower-case, "I'm Theo" is not. Transcripts
    # without capitals fall back on the word list alone.
    cased = any(ch.isupper() for ch in re.sub(r"^\W*\w|\bI\b", "", said.raw))
    typed = _raw_name(said.raw, words)
    if not explicit and cased and typed is None:
        return None
    return typed if typed and cased else title_name(words)


def _set_name(ctx: SkillContext, name: str) -> SkillReply:
    old = ctx.set_name(name)
    if old and old.lower() == name.lower():
        return SkillReply(ctx.say.pick((f"I know, {name}.", f"I remember, {name}.")), "name")
    if old:
        return SkillReply(f"Okay. I'll call you {name} from now on.", "name")
    line = ctx.say.pick(
        (
            "Nice to meet you, {n}.",
            "{n}. I like that. I'll remember it.",
            "Hello, {n}. It's lovely to meet you properly.",
        )
    )
    return SkillReply(line.format(n=name), "name")


def _say_name(ctx: SkillContext) -> SkillReply:
    name = ctx.name()
    if not name:
        return SkillReply("You haven't told me yet. What should I call you?", "name")
    line = ctx.say.pick(("You're {n}.", "Your name is {n}.", "It's {n}. I haven't forgotten."))
    return SkillReply(line.format(n=name), "name")


def said_as(fact: asking.FactLike) -> str:
    """The fact's words, with a leading "she" or "he" named: "she lives…" -> "Ana lives…"."""
    who = fact.name or (f"my {fact.topic}" if fact.topic else "")
    return re.sub(r"^(?:she|he)\b", who, fact.text, flags=re.IGNORECASE) if who else fact.text


def _joined(facts: list[str]) -> str:
    said = [reflect(f) for f in facts]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and that " + said[-1]


def _remember(fact: str, ctx: SkillContext) -> SkillReply:
    fact = fact.strip(" .!?,")
    if ctx.memory is None:
        return SkillReply(
            "My memory is switched off right now, so I can't keep that past today.", "remember"
        )
    heard = hear(fact)
    kept = [keep(ctx.memory, h, "told") for h in heard]
    ctx.last_fact = kept[-1] if kept else ctx.memory.remember(fact)
    line = ctx.say.pick(("Got it. {F}.", "I'll remember that {f}.", "Okay, I'll keep that. {F}."))
    said = reflect(fact)
    return SkillReply(line.format(f=said, F=said[:1].upper() + said[1:]), "remember")


def keep(memory: Memory, heard: Heard, source: str) -> Fact:
    """Store one captured fact (a newer one with its key replaces the old)."""
    return memory.keep(heard.subject, heard.key, heard.text, heard.value, heard.name, source)


def listen(said: Said, ctx: SkillContext) -> list[Fact]:
    """Keep the facts the user stated in passing; returns what was kept."""
    if ctx.memory is None:
        return []
    heard = hear(said.raw, ctx.last_about)
    kept = [keep(ctx.memory, h, "heard") for h in heard]
    people = [h for h in heard if "." in h.key]
    if people:
        ctx.last_about = people[-1]
    if kept:
        ctx.last_fact = kept[-1]
        logger.debug("heard %d fact(s) in passing", len(kept))
    return kept


_NOTHING = {
    "name": "You haven't told me your {w}'s name yet. What is it?",
    "home": "You haven't told me where you live yet. Where's home for you?",
    "origin": "I don't know where you're from yet. Where did you grow up?",
    "work": "You haven't told me what you do yet. What keeps you busy?",
    "study": "You haven't told me what you study. What is it?",
    "date": "I don't know that date yet. When is it?",
    "likes": "You haven't told me much about what you love yet. What do you enjoy?",
    "dislikes": "You haven't told me what you can't stand yet. I'm curious, though.",
    "favourite": "You haven't told me your favourite {d} yet. What is it?",
    "plans": "You haven't told me about any plans yet. Is something coming up?",
    "feelings": "You haven't told me how you've been feeling. How are you, really?",
    "has": "You haven't mentioned a {w}. Do you have one?",
    "age": "You haven't told me how old you are. I won't guess.",
    "allergies": "You haven't told me about any allergies. Do you have some?",
}
_TOLD = ("You told me {f}.", "If I remember right, {f}.", "{F}. That's what you told me.")


_WHO_IS = re.compile(
    r"^(?:who(?:'s| is| was)|remind me who) (?P<n>[a-z][a-z'-]+)(?: is| was)?$|"
    r"^where (?:does|did) (?P<n2>[a-z][a-z'-]+) (?:live|work|move to)$|"
    r"^what (?:does|did) (?P<n3>[a-z][a-z'-]+) do(?: for (?:work|a living))?$"
)
_RECALLING = re.compile(
    r"^(?!.*\b(?:should|could|would|might|can i|will)\b).*(?:\b(?:do|did) (?:i|we) (?:have|own|"
    r"drive|ride|play|keep|use)\b|\bwhat(?:'s| is| was) (?:my|our)\b|\bwhat (?:my|our) \w+ is\b)"
)
"""A question asking back something told ("what kind of bike do I have"), not for advice."""


def _about_known_thing(text: str, memory: Memory) -> str:
    """ "what kind of bike do I have" -> what the user told about their bike, or ""."""
    words = set(text.split())
    found = [f for f in memory.recall(text) if f.topic and set(f.topic.split()) <= words]
    return _joined([f.text for f in found[:2]]) if found else ""


def _answer(question: asking.Ask, ctx: SkillContext) -> SkillReply:
    if ctx.memory is None:
        return SkillReply(
            "My memory is switched off, so I only know what we've said today.", "recall"
        )
    found = asking.answer(question, ctx.memory.facts())
    if not found:
        who = question.who or "pet"
        if question.slot == "name" and who.split()[-1] not in vocab.PETS:
            line = "You haven't told me about your {w} yet. What's their name?"
        elif question.slot == "date" and question.who:
            line = "You haven't told me when your {w}'s birthday is. When is it?"
            if question.who == "anniversary":
                line = "You haven't told me when your anniversary is. When is it?"
        elif question.slot == "home" and question.who:
            line = "You haven't told me where your {w} lives yet. Where is it?"
        elif question.slot == "work" and question.who:
            line = "You haven't told me what your {w} does yet. What is it?"
        else:
            line = _NOTHING[question.slot]
        return SkillReply(line.format(w=who, d=question.detail or "thing"), "recall")
    said = _joined([said_as(f) for f in found])
    line = ctx.say.pick(_TOLD)
    return SkillReply(line.format(f=said, F=said[:1].upper() + said[1:]), "recall")


_FIRST_TOLD = ("home", "work", "study", "origin")


def _summary(facts: list[Fact], most: int = 5) -> list[Fact]:
    """A few facts that say the most: home and work first, then people and pets, then newest."""
    newest = list(reversed(facts))
    picked = [f for key in _FIRST_TOLD for f in newest[:200] if f.key == key][:2]
    picked += [f for f in newest if f.name and f not in picked][:2]
    picked += [f for f in newest if f not in picked]
    return sorted(picked[:most], key=lambda f: f.id)


def _recall(query: str | None, ctx: SkillContext, personal: bool) -> SkillReply | None:
    if ctx.memory is None:
        return SkillReply(
            "My memory is switched off, so I only know what we've said today.", "recall"
        )
    if query is None:
        name, facts = ctx.memory.user_name(), ctx.memory.facts()
        if not name and not facts:
            return SkillReply("Not much yet. Tell me something and I'll keep it.", "recall")
        parts = [f"Your name is {name}." if name else ""]
        if facts:
            shown = _summary(facts)
            more = len(facts) - len(shown)
            tail = f" And {more} more thing{'s' if more != 1 else ''} besides." if more else ""
            parts.append(f"You told me that {_joined([said_as(f) for f in shown])}.{tail}")
        return SkillReply(" ".join(p for p in parts if p), "recall")
    found = ctx.memory.recall(query)
    if not found:
        if not personal:
            return None  # "what do you know about black holes" is not about memory
        return SkillReply(
            f"I don't think you've told me anything about {reflect(query)} yet.", "recall"
        )
    return SkillReply(f"You told me that {_joined([f.text for f in found[:3]])}.", "recall")


def _forget(query: str, ctx: SkillContext) -> SkillReply:
    if query in ("it", "about it", "all about it"):
        return SkillReply("Okay, never mind.", "forget")
    if ctx.memory is None:
        return SkillReply("I'm not keeping anything beyond today anyway.", "forget")
    if query in ("that", "this", "what i just said") and ctx.last_fact is not None:
        query = ctx.last_fact.text
    gone = ctx.memory.forget(query)
    ctx.last_fact = None
    about = reflect(query)
    if not gone:
        return SkillReply(f"I don't have anything about {about} to forget.", "forget")
    if query in ("name", "my name"):
        return SkillReply("Okay. I've forgotten your name.", "forget")
    line = ctx.say.pick(
        ("Done. I've forgotten what you told me about {a}.", "Okay. Everything about {a} is gone.")
    )
    return SkillReply(line.format(a=about), "forget")


def confirm_wipe(said: Said, ctx: SkillContext) -> SkillReply | None:
    """The answer to "are you sure?" after "forget everything"."""
    if _YES.match(said.text) or _WIPE.match(said.text):
        if ctx.memory is not None:
            ctx.memory.forget_all()
        ctx.session_name, ctx.last_fact = None, None
        return SkillReply(
            "Done. It's all gone, your name too. It's like meeting you for the first time.",
            "forget",
        )
    if re.match(r"^(?:no|nope|don't|do not|cancel|never mind|keep it|wait)\b", said.text):
        return SkillReply("Okay, I'll keep everything.", "forget")
    return None


def handle(said: Said, ctx: SkillContext) -> SkillReply | None:
    text = said.text
    if _WHATS_MY_NAME.search(text):
        return _say_name(ctx)
    if _WIPE.match(text):
        ctx.confirming_wipe = True
        return SkillReply(
            "That would wipe everything I know about you, your name included. Are you sure?",
            "forget",
        )
    forget = _FORGET.match(text)
    if forget:
        return _forget(forget.group("q"), ctx)
    if _RECALL_ALL.search(text):
        return _recall(None, ctx, personal=True)
    asked = asking.is_question(said.raw, text)
    question = asking.ask(text) if asked else None
    if question is not None:
        return _answer(question, ctx)
    who = _WHO_IS.match(text) if asked and ctx.memory is not None else None
    if who and ctx.memory is not None:
        person = who["n"] or who["n2"] or who["n3"]
        named = [f for f in ctx.memory.facts() if f.name.lower() == person]
        if named:
            said_about = _joined([said_as(f) for f in named[-2:]])
            return SkillReply(f"You told me {said_about}.", "recall")
    recall = _RECALL.search(text)
    if recall:
        query = next(g for g in recall.groups() if g)
        if query in ("me", "myself"):
            return _recall(None, ctx, personal=True)
        personal = recall.group("q2") is None or bool(re.match(r"(?:my|me|i)\b", query))
        return _recall(query, ctx, personal)
    if asked and ctx.memory is not None and _RECALLING.search(text):
        about = _about_known_thing(text, ctx.memory)
        if about:
            return SkillReply(ctx.say.pick(_TOLD).format(f=about, F=about[:1].upper() + about[1:]),
                              "recall")  # fmt: skip
    name = _claimed_name(said)
    if name:
        return _set_name(ctx, name)
    remember = _REMEMBER.match(text)
    if remember and len(remember["fact"].split()) > 1 and not _QUESTION.match(remember["fact"]):
        raw = _RAW_FACT.search(said.raw)
        return _remember(raw.group(1) if raw else remember["fact"], ctx)
    return None
