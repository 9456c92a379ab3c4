"""Facts a language model proposes from a turn, kept only when they are the user's own words.

Runs off the critical path: the router starts it once the reply has begun, and the user
never waits for it. The model may only point at words; every proposal must be a run of
the user's turn that states a fact (not a question, negation, hypothetical or someone
else's words), or it is dropped. Kept facts have source "llm", and a newer proposal about
the same subject replaces the older one, as corrections do.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

from voiceos.dialogue.capture import Heard, hear, states_a_fact
from voiceos.dialogue.llm_errors import LLMError
from voiceos.dialogue.memory import Fact, Memory, MemoryStoreError
from voiceos.dialogue.vocab import canonical

logger = logging.getLogger(__name__)

MAX_PROPOSALS = 3
INSTRUCTIONS = (
    "List the personal facts the user states about themselves or their life in the message"
    " below: people and their names, pets, where they live or come from, work, study, likes,"
    " dates, plans, feelings. One per line, as: subject | the exact words from the message."
    " Copy the words exactly; never add or change any. Leave out questions, things they do"
    " not have, wishes and what other people said. If there are none, answer: NONE"
)


class Completer(Protocol):
    async def complete(
        self, messages: list[dict[str, str]], max_tokens: int, timeout_s: float
    ) -> str: ...


def _squash(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def parse(answer: str, user_text: str) -> list[Heard]:
    """The proposals in `answer` that are facts in the user's own words, at most a few."""
    said = _squash(user_text)
    found: list[Heard] = []
    for line in answer.splitlines():
        subject, bar, words = line.strip(" -*•\t").partition("|")
        subject = " ".join(canonical(w) for w in re.findall(r"[a-z]+", subject.lower())[:3])
        words = words.strip(" \"'“”.")
        if not bar or not subject or len(words.split()) < 3:
            continue
        if _squash(words) not in said or not states_a_fact(words):
            continue  # not the user's words, or not a plain statement
        found.append(Heard(subject, f"llm:{subject}", words))
        if len(found) >= MAX_PROPOSALS:
            break
    return found


@dataclass
class FactProposer:
    """Asks `llm` for facts in a turn and keeps the ones that pass `parse()`."""

    llm: Completer
    memory: Memory
    timeout_s: float = 20.0
    max_tokens: int = 80

    async def propose(self, user_text: str) -> list[Fact]:
        if not user_text.strip() or user_text.rstrip().endswith("?"):
            return []
        messages = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": user_text.strip()[:1000]},
        ]
        try:
            answer = await self.llm.complete(messages, self.max_tokens, self.timeout_s)
        except LLMError as exc:
            logger.info("no facts proposed: %s", exc.message)
            return []
        heard_already = {_squash(h.text) for h in hear(user_text)}
        kept: list[Fact] = []
        try:
            known = {_squash(f.text) for f in self.memory.facts()}
            for fact in parse(answer, user_text):
                text = _squash(fact.text)
                if text in known or any(text in h or h in text for h in heard_already):
                    continue  # the rules already kept it, in the same words
                kept.append(self.memory.keep(fact.subject, fact.key, fact.text, source="llm"))
        except MemoryStoreError as exc:
            logger.warning("proposed facts not kept: %s", exc)
        if kept:
            logger.debug("kept %d fact(s) proposed by the model", len(kept))
        return kept
