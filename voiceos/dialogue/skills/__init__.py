"""Local skills: instant, offline answers that run before any LLM.

`Skills.handle` looks at one user turn and either answers it (the time, the date, the
user's name and facts, voice changes, help, stop, goodbye) or returns None so the turn
goes on to the LLM or the offline brain. Nothing here does I/O beyond the memory.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime

from voiceos.dialogue.memory import Memory, MemoryStoreError
from voiceos.dialogue.persona import Persona
from voiceos.dialogue.skills import basics, naming, remembering, voice
from voiceos.dialogue.skills.base import Said, Skill, SkillContext, SkillReply
from voiceos.dialogue.skills.text import Variety, clean, normalise, strip_fillers
from voiceos.types import VoiceControl

__all__ = ["SkillReply", "Skills"]

logger = logging.getLogger(__name__)

# Order matters: whole-utterance commands first, then specific patterns, then loose ones.
ORDER: tuple[Skill, ...] = (
    basics.stop,
    basics.goodbye,
    voice.handle,
    naming.correct_name,
    remembering.handle,
    basics.clock,
    basics.help_,
)


_ABOUT_MEMORY = ("remember", "recall", "forget", "name")
"""Skills whose turn is about memory itself, so nothing more is taken from it."""


def _local_now() -> datetime:
    return datetime.now().astimezone()


class Skills:
    """Answers what can be answered on the spot.

    Args:
        memory: an opened Memory, or None when memory is switched off.
        voice: the voice settings to read and change.
        persona: whose farewells and defaults to use.
        clock: the current local time (injected in tests).
        rng: randomness for varied wording (seed it in tests).
    """

    def __init__(
        self,
        memory: Memory | None,
        voice: VoiceControl,
        persona: Persona,
        clock: Callable[[], datetime] = _local_now,
        rng: random.Random | None = None,
    ) -> None:
        self._ctx = SkillContext(
            memory=memory,
            voice=voice,
            persona=persona,
            clock=clock,
            say=Variety(rng or random.Random()),
        )

    def handle(self, text: str) -> SkillReply | None:
        """The skill's reply to `text`, or None when no skill applies."""
        raw = clean(text)
        said = Said(raw=raw, text=strip_fillers(normalise(raw), (self._ctx.persona.name,)))
        if not said.text:
            return None
        reply = self._answer(said)
        self._ctx.last_skill = reply.skill if reply is not None else None
        return reply

    def _answer(self, said: Said) -> SkillReply | None:
        ctx = self._ctx
        reply: SkillReply | None = None
        try:
            if ctx.confirming_wipe:
                ctx.confirming_wipe = False
                answer = remembering.confirm_wipe(said, ctx)
                if answer is not None:
                    return answer
            for skill in ORDER:
                reply = skill(said, ctx)
                if reply is not None:
                    logger.debug("skill %s answered %r", reply.skill, said.text)
                    break
            if reply is None or reply.skill not in _ABOUT_MEMORY:
                remembering.listen(said, ctx)
            return reply
        except MemoryStoreError as exc:
            logger.warning("memory failed during a skill: %s", exc)
            return SkillReply(
                "Something's wrong with my memory just now, so I couldn't do that.", "memory"
            )
