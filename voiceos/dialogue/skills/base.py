"""What every skill gets and gives back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from voiceos.dialogue.capture import Heard
from voiceos.dialogue.memory import Fact, Memory
from voiceos.dialogue.persona import Persona
from voiceos.dialogue.skills.text import Variety
from voiceos.types import Action, VoiceControl

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkillReply:
    """A local skill's answer."""

    text: str
    """What to say; may be empty when the action says it all (e.g. STOP)."""
    skill: str
    """Which skill answered: "time", "voice", "remember", ..."""
    action: Action = Action.NONE


@dataclass
class SkillContext:
    """The parts skills work with, and the little state that lasts between turns."""

    memory: Memory | None
    voice: VoiceControl
    persona: Persona
    clock: Callable[[], datetime]
    say: Variety
    session_name: str | None = None
    """The user's name when memory is switched off, kept for this session only."""
    last_fact: Fact | None = None
    """What "forget that" refers to."""
    last_about: Heard | None = None
    """The latest fact heard about a person or pet: who "she" or "he" is next."""
    last_skill: str | None = None
    """Which skill answered the previous turn (None: none did)."""
    confirming_wipe: bool = False
    """True right after "forget everything", until the next turn answers the question."""

    def name(self) -> str | None:
        """The user's name, from memory or from this session."""
        if self.memory is not None:
            return self.memory.user_name()
        return self.session_name

    def set_name(self, name: str) -> str | None:
        """Keep the user's name (in memory, or for this session); returns the old one."""
        old = self.name()
        if self.memory is not None:
            self.memory.set_user_name(name)
        else:
            self.session_name = name
        return old


@dataclass(frozen=True)
class Said:
    """One user turn, prepared for matching."""

    raw: str
    """Cleaned text with its original capitals (for names and facts)."""
    text: str
    """Normalised and stripped of fillers: "could you um speak slower" -> "speak slower"."""

    @property
    def words(self) -> list[str]:
        return self.text.split()


Skill = Callable[[Said, SkillContext], SkillReply | None]
