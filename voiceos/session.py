"""Builds the parts of a conversation from settings, and closes them again.

Every part that can fail for reasons outside the user's control (memory, speech output, the
LLM) degrades to something that still works and leaves one notice explaining why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from voiceos import paths
from voiceos.config import Config
from voiceos.dialogue.memory import Memory, MemoryStoreError
from voiceos.dialogue.persona import Persona, load_persona
from voiceos.dialogue.router import Dialogue, build_dialogue
from voiceos.speak.settings import VoiceState, settings_from_config, with_persona
from voiceos.speak.speaker import open_speaker
from voiceos.types import Speaker, VoiceControl

logger = logging.getLogger(__name__)


@dataclass
class Parts:
    """Everything a conversation needs, opened and ready."""

    persona: Persona
    memory: Memory | None
    voice: VoiceState
    speaker: Speaker
    dialogue: Dialogue
    notices: list[str] = field(default_factory=list)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    """Tasks started during the session (discovery), cancelled when it closes."""

    def discover_after_greeting(self, notice: Callable[[str], None]) -> None:
        """Look for a local language server in the background; `notice` shows the result.

        Call it once the greeting has been spoken, so it adds nothing to the time before it.
        """

        async def discover() -> None:
            try:
                line = await self.dialogue.find_local_server()
                if line:
                    notice(line)
                    await self.dialogue.warm_up()  # the first reply then does not pay for it
            except Exception as exc:  # discovery is a bonus: it never ends a session
                logger.warning("looking for a local language server failed: %s", exc)

        self.background.append(asyncio.create_task(discover()))

    def names(self) -> list[str]:
        """Names worth listening for: the user's, those in memory, the persona's."""
        known: list[str] = []
        if self.memory is not None:
            try:
                known = self.memory.names()
            except MemoryStoreError as exc:
                logger.debug("no names from memory: %s", exc)
        return [*known, self.persona.name]


def memory_path() -> Path:
    return paths.user_data_dir() / "memory.sqlite3"


def _available_voices() -> list[str]:
    from voiceos.speak.voices import VoiceError, list_voices

    try:
        return [v.id for v in list_voices()]
    except VoiceError as exc:  # no espeak-ng: replies are printed, and there is no voice to pick
        logger.debug("no voices: %s", exc)
        return []


def open_memory(config: Config, notices: list[str]) -> Memory | None:
    """The memory store, or None (with a notice) when it cannot be used."""
    if not config["memory.enabled"]:
        return None
    memory = Memory(memory_path(), history_turns=config["memory.history_turns"])
    try:
        memory.open()
    except MemoryStoreError as exc:
        notices.append(f"{exc}. I won't remember this conversation.")
        return None
    return memory


@contextlib.asynccontextmanager
async def open_parts(
    config: Config,
    *,
    mute: bool,
    make_speaker: Callable[[VoiceControl], Speaker] | None = None,
) -> AsyncIterator[Parts]:
    """Open memory, voice, speech output and the dialogue; close them on exit.

    Args:
        config: merged settings.
        mute: print replies only.
        make_speaker: builds the speaker instead of opening the output device (file mode).
    """
    persona = load_persona(config["persona.name"])
    notices: list[str] = []
    memory = open_memory(config, notices)
    settings = with_persona(config, settings_from_config(config), persona.voice_preferences())
    voice = VoiceState(
        config.user_file,
        settings,
        _available_voices,
        piper_model=str(config["voice.piper_model"]),
    )
    notice: str | None = None
    if make_speaker is not None:
        speaker = make_speaker(voice)
    else:
        speaker, notice = open_speaker(config, voice, mute)
    if notice:
        notices.append(notice)
    piper_problem = getattr(getattr(speaker, "synth", None), "piper_problem", None)
    if piper_problem is not None:
        voice.engine_problem = piper_problem
    dialogue = build_dialogue(config, persona, memory, voice)
    # Importing and building the LLM client takes most of a second: do it in the background.
    warming = asyncio.create_task(dialogue.warm_up())
    parts = Parts(persona, memory, voice, speaker, dialogue, notices)
    try:
        yield parts
    finally:
        for task in [warming, *parts.background]:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await dialogue.aclose()
        close = getattr(speaker, "close", None)
        if close is not None:
            close()
        if memory is not None:
            memory.close()
