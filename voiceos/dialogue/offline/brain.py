"""The offline brain: warm, curious conversation with no model and no network.

It answers what it honestly can (sums, questions about itself), says plainly what it
cannot do offline, and otherwise listens: it turns the user's words around, notices the
topic and feeling, asks one follow-up question, and now and then brings back something
the user told it before. It tracks what it said recently so it does not repeat itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Callable

from voiceos.dialogue.capture import Heard, hear
from voiceos.dialogue.memory import Memory, MemoryStoreError
from voiceos.dialogue.offline import honest, lines, noticing, oneword, patterns
from voiceos.dialogue.offline.arithmetic import MathError, solve
from voiceos.dialogue.offline.topics import Topic, find_topic, topic_named
from voiceos.dialogue.persona import Persona
from voiceos.dialogue.skills.text import (
    FILLERS,
    MAX_CHARS,
    Variety,
    clean,
    normalise,
    reflect,
    say_number,
)
from voiceos.dialogue.vocab import PETS
from voiceos.types import UserTurn

logger = logging.getLogger(__name__)

_LEADING = re.compile(
    r"^(?:(?:so|well|and|but|oh|ok|okay|hey|hi|actually|honestly|anyway|like|yeah|right)\s+)+"
)
_GOING_ON = re.compile(
    r"^(?:i was|it was|then|and then|we were|there was|there were|he was|she was)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|my|me|myself)\b")
_LIKES = r"^do you (?:ever )?(?:like|love|enjoy|listen|read|watch|think about)\b"
_YOU_ARE = re.compile(
    r"^(?:you(?:'re| are)|you're being|you sound|you seem) (?:so |really |very |such |a |an |"
    r"the |quite |pretty )*(?P<x>.+)"
)


class OfflineBrain:
    """Implements types.Brain without any language model.

    Args:
        persona: whose name, introduction and greetings to use.
        memory: an opened Memory for the user's name and facts, or None.
        rng: randomness for varied wording (seed it in tests).
    """

    def __init__(
        self, persona: Persona, memory: Memory | None, rng: random.Random | None = None
    ) -> None:
        self.persona = persona
        self.memory = memory
        self._rng = rng or random.Random()
        self._say = Variety(self._rng, remember=60)
        self._recent: deque[str] = deque(maxlen=20)
        self._turn = 0
        self._named_turn = -10
        self._topic: Topic | None = None
        self._facts_brought_up: set[int] = set()
        self._linked_turn = -10
        """The turn when a remembered fact was last brought up (not every line)."""
        self._named: tuple[str, bool, int] | None = None
        """The last name heard: (name, is a pet, turn), for "she…" in the next turns."""
        self._heard_at: dict[str, int] = {}
        """When (turn number) each fact was stated, so it is not asked after at once."""

    # --- public --------------------------------------------------------------------------

    def greeting(self) -> str:
        """A hello from the persona, by name when the user's name is known."""
        name = self._user_name()
        if name and self.persona.greetings_by_name:
            return self._say.pick(self.persona.greetings_by_name).format(name=name)
        return self._say.pick(self.persona.greetings)

    def respond(self, text: str) -> str:
        """The reply to one user turn. Instant, and never raises."""
        self._turn += 1
        try:
            reply = self._respond(text)
        except Exception as exc:  # a bug here must cost one reply, never the conversation
            logger.warning(
                "offline brain failed (%s) on %d characters", type(exc).__name__, len(text)
            )
            logger.debug("offline brain failure", exc_info=True)
            reply = "Sorry, I lost my train of thought. Could you say that again?"
        self._recent.append(reply)
        return reply

    async def reply(self, turn: UserTurn) -> AsyncIterator[str]:
        """The reply as a few text deltas, like a streaming model would send it."""
        for piece in _pieces(self.respond(turn.text)):
            yield piece
            await asyncio.sleep(0)

    # --- the steps -----------------------------------------------------------------------

    def _respond(self, text: str) -> str:
        raw = clean(text)
        if not raw:
            return self._say.pick(lines.EMPTY)
        if not any(ch.isalnum() for ch in raw):
            if any(unicodedata.category(ch) == "So" for ch in raw):
                return self._say.pick(lines.EMOJI)
            return self._say.pick(lines.PUZZLED if "?" in raw else lines.SYMBOLS)
        letters = [ch for ch in raw if ch.isalpha()]
        if letters and sum(ch.isascii() for ch in letters) < len(letters) / 2:
            return self._say.pick(lines.FOREIGN)
        said = self._prepare(raw)
        if not said:
            return self._say.pick(lines.EMPTY)
        steps: tuple[Callable[[str, str], str | None], ...] = (
            self._crisis,
            self._sum,
            self._short,
            self._one_word,
            self._hello,
            self._thanks,
            self._honest,
            self._about_you,
            self._noticed,
            self._statement,
        )
        reply = next(r for r in (step(said, raw) for step in steps) if r is not None)
        if len(text) > MAX_CHARS:
            reply = f"{self._say.pick(lines.TOO_LONG)} {reply}"
        return self._finish(reply)

    def _noticed(self, said: str, raw: str) -> str | None:
        """A personal fact just told: say something that shows it was heard."""
        heard = self._stored_now(raw) or hear(raw)
        for fact in heard:
            self._heard_at[fact.text.lower()] = self._turn
        del_old = [t for t, turn in self._heard_at.items() if self._turn - turn > 50]
        for text in del_old:
            del self._heard_at[text]
        for fact in heard:
            reply = noticing.acknowledge(fact, self._say)
            if reply is not None:
                if fact.name:
                    self._named = (fact.name, fact.subject.split()[-1] in PETS, self._turn)
                return reply
        return None

    def _stored_now(self, raw: str) -> list[Heard]:
        """Facts the skills just stored from this turn (they know who "she" is)."""
        if self.memory is None:
            return []
        try:
            facts = self.memory.facts()[-4:]
        except MemoryStoreError:
            return []
        low = raw.lower()
        return [
            Heard(f.topic, f.key, f.text, f.value, f.name)
            for f in facts
            if f.key and f.source == "heard" and f.text.lower() in low
        ]

    def _prepare(self, raw: str) -> str:
        name = self.persona.name.lower()
        words = " ".join(w for w in normalise(raw).split() if w not in FILLERS and w != name)
        if lines.HELLO.fullmatch(words):
            return words
        said = _LEADING.sub("", words).strip()
        # "I think I need a walk" is about the walk, not about thinking.
        return re.sub(r"^i (?:think|guess|reckon|suppose|feel like) (?=i\b|i'm\b|i'd\b)", "", said)

    def _crisis(self, said: str, raw: str) -> str | None:
        return honest.answer((honest.CRISIS,), said, self.persona, self._say)

    def _sum(self, said: str, raw: str) -> str | None:
        try:
            answer = solve(raw)
        except MathError as exc:
            return str(exc)
        if answer is None:
            return None
        line = self._say.pick(("{q} is {a}.", "That's {a}.", "{a}. {q} is {a}."))
        return line.format(
            q=answer.spoken[:1].upper() + answer.spoken[1:], a=say_number(answer.value)
        )

    def _short(self, said: str, raw: str) -> str | None:
        for pattern, options in lines.SHORT_ANSWERS:
            if pattern.fullmatch(said):
                reply = self._say.pick(options)
                if pattern is lines.YES and self._topic is not None:
                    reply = f"{reply} {self._say.pick(self._topic.questions)}"
                elif pattern in lines.QUIET:
                    follow = self._follow_up()
                    reply = f"{self._say.pick(('Mm.', 'Okay.'))} {follow}" if follow else reply
                return reply
        return None

    def _one_word(self, said: str, raw: str) -> str | None:
        options = oneword.answer(said)
        return self._say.pick(options) if options else None

    def _hello(self, said: str, raw: str) -> str | None:
        if not lines.HELLO.fullmatch(said):
            return None
        # Not greeting(): the session has usually just greeted, and saying the same
        # greeting back would sound like a recording.
        question = self._say.pick(lines.OPENING_QUESTIONS)
        if said.startswith("good "):
            return f"Good {said.split()[1]} to you too. {question}"
        name = self._user_name()
        hello = self._say.pick(("Hi", "Hello", "Hey"))
        question = self._follow_up() or question
        return f"{hello}, {name}. {question}" if name else f"{hello}. {question}"

    def _thanks(self, said: str, raw: str) -> str | None:
        if not lines.THANKS.fullmatch(said):
            return None
        return self._say.pick(lines.WELCOME)

    def _honest(self, said: str, raw: str) -> str | None:
        for rules in (honest.ABOUT_ME, honest.CANNOT):
            reply = honest.answer(rules, said, self.persona, self._say)
            if reply is not None:
                return reply
        return None

    def _about_you(self, said: str, raw: str) -> str | None:
        found = _YOU_ARE.search(said)
        if not found:
            return None
        words = found["x"].split()
        negated = any(w in ("not", "never", "no") for w in words[:2])
        if set(words[:3]) & patterns.COMPLIMENTS:
            return self._say.pick(lines.HURT if negated else lines.THANKED)
        if set(words[:3]) & patterns.INSULTS:
            return self._say.pick(lines.THANKED if negated else lines.HURT)
        if len(words) > patterns.MAX_ECHO_WORDS:
            return None
        return self._say.pick(lines.ABOUT_YOU).format(x=reflect(found["x"]))

    def _statement(self, said: str, raw: str) -> str:
        words = said.split()
        clauses = [c for c in re.split(r"\s*(?:[,;:.!?]|\s-\s)\s*", raw) if c.strip()]
        first = self._prepare(clauses[0]) if len(clauses) > 1 else said
        if len(first.split()) < 2:
            first = said
        fine_but = self._fine_but(first, words) or self._about_them(said)
        if fine_but:
            return fine_but
        found = patterns.match(first)
        topic = find_topic(words)
        if found and found.pattern.topic:
            topic = topic_named(found.pattern.topic) or topic
        elif self._topic is not None and _GOING_ON.match(said):
            topic = self._topic  # "I was back at school…" goes on with the dream, not school
        if topic is not None:
            self._topic = topic
        asked = raw.rstrip().endswith("?") or patterns.is_question(said)
        opener = "" if asked else self._opener(words)
        to_me = patterns.ASKING_ME.match(said) is not None
        if to_me:
            opener = ""
        opinion = re.search(r"\bwhat do you think (?:about|of)\b", said)
        if patterns.is_wondering(said):
            body, opener = self._say.pick(lines.WONDERING), ""
        elif (
            (to_me or opinion)
            and topic is not None
            and topic.thoughts
            and (opinion or re.search(_LIKES, said))
        ):
            body = f"{self._say.pick(topic.thoughts)} {self._say.pick(topic.questions)}"
        elif found and (
            asked
            or to_me
            or topic is None
            or found.pattern.wins
            or (found.pattern.echo and self._rng.random() >= 0.3)
        ):
            body = self._pattern_line(found, raw)
            if found.pattern.wins or body in lines.GOOD_FEELING:
                opener = ""  # its lines carry their own feeling
        elif asked and patterns.is_knowledge_question(said):
            body = self._say.pick(lines.CANNOT_LOOK_UP)
        elif asked:
            you = re.search(r"\b(?:you|your|yourself)\b", said)
            body, opener = self._say.pick(lines.YOUR_QUESTIONS if you else lines.MY_QUESTIONS), ""
        elif topic is not None:
            body, opener = self._topic_line(topic, opener)
        else:
            echo = self._echo(said, raw)
            body, opener = (echo, opener) if echo else (self._generic(), "")
        return f"{opener} {body}".strip()

    def _fine_but(self, first: str, words: list[str]) -> str | None:
        """ "I'm alright, a bit tired": answer the tired, not the alright."""
        if not lines.FINE.fullmatch(first):
            return None
        low = [w for w in words[len(first.split()) :] if w in lines.NEGATIVE or w in lines.TIRED]
        if not low:
            return self._say.pick(lines.GLAD_FINE)
        feeling = low[0]
        return self._say.pick(lines.FINE_BUT).format(w=feeling, W=feeling.capitalize())

    def _generic(self) -> str:
        """A warm, honest reply for what was not understood."""
        return self._say.pick(lines.GENERIC)

    def _about_them(self, said: str) -> str | None:
        """ "she sleeps on my feet" just after "my cat Pepper": talk about Pepper."""
        if self._named is None or self._turn - self._named[2] > 2:
            return None
        pronoun = re.match(r"(?:she|he)\b", said)
        if not pronoun or patterns.NEGATED.search(said):
            return None
        name, pet = self._named[0], self._named[1]
        if pet:
            first = self._say.pick(
                (f"{name} sounds like good company.", f"I like the sound of {name}.")
            )
            then = self._say.pick(("What else does {p} get up to?", "Is {p} always like that?"))
            return f"{first} {then.format(p=pronoun.group(0))}"
        return self._say.pick(
            (f"{name} sounds like someone who matters to you.", f"Tell me more about {name}?")
        )

    def _pattern_line(self, found: patterns.Match, raw: str) -> str:
        echo = _recase(reflect(found.captured), raw)
        pattern = found.pattern
        if pattern.topic == "feelings" and lines.mood(found.captured.split()) > 0:
            return self._say.pick(lines.GOOD_FEELING)
        short = len(echo.split()) <= patterns.MAX_ECHO_WORDS and len(echo) <= 80
        if pattern.echo and echo and short and not found.negated and fits(echo):
            line = self._say.pick(pattern.echo)
            return line.format(x=echo, X=echo[:1].upper() + echo[1:])
        return self._say.pick(pattern.plain)

    def _topic_line(self, topic: Topic, opener: str) -> tuple[str, str]:
        question = self._say.pick(topic.questions)
        fresh = [t for t in topic.thoughts if not self._say.was_recent(t)]
        if fresh and self._rng.random() < 0.4:
            return f"{self._say.pick(fresh)} {question}", ""
        return question, opener

    def _opener(self, words: list[str]) -> str:
        mood = lines.mood(words)
        if mood < 0:
            return self._say.pick(lines.SAD_OPENERS)
        if mood > 0:
            return self._say.pick(lines.HAPPY_OPENERS)
        return self._say.pick(lines.NEUTRAL_OPENERS) if self._rng.random() < 0.3 else ""

    def _echo(self, said: str, raw: str) -> str | None:
        """Sometimes say a short first-person statement back, turned around."""
        if len(said.split()) > 7 or not _FIRST_PERSON.search(said) or self._rng.random() < 0.4:
            return None
        if not said.startswith(("i ", "i'm ", "i've ", "my ")) or patterns.NEGATED.search(said):
            return None
        turned = _recase(reflect(said), raw)
        if not fits(turned):
            return None
        question = self._say.pick(lines.GENERIC_QUESTIONS)
        return f"So {turned}. {question}"

    def _follow_up(self) -> str | None:
        """Now and then (never two turns close together), ask after something told before."""
        if self.memory is None or self._turn - self._linked_turn < 5 or self._rng.random() > 0.5:
            return None
        try:
            facts = self.memory.facts()
        except MemoryStoreError as exc:
            logger.warning("memory unreadable: %s", exc)
            return None
        for fact in reversed(facts[-30:]):
            told_at = self._heard_at.get(fact.text.lower())
            if fact.id in self._facts_brought_up or (told_at and self._turn - told_at < 8):
                continue
            line = noticing.follow_up(fact.key, fact.topic, fact.value, fact.name, fact.text)
            if line and not self._say.was_recent(line):
                self._facts_brought_up.add(fact.id)
                self._linked_turn = self._turn
                self._say.note(line)
                return line
        return None

    def _user_name(self) -> str | None:
        if self.memory is None:
            return None
        try:
            return self.memory.user_name()
        except MemoryStoreError as exc:
            logger.warning("memory unreadable: %s", exc)
            return None

    def _finish(self, reply: str) -> str:
        """Use the name now and then, and never say the very same thing twice running."""
        name = self._user_name()
        last = _last_sentence(reply)
        if (
            name
            and last.endswith("?")
            and len(last.split()) >= 3
            and self._turn - self._named_turn >= 4
            and self._rng.random() < 0.35
            and name not in reply
            and "," not in last
        ):
            reply = f"{reply[:-1]}, {name}?"
            self._named_turn = self._turn
        if reply in self._recent:
            keep = reply.startswith(("I ", "I'"))
            reply = f"Like I said, {reply if keep else reply[:1].lower() + reply[1:]}"
        return reply


