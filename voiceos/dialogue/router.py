"""Who answers a turn: a local skill, the language server, or the offline brain.

Skills answer first, instantly. Otherwise the language server is asked, when one is
configured and not being rested after repeated failures. If it fails before saying
anything, the user hears one short line about it and the offline brain answers that turn;
if it fails mid-reply, what was said stands and the rest is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from voiceos.dialogue.llm_errors import LLMError, LLMErrorKind
from voiceos.types import Action, Reply, Source, UserTurn

if TYPE_CHECKING:
    from voiceos.config import Config
    from voiceos.dialogue.discovery import FoundServer
    from voiceos.dialogue.memory import Memory
    from voiceos.dialogue.persona import Persona
    from voiceos.types import VoiceControl

logger = logging.getLogger(__name__)

_REASONS: dict[LLMErrorKind, str] = {
    LLMErrorKind.NO_KEY: "I don't have a key for my language server",
    LLMErrorKind.UNREACHABLE: "I can't reach my language server right now",
    LLMErrorKind.AUTH: "My language server didn't accept my key",
    LLMErrorKind.MODEL: "My language server doesn't know the model I asked for",
    LLMErrorKind.TIMEOUT: "My language server is taking too long",
    LLMErrorKind.RATE_LIMIT: "My language server is too busy right now",
    LLMErrorKind.SERVER: "My language server ran into trouble",
    LLMErrorKind.BROKEN_STREAM: "My language server sent me something garbled",
}


def failure_line(kind: LLMErrorKind, resting: bool = False) -> str:
    """The one short, in-character line the user hears when the server fails."""
    return f"{_REASONS[kind]}, so I'll answer on my own{' for a while' if resting else ''}."


class SkillReplyLike(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def action(self) -> Action: ...


class SkillsLike(Protocol):
    def handle(self, text: str) -> SkillReplyLike | None: ...


class BrainLike(Protocol):
    def reply(self, turn: UserTurn) -> AsyncIterator[str]: ...

    def greeting(self) -> str: ...


class StreamingLLM(Protocol):
    def stream(self, turn: UserTurn) -> AsyncIterator[str]: ...


class ProposerLike(Protocol):
    async def propose(self, user_text: str) -> Any: ...


@dataclass(frozen=True)
class Backoff:
    """When to stop asking a failing server, and for how long."""

    after_failures: int = 3
    """Consecutive failures before the server is rested."""
    first_s: float = 30.0
    """The first rest; each further failure doubles it."""
    max_s: float = 600.0

    def rest_s(self, failures: int) -> float:
        """How long to rest after `failures` consecutive failures (0: keep asking)."""
        if failures < self.after_failures:
            return 0.0
        return float(min(self.first_s * 2 ** (failures - self.after_failures), self.max_s))


@dataclass(frozen=True)
class Discovery:
    """How to look for a local language server when none is configured."""

    ports: Sequence[int]
    """Ports on 127.0.0.1 to probe, in order of preference."""
    wanted_model: str
    """`[llm] model`, used when the server found has it."""
    make_llm: Callable[[FoundServer], StreamingLLM]


async def _once(text: str) -> AsyncIterator[str]:
    yield text


class Dialogue:
    """Routes each turn to a skill, the language server or the offline brain."""

    def __init__(
        self,
        skills: SkillsLike,
        offline: BrainLike,
        llm: StreamingLLM | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        proposer: ProposerLike | None = None,
        discovery: Discovery | None = None,
    ) -> None:
        self._skills = skills
        self._discovery = discovery
        self.found: FoundServer | None = None
        """The local server discovery found and the dialogue now uses, if any."""
        self._offline = offline
        self._llm = llm
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._failures = 0
        self._resting_until = 0.0
        self._told_resting = False
        self._proposer = proposer
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self.last_error: LLMError | None = None
        """The most recent server failure, cleared by the next success (for the UI)."""

    @property
    def uses_llm(self) -> bool:
        return self._llm is not None

    @property
    def backing_off(self) -> bool:
        """True while the server is being rested after repeated failures."""
        return self._clock() < self._resting_until

    async def warm_up(self) -> None:
        """Get the language server client ready off the event loop, so the first reply is fast."""
        prepare = getattr(self._llm, "prepare", None)
        if prepare is not None:
            await asyncio.to_thread(prepare)

    async def find_local_server(self) -> str | None:
        """Look for a local server (see Discovery) and use it; one line to show, or None.

        Does nothing when a server is configured or discovery is off. Call warm_up() next.
        """
        if self._llm is not None or self._discovery is None or not self._discovery.ports:
            return None
        from voiceos.dialogue.discovery import find_server

        found = await find_server(self._discovery.ports, self._discovery.wanted_model)
        if found is None:
            logger.debug("discovery: no local language server on %s", list(self._discovery.ports))
            return None
        self._llm, self.found = self._discovery.make_llm(found), found
        return (
            f"Using {found.describe()} as my language server. "
            "Start with --offline (or set [llm] discover = []) to stay offline."
        )

    def greeting(self) -> str:
        """How the session opens: the persona's greeting, by name when known."""
        return self._offline.greeting()

    async def settle(self, timeout_s: float = 30.0) -> None:
        """Wait (bounded) for side tasks such as proposing facts to finish."""
        if self._side_tasks:
            await asyncio.wait(set(self._side_tasks), timeout=timeout_s)

    def _after_reply_started(self, turn: UserTurn) -> None:
        """Off the critical path: the model may propose facts from this turn."""
        if self._proposer is None:
            return
        task = asyncio.get_running_loop().create_task(self._proposer.propose(turn.text))
        self._side_tasks.add(task)
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[Any]) -> None:
        self._side_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("proposing facts failed: %s", type(task.exception()).__name__)

    async def aclose(self) -> None:
        """Let side tasks finish (briefly), then release the language server client."""
        await self.settle(timeout_s=5.0)
        for task in list(self._side_tasks):
            task.cancel()
        close = getattr(self._llm, "aclose", None)
        if close is not None:
            await close()

    def respond(self, turn: UserTurn) -> Reply:
        """Start the reply to one turn; its text streams from `Reply.deltas`."""
        skill = self._skills.handle(turn.text)
        if skill is not None:
            return Reply(_once(skill.text), Source.SKILL, skill.action)
        if self._llm is None or self.backing_off:
            return Reply(self._offline.reply(turn), Source.OFFLINE)
        return Reply(self._ask_server(self._llm, turn), Source.LLM)

    async def _ask_server(self, llm: StreamingLLM, turn: UserTurn) -> AsyncIterator[str]:
        stream = llm.stream(turn)
        said_something = False
        try:
            async for delta in stream:
                if not said_something:
                    self._after_reply_started(turn)
                said_something = True
                yield delta
        except LLMError as exc:
            error = exc
        except Exception as exc:  # a bug or an odd library error must not end the conversation
            logger.debug("language server stream failed", exc_info=True)
            kind = LLMErrorKind.BROKEN_STREAM if said_something else LLMErrorKind.UNREACHABLE
            error = LLMError(kind, f"the language server failed ({type(exc).__name__})")
        else:
            self._succeeded()
            return
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]
        resting = self._failed(error)
        if said_something:
            return  # what was said stands; the rest is dropped
        yield failure_line(error.kind, resting) + " "
        offline = self._offline.reply(turn)
        try:
            async for delta in offline:
                yield delta
        finally:
            with contextlib.suppress(Exception):
                await offline.aclose()  # type: ignore[attr-defined]

    def _succeeded(self) -> None:
        self._failures = 0
        self._resting_until = 0.0
        self._told_resting = False
        self.last_error = None

    def _failed(self, error: LLMError) -> bool:
        """Record a failure; True when it starts a rest the user has not been told about."""
        self.last_error = error
        self._failures += 1
        rest_s = self._backoff.rest_s(self._failures)
        logger.warning("language server: %s", error.message)
        if not rest_s:
            return False
        self._resting_until = self._clock() + rest_s
        logger.warning("not asking the language server again for %.0f s", rest_s)
        first = not self._told_resting
        self._told_resting = True
        return first


