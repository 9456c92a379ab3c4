"""One turn at a time: reply text streams in, is cut into sentences, and is spoken as it comes.

No hardware here: the speaker, the dialogue and the display are handed in, so the whole
loop runs on text in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from voiceos.dialogue.memory import MemoryStoreError
from voiceos.dialogue.sentences import SentenceSplitter
from voiceos.types import Action, Reply, Source, Speaker, Spoken, Timings, TurnState, UserTurn

logger = logging.getLogger(__name__)


class Display(Protocol):
    """What the person sees. The terminal implements it; tests record it."""

    def state(self, state: TurnState) -> None: ...

    def heard(self, text: str) -> None: ...

    def reply_delta(self, text: str) -> None: ...

    def reply_done(self, interrupted: bool) -> None: ...

    def notice(self, line: str) -> None: ...

    def timings(self, timings: Timings) -> None: ...


@runtime_checkable
class PreparingSpeaker(Protocol):
    """A speaker that can synthesise a sentence ahead of playing it."""

    async def prepare(self, sentence: str) -> Any: ...

    async def play(self, utterance: Any, text: str) -> Spoken: ...

    def stop(self) -> None: ...


class Responder(Protocol):
    """The dialogue: skills, then an LLM or the offline brain."""

    def respond(self, turn: UserTurn) -> Reply: ...


class History(Protocol):
    """Where finished turns are recorded (the memory store)."""

    def add_turn(self, role: str, text: str) -> None: ...


@dataclass
class TurnResult:
    """What happened in one turn."""

    action: Action
    source: Source
    said: str
    """The reply text as generated (printed)."""
    heard: str
    """The part of the reply that was actually spoken before any interruption."""
    interrupted: bool
    timings: Timings = field(default_factory=Timings)


class Conversation:
    """Runs turns: respond, stream to the display, speak sentence by sentence, record."""

    def __init__(
        self,
        dialogue: Responder,
        speaker: Speaker,
        display: Display,
        history: History | None = None,
    ) -> None:
        self._dialogue = dialogue
        self._speaker = speaker
        self._display = display
        self._history = history
        self._interrupted = asyncio.Event()
        self._speaking = 0
        """Lines under way (a reply may begin while an interrupted greeting ends)."""
        self._told_problem: str | None = None
        self._told_memory = False

    @property
    def busy(self) -> bool:
        """True while a reply is being generated or spoken."""
        return self._speaking > 0

    def interrupt(self) -> None:
        """Stop the reply under way: speech stops now and the rest is dropped."""
        if self._speaking:
            self._interrupted.set()
            self._speaker.stop()

    async def say(self, text: str) -> Spoken:
        """Speak a line that is not a reply to anything (a greeting, a notice).

        Busy while it speaks, so Ctrl-C stops it as it stops a reply.
        """
        self._display.reply_delta(text)
        self._display.reply_done(False)
        self._speaking += 1
        try:
            return await self._speaker.say(text)
        finally:
            self._speaking -= 1

    async def turn(self, turn: UserTurn, transcript_s: float = 0.0) -> TurnResult:
        """Answer one user turn and record what was heard.

        Args:
            turn: what the user said or typed.
            transcript_s: when its transcript was ready (time.monotonic), for the timings.
        """
        self._speaking += 1
        self._interrupted.clear()
        timings = Timings(
            end_of_speech_s=turn.end_of_speech_s or time.monotonic(), transcript_s=transcript_s
        )
        try:
            self._display.state(TurnState.THINKING)
            reply = self._dialogue.respond(turn)
            if reply.action is Action.STOP:
                self._speaker.stop()
            said, spoken = await self._stream(reply.deltas, timings)
        finally:
            self._speaking -= 1
        interrupted = self._interrupted.is_set() or any(s.interrupted for s in spoken)
        heard = " ".join(s.text for s in spoken if s.text)
        self._display.reply_done(interrupted)
        self._report_speaker_problem()
        if self._history is not None and turn.text:
            self._record(turn.text, heard)
        if timings.first_audio_s == 0.0 and spoken:
            timings.first_audio_s = next((s.first_audio_s for s in spoken if s.first_audio_s), 0)
        self._display.timings(timings)
        return TurnResult(reply.action, reply.source, said, heard, interrupted, timings)

    def _record(self, said: str, heard: str) -> None:
        """Add the turn to the history; a memory failure is said once, never fatal."""
        assert self._history is not None
        try:
            self._history.add_turn("user", said)
            if heard:
                self._history.add_turn("assistant", heard)
        except MemoryStoreError as exc:  # e.g. locked by another voiceos for too long
            if not self._told_memory:
                self._told_memory = True
                self._display.notice(f"{exc}; this conversation may not all be remembered.")
            logger.info("turn not recorded: %s", exc)

    def _report_speaker_problem(self) -> None:
        """Say once when speech output failed mid-session (e.g. the device vanished)."""
        problem = getattr(self._speaker, "problem", None)
        if problem and problem != self._told_problem:
            self._told_problem = problem
            self._display.notice(f"{problem}; replies are printed only from now on.")

    async def _stream(
        self, deltas: AsyncIterator[str], timings: Timings
    ) -> tuple[str, list[Spoken]]:
        """Print deltas as they come while a second task speaks finished sentences."""
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        spoken: list[Spoken] = []
        speaking = asyncio.create_task(self._speak(sentences, spoken, timings))
        splitter = SentenceSplitter()
        parts: list[str] = []
        try:
            async for delta in self._until_interrupted(deltas):
                if not delta:
                    continue
                if not timings.first_text_s:
                    timings.first_text_s = time.monotonic()
                parts.append(delta)
                self._display.reply_delta(delta)
                for sentence in splitter.feed(delta):
                    self._queue_sentence(sentences, sentence, timings)
            if not self._interrupted.is_set():
                for sentence in splitter.flush():
                    self._queue_sentence(sentences, sentence, timings)
        finally:
            with contextlib.suppress(Exception):
                await deltas.aclose()  # type: ignore[attr-defined]
            sentences.put_nowait(None)
            await speaking
        return "".join(parts), spoken

    async def _until_interrupted(self, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        """`deltas` until the turn is interrupted, even mid-wait (a slow language server)."""
        stop = asyncio.ensure_future(self._interrupted.wait())
        try:
            while not self._interrupted.is_set():
                step = asyncio.ensure_future(anext(deltas))
                await asyncio.wait({step, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    step.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await step
                    return
                try:
                    delta = step.result()
                except StopAsyncIteration:
                    return
                yield delta
        finally:
            stop.cancel()

    @staticmethod
    def _queue_sentence(
        sentences: asyncio.Queue[str | None], sentence: str, timings: Timings
    ) -> None:
        if not timings.first_sentence_s:
            timings.first_sentence_s = time.monotonic()
        sentences.put_nowait(sentence)

    async def _speak(
        self, sentences: asyncio.Queue[str | None], spoken: list[Spoken], timings: Timings
    ) -> None:
        """Speak queued sentences in order, synthesising the next while one plays."""
        speaker = self._speaker
        if not isinstance(speaker, PreparingSpeaker):
            while (sentence := await sentences.get()) is not None:
                if not self._interrupted.is_set():
                    self._display.state(TurnState.SPEAKING)
                    self._heard(await speaker.say(sentence), spoken, timings)
            return

        async def fetch() -> tuple[str, Any] | None:
            sentence = await sentences.get()
            if sentence is None:
                return None
            if self._interrupted.is_set():
                return sentence, None
            try:
                return sentence, await speaker.prepare(sentence)
            except Exception as exc:  # a sentence espeak cannot render is printed, not spoken
                logger.warning("could not synthesise %r: %s", sentence[:40], exc)
                return sentence, None

        ahead = asyncio.create_task(fetch())
        try:
            while (item := await ahead) is not None:
                sentence, utterance = item
                ahead = asyncio.create_task(fetch())
                if self._interrupted.is_set():
                    continue
                if utterance is None:
                    spoken.append(Spoken(sentence))
                    continue
                self._display.state(TurnState.SPEAKING)
                self._heard(await speaker.play(utterance, sentence), spoken, timings)
        finally:
            ahead.cancel()

    def _heard(self, result: Spoken, spoken: list[Spoken], timings: Timings) -> None:
        if result.first_audio_s and not timings.first_audio_s:
            timings.first_audio_s = result.first_audio_s
        spoken.append(result)
        if result.interrupted:
            self._interrupted.set()