_BROKEN = re.compile(
    r"\b(?:you am|I are|I is|you is|you was|I were|me am|me is|you's|I's|your're|yourself am|"
    r"you has|I has|you does|I does)\b|\b(?:and|but|or|so|because|if|the|a|an|to|of|with|"
    r"my|your|about|that|when)$|^(?:and|but|or|so|because)\b"
)


def fits(echo: str) -> bool:
    """False for a turned-around clause that would come out ungrammatical or cut off."""
    return bool(echo.strip()) and not _BROKEN.search(echo.strip(" .?!,"))


def _recase(echo: str, raw: str) -> str:
    """The user's capitals back on echoed words: "lisbon" -> "Lisbon" when they typed it so."""
    cased = {w.lower(): w for w in re.findall(r"[^\W\d_][\w'-]*", raw) if w[:1].isupper()}
    cased.pop("i", None)
    return " ".join(cased.get(w.lower(), w) if w != "I" else w for w in echo.split())


def _last_sentence(text: str) -> str:
    return re.split(r"(?<=[.?!]) ", text)[-1]


def _pieces(text: str, count: int = 3) -> list[str]:
    """`text` cut at spaces into about `count` deltas that join back exactly."""
    words = text.split(" ")
    if len(words) < count:
        return [text] if text else []
    size = -(-len(words) // count)
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [chunk + " " for chunk in chunks[:-1]] + [chunks[-1]]