def choose_backend(settings: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """ "openai" or "offline" from `[llm] backend`; auto picks openai when a key or URL is set."""
    backend = str(settings.get("backend", "auto"))
    if backend != "auto":
        return backend
    configured = env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL") or settings.get("base_url")
    return "openai" if str(configured or "").strip() else "offline"


def build_dialogue(
    config: Config,
    persona: Persona,
    memory: Memory | None,
    voice: VoiceControl,
    *,
    rng: random.Random | None = None,
) -> Dialogue:
    """The dialogue for these settings: skills, the offline brain, and the LLM if chosen."""
    from voiceos.dialogue.offline import OfflineBrain
    from voiceos.dialogue.skills import Skills

    rng = rng or random.Random()
    settings = config.section("llm")
    llm = None
    proposer = None
    discovery = None
    backend = choose_backend(settings, os.environ)
    if backend == "openai":
        from voiceos.dialogue.llm import OpenAIBrain

        llm = OpenAIBrain(persona, memory, settings)
        if memory is not None and settings.get("propose_facts"):
            from voiceos.dialogue.proposing import FactProposer

            proposer = FactProposer(llm, memory)
    elif settings.get("backend") == "auto" and config["llm.discover"]:

        def make_llm(found: FoundServer) -> StreamingLLM:
            from voiceos.dialogue.llm import OpenAIBrain

            local = {**settings, "base_url": found.base_url, "model": found.model}
            return OpenAIBrain(persona, memory, local)

        # The shipped default model name is an OpenAI one: only a model the user chose
        # is looked for on local servers.
        wanted = str(settings["model"]) if "llm.model" in config.user_set else ""
        discovery = Discovery(list(config["llm.discover"]), wanted, make_llm)
    skills = Skills(memory, voice, persona, rng=rng)
    return Dialogue(
        skills,
        OfflineBrain(persona, memory, rng),
        llm,
        proposer=proposer,
        discovery=discovery,
    )
