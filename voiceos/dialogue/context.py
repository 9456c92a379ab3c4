"""The messages an LLM is sent for one turn: persona, what is remembered, recent history.

Remembered facts and recent history share one character budget (`[llm] context_chars`), so
the prompt stays bounded however long the user has been talking. All facts are sent while
they fit in half of it; beyond that, the facts relevant to this turn, then the newest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from voiceos.dialogue.memory import query_words, relevance

logger = logging.getLogger(__name__)

MAX_TURNS_ASKED = 400
"""Most history turns read from memory for one prompt, before the budget trims them."""


class FactLike(Protocol):
    @property
    def topic(self) -> str: ...

    @property
    def text(self) -> str: ...


class TurnLike(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def text(self) -> str: ...


class MemoryView(Protocol):
    """The parts of the memory store a prompt is built from."""

    def user_name(self) -> str | None: ...

    def facts(self) -> Sequence[FactLike]:
        """Oldest first."""
        ...

    def recent_turns(self, limit: int) -> Sequence[TurnLike]: ...


class PersonaLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def system_prompt(self) -> str: ...


Message = dict[str, str]


def _line(fact: FactLike) -> str:
    return f"- {fact.text.strip()}"


def _fitting_facts(facts: Sequence[FactLike], budget: int, user_text: str = "") -> list[str]:
    """Facts for the prompt within `budget` characters, in the order they were told.

    All of them when they fit. Otherwise the ones relevant to `user_text` come first,
    then the newest, until the budget is spent.
    """
    lines = [_line(f) for f in facts]
    if sum(len(line) + 1 for line in lines) <= budget:
        return lines
    wanted = query_words(user_text)
    order = sorted(
        range(len(facts)),
        key=lambda i: (relevance(wanted, facts[i]) if wanted else 0, i),
        reverse=True,
    )
    chosen: set[int] = set()
    used = 0
    for i in order:
        if used + len(lines[i]) + 1 > budget:
            if relevance(wanted, facts[i]) if wanted else 0:
                continue  # a long relevant fact must not crowd out shorter relevant ones
            break
        chosen.add(i)
        used += len(lines[i]) + 1
    return [lines[i] for i in sorted(chosen)]


def system_message(persona: PersonaLike, name: str | None, facts: list[str]) -> str:
    parts = [persona.system_prompt.strip()]
    if name:
        parts.append(f"The person you are talking with is called {name}.")
    if facts:
        parts.append(
            "What they have told you about themselves, in their own words (use it naturally;"
            " newer lines correct older ones):\n" + "\n".join(facts)
        )
    return "\n\n".join(parts)


def _fitting_history(turns: Sequence[TurnLike], budget: int) -> list[Message]:
    """The newest whole turns that fit in `budget` characters, as alternating messages."""
    kept: list[Message] = []
    used = 0
    for turn in reversed(turns):
        text = turn.text.strip()
        if not text:
            continue
        if used + len(text) > budget:
            break
        used += len(text)
        role = "user" if turn.role == "user" else "assistant"
        if kept and kept[-1]["role"] == role:
            # Two turns in a row from one side (an unanswered line): join them.
            kept[-1] = {"role": role, "content": f"{text}\n{kept[-1]['content']}"}
        else:
            kept.append({"role": role, "content": text})
    kept.reverse()
    while kept and kept[0]["role"] != "user":
        kept.pop(0)  # many chat templates insist on a user message first
    return kept


def build_messages(
    persona: PersonaLike, memory: MemoryView | None, user_text: str, context_chars: int
) -> list[Message]:
    """Messages for one turn, with facts and history within `context_chars` characters.

    Facts get at most half the budget; history gets the rest, newest turns first. The
    user's own text is cut to the budget too, so a huge pasted line stays bounded.
    """
    user_text = user_text.strip()[:context_chars]
    name = memory.user_name() if memory is not None else None
    facts = (
        _fitting_facts(memory.facts(), context_chars // 2, user_text) if memory is not None else []
    )
    used = sum(len(line) + 1 for line in facts)
    history: list[Message] = []
    if memory is not None:
        turns = list(memory.recent_turns(MAX_TURNS_ASKED))
        if turns and turns[-1].role == "user" and turns[-1].text.strip() == user_text:
            turns.pop()  # the caller already recorded this turn
        history = _fitting_history(turns, context_chars - used)
    if history and history[-1]["role"] == "user":
        history.pop()  # an unanswered line would make two user messages in a row
    messages: list[Message] = [
        {"role": "system", "content": system_message(persona, name, facts)},
        *history,
        {"role": "user", "content": user_text},
    ]
    logger.debug(
        "prompt: %d facts, %d history messages, %d chars",
        len(facts),
        len(history),
        sum(len(m["content"]) for m in messages),
    )
    return messages
