"""The spoken conversation: audio chunks → utterances → transcripts → turns, with barge-in.

Runs on any AudioSource: the microphone, or a WAV file in file mode. No device code here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace

from voiceos.conversation import Conversation, Display, TurnResult
from voiceos.interrupting import Interrupter
from voiceos.listen.endpointer import (
    Endpointer,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)
from voiceos.types import PCM16, Action, AudioChunk, Transcriber, Transcript, TurnState, UserTurn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heard:
    """A finished utterance waiting for its turn."""

    audio: PCM16
    ended_s: float
    """When the speech stopped (time.monotonic), before the end-of-speech silence."""
    early: asyncio.Future[Transcript] | None = None
    """A transcript started during the end-of-speech silence, if any."""


@dataclass(frozen=True)
class ListenOptions:
    barge_in: bool = False
    """Speech during a reply stops it. Otherwise voiceos ignores what it hears while speaking."""
    sequential: bool = False
    """Wait for each turn before reading more audio (file mode: deterministic, no overlap)."""
    echo_guard_s: float = 0.3
    """Speech starting this soon after a reply ends is taken as the reply's own tail."""
    sample_rate_hz: int = 16000


class Listener:
    """Feeds audio to the endpointer and hands finished utterances to the conversation."""

    def __init__(
        self,
        conversation: Conversation,
        endpointer: Endpointer,
        transcriber: Transcriber,
        executor: Executor,
        display: Display,
        options: ListenOptions,
        clock: Callable[[], float] = time.monotonic,
        vocabulary: Callable[[], Sequence[str]] | None = None,
        interrupter: Interrupter[Heard] | None = None,
    ) -> None:
        self._conversation = conversation
        self._endpointer = endpointer
        self._transcriber = transcriber
        self._executor = executor
        self._display = display
        self._options = options
        self._clock = clock
        self._vocabulary = vocabulary
        self._interrupter = interrupter
        """Barge-in on loudspeakers (echo cancelled); None: `options.barge_in` as before."""
        self._reply_ended_s = 0.0
        self._ignoring = False
        self._early: asyncio.Future[Transcript] | None = None
        self.results: list[TurnResult] = []

    async def run(self, chunks: AsyncIterator[AudioChunk]) -> Action:
        """Converse until the audio ends or the user says goodbye."""
        turns: asyncio.Queue[Heard] = asyncio.Queue()
        worker = asyncio.create_task(self._turn_worker(turns))
        self._display.state(TurnState.LISTENING)
        try:
            async for chunk in chunks:
                if worker.done():
                    break
                if self._interrupter is not None:
                    self._interrupter.on_chunk(self._conversation.busy)
                for event in self._endpointer.feed(chunk):
                    self._on_event(event, turns)
                if self._options.sequential:
                    await self._settle(turns, worker)
            await self._settle(turns, worker)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        return Action.END if any(r.action is Action.END for r in self.results) else Action.NONE

    @staticmethod
    async def _settle(turns: asyncio.Queue[Heard], worker: asyncio.Task[None]) -> None:
        """Wait until queued turns are answered, or the worker ended (goodbye)."""
        joined = asyncio.ensure_future(turns.join())
        await asyncio.wait({joined, worker}, return_when=asyncio.FIRST_COMPLETED)
        joined.cancel()

    def _on_event(self, event: object, turns: asyncio.Queue[Heard]) -> None:
        speaking = self._conversation.busy
        if isinstance(event, SpeechStarted):
            recent_reply = self._clock() - self._reply_ended_s < self._options.echo_guard_s
            if speaking and self._interrupter is not None:
                self._ignoring = not self._interrupter.user_started(event.captured_s)
            elif speaking and self._options.barge_in:
                logger.info("barge-in: stopping the reply")
                self._conversation.interrupt()
                self._ignoring = False
            else:
                self._ignoring = speaking or recent_reply
            if not self._ignoring:
                self._display.state(TurnState.HEARING)
        elif isinstance(event, SpeechPaused) and not self._ignoring:
            # Probably the end: transcribe during the rest of the silence, to save its time.
            self._early = self._transcribe(event.audio)
            if self._interrupter is not None and self._interrupter.active:
                self._interrupter.judge(self._early)  # a backchannel, or "wait"?
        elif isinstance(event, SpeechResumed):
            self._early = None  # the user went on; that guess is discarded
        elif isinstance(event, SpeechEnded):
            early, self._early = self._early, None
            if self._ignoring:
                seconds = len(event.audio) / self._options.sample_rate_hz
                logger.debug("ignored %.1f s of speech heard while speaking", seconds)
                self._ignoring = False
                return
            heard = Heard(event.audio, event.captured_s or self._clock(), early)
            if self._interrupter is not None and self._interrupter.active:
                early = early or self._transcribe(event.audio)
                self._interrupter.settle(replace(heard, early=early), early, turns.put_nowait)
                return
            turns.put_nowait(heard)

    def _transcribe(self, audio: PCM16) -> asyncio.Future[Transcript]:
        # Names the user has told are hints for the recogniser; read them here, on the
        # loop's thread, where the memory lives.
        set_vocabulary = getattr(self._transcriber, "set_vocabulary", None)
        if self._vocabulary is not None and set_vocabulary is not None:
            set_vocabulary(self._vocabulary())
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(
            self._executor, self._transcriber.transcribe, audio, self._options.sample_rate_hz
        )

    async def _turn_worker(self, turns: asyncio.Queue[Heard]) -> None:
        while True:
            heard = await turns.get()
            try:
                self._display.state(TurnState.TRANSCRIBING)
                transcript = await (heard.early or self._transcribe(heard.audio))
                transcribed_s = self._clock()
                text = transcript.text.strip()  # engines already drop filler
                if not text:
                    seconds = len(heard.audio) / self._options.sample_rate_hz
                    logger.info("nothing intelligible in %.1f s of audio", seconds)
                    continue
                self._display.heard(text)
                result = await self._conversation.turn(
                    UserTurn(text, spoken=True, end_of_speech_s=heard.ended_s),
                    transcript_s=transcribed_s,
                )
                self._reply_ended_s = self._clock()
                self.results.append(result)
                if result.action is Action.END:
                    return
            finally:
                turns.task_done()
                self._display.state(TurnState.LISTENING)
