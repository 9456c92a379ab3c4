"""The spoken conversation: audio chunks → turns → transcripts → replies, with barge-in.

Runs on any AudioSource: the microphone, or a WAV file in file mode. No device code here,
and no turn-taking rules either: those live in `voiceos.listen.turns`; this only wires
their decisions to the transcriber and the conversation.

On loudspeakers an echo stage cleans the chunks before they arrive here, and an
`Interrupter` decides whether speech heard during a reply is the user or her own echo.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from voiceos.conversation import Conversation, Display, TurnResult
from voiceos.interrupting import Interrupter
from voiceos.listen.endpointer import SpeechPaused, SpeechResumed, SpeechStarted
from voiceos.listen.turns import (
    Finishing,
    MidThought,
    Overlap,
    ReplyStatus,
    TurnDetector,
    TurnEnded,
    TurnEvent,
    classify_onset,
)
from voiceos.types import (
    PCM16,
    Action,
    AudioChunk,
    Timings,
    Transcriber,
    Transcript,
    TurnState,
    UserTurn,
)

logger = logging.getLogger(__name__)


@dataclass
class Pending:
    """A finished turn on its way to an answer."""

    ended: TurnEnded
    ended_s: float
    """When the speech stopped (time.monotonic), before the silence waited."""
    early: asyncio.Future[Transcript] | None = None
    """A transcript started during the pause, if any."""
    task: asyncio.Task[TurnResult | None] | None = None
    dropped: bool = False
    """Withdrawn: the user went on, and this part is carried into the next turn."""
    done: bool = False


@dataclass(frozen=True)
class ListenOptions:
    barge_in: bool = False
    """Speech during a reply stops it. Otherwise voiceos ignores what it hears while speaking."""
    sequential: bool = False
    """Wait for each turn before reading more audio (file mode: deterministic, no overlap)."""
    echo_guard_s: float = 0.3
    """Speech starting this soon after a spoken reply ends is taken as the reply's own tail."""
    audible: bool = True
    """Replies are played aloud; False when muted or printed only (then never an echo)."""
    sample_rate_hz: int = 16000


@dataclass
class ReplyWatch:
    """A Display that notes when the current reply first became perceptible.

    Hand the same one to the Conversation and the Listener: the first played sentence
    (SPEAKING) or, for printed replies, the first text shown is the moment after which
    speech is no longer a continuation of the user's turn.
    """

    inner: Display
    audible: bool = True
    clock: Callable[[], float] = time.monotonic
    shown_s: float = field(default=math.inf)
    turn_end: dict[str, float] = field(default_factory=dict)
    """How the current turn ended, added to its timing line."""

    def begin(self, turn_end: dict[str, float] | None = None) -> None:
        self.shown_s = math.inf
        self.turn_end = dict(turn_end or {})

    def _shown(self) -> None:
        if self.shown_s == math.inf:
            self.shown_s = self.clock()

    def state(self, state: TurnState) -> None:
        if state is TurnState.SPEAKING and self.audible:
            self._shown()
        self.inner.state(state)

    def heard(self, text: str) -> None:
        self.inner.heard(text)

    def reply_delta(self, text: str) -> None:
        if not self.audible:
            self._shown()
        self.inner.reply_delta(text)

    def reply_done(self, interrupted: bool) -> None:
        self.inner.reply_done(interrupted)

    def notice(self, line: str) -> None:
        self.inner.notice(line)

    def timings(self, timings: Timings) -> None:
        timings.extras.update(self.turn_end)
        self.inner.timings(timings)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # e.g. the terminal's prompt() in text mode


class Listener:
    """Feeds audio to the turn detector and hands finished turns to the conversation."""

    def __init__(
        self,
        conversation: Conversation,
        turns: TurnDetector,
        transcriber: Transcriber,
        executor: Executor,
        display: ReplyWatch,
        options: ListenOptions,
        clock: Callable[[], float] = time.monotonic,
        vocabulary: Callable[[], Sequence[str]] | None = None,
        interrupter: Interrupter[Pending] | None = None,
    ) -> None:
        self._conversation = conversation
        self._turns = turns
        self._transcriber = transcriber
        self._executor = executor
        self._display = display
        self._options = options
        self._clock = clock
        self._vocabulary = vocabulary
        self._interrupter = interrupter
        """Barge-in on loudspeakers (echo cancelled); None: `options.barge_in` as before."""
        self._reply_ended_s = 0.0
        """When she last fell silent (a reply, or a greeting), by `clock`; 0 before."""
        self._was_busy = False
        self._ignoring = False
        self._quiet_since_s: float | None = None
        """When her reply ended (the first chunk read since), None while she speaks."""
        self._early: asyncio.Future[Transcript] | None = None
        self._confirming: asyncio.Future[Transcript] | None = None
        self._latest: Pending | None = None
        self._settling: asyncio.Future[Transcript] | None = None
        """The words of an utterance said over her, until they decide whether it is a turn."""
        self.results: list[TurnResult] = []
        self.merges = 0
        """Turns withdrawn because the user went on, and answered with their continuation."""

    async def run(self, chunks: AsyncIterator[AudioChunk]) -> Action:
        """Converse until the audio ends or the user says goodbye."""
        queue: asyncio.Queue[Pending] = asyncio.Queue()
        worker = asyncio.create_task(self._turn_worker(queue))
        self._show_listening(queue)  # not while she greets: once she has
        try:
            async for chunk in chunks:
                if worker.done():
                    break
                busy, fell_silent = self._note_speaking()
                if fell_silent:
                    self._show_listening(queue)  # with no turn to answer
                interrupter = self._interrupter
                held = interrupter is not None and interrupter.on_chunk(busy)
                if interrupter is not None and (news := interrupter.news()):
                    self._display.notice(news)
                if interrupter is not None and (word := interrupter.held_word()) is not None:
                    # Nothing confirmed it: its words decide.
                    interrupter.judge_held(self._transcribe(word, interrupter.expected))
                if held and (self._ignoring or self._turns.idle):
                    assert interrupter is not None
                    self._restart_at_onset(interrupter.onset, queue)
                    continue
                self._close_own_voice(chunk, queue)
                if interrupter is not None:
                    chunk = interrupter.heard(chunk)
                for event in self._turns.feed(chunk):
                    self._on_event(event, queue)
                if self._options.sequential:
                    if self._confirming is not None:  # the words decide before more audio
                        await asyncio.wait({self._confirming})
                        self._confirming = None
                    await self._settle(queue, worker)
            if self._confirming is not None:
                await asyncio.wait({self._confirming})
            for event in self._turns.flush():  # the audio ended while a turn was held open
                self._on_event(event, queue)
            await self._settle(queue, worker)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        return Action.END if any(r.action is Action.END for r in self.results) else Action.NONE

    def _restart_at_onset(self, onset: list[AudioChunk], queue: asyncio.Queue[Pending]) -> None:
        """She has just been held for sound her reply cannot explain: listen afresh from
        just before it, on the cleaned audio as it was before the residue gate.

        An utterance taken for her own voice would swallow the user's words, and the gate
        silences the soft start of a word said over her; heard again from its onset, a
        short "stop" reaches the endpointer whole while she is still held.

        Only what was captured since her reply began is heard again: a hold early in a
        reply would otherwise hand the endpointer the end of the question it answers,
        an onset before the reply, taken for the user going on (the reply withdrawn).
        """
        since = self._display.shown_s if math.isfinite(self._display.shown_s) else -math.inf
        heard = [c for c in onset if not c.timestamp_s or c.timestamp_s >= since]
        logger.debug("held: listening afresh from %d chunks before", len(heard))
        self._turns.reset()
        self._ignoring, self._early, self._quiet_since_s = False, None, None
        for chunk in heard:
            for event in self._turns.feed(chunk):
                self._on_event(event, queue)

    def _close_own_voice(self, chunk: AudioChunk, queue: asyncio.Queue[Pending]) -> None:
        """End an utterance taken for her own voice once her reply is over.

        Otherwise the user speaking soon after the reply (the end of turn may wait up to
        its silence cap) would continue that utterance, and be ignored with it. The guard
        is counted in capture time: on a busy machine the chunks read here can be half a
        second old, and the user's first words must not fall into the closed utterance.
        """
        if self._conversation.busy:
            self._quiet_since_s = None
            return
        now = self._clock()
        if self._quiet_since_s is None:
            self._quiet_since_s = now  # her reply has just ended
        interrupter = self._interrupter
        dismissed = interrupter is not None and interrupter.dismissed
        if not (self._ignoring or dismissed):
            return
        captured = chunk.timestamp_s or now
        if captured - self._quiet_since_s >= self._echo_guard_s():
            logger.debug(
                "her reply is over: the utterance taken for her voice is closed "
                "(audio read %.0f ms after capture)",
                (now - captured) * 1000,
            )
            self._turns.reset()
            self._ignoring, self._early = False, None
            if interrupter is not None:
                interrupter.forget()
            self._show_listening(queue)

    def _note_speaking(self) -> tuple[bool, bool]:
        """(whether she is speaking, whether she has just fallen silent); notes when she
        falls silent after anything she said (a greeting's echo is hers as a reply's is)."""
        busy = self._conversation.busy
        fell_silent = self._was_busy and not busy
        if fell_silent:
            self._reply_ended_s = max(self._reply_ended_s, self._clock())
        self._was_busy = busy
        return busy, fell_silent

    def _echo_guard_s(self) -> float:
        """How long after she falls silent speech is taken for her own echo: the guard,
        and as long again as her echo comes late (a slow speaker, measured by the stage)."""
        late_s = 0.0 if self._interrupter is None else self._interrupter.echo_delay_s
        return self._options.echo_guard_s + late_s

    @staticmethod
    async def _settle(queue: asyncio.Queue[Pending], worker: asyncio.Task[None]) -> None:
        """Wait until queued turns are answered, or the worker ended (goodbye)."""
        joined = asyncio.ensure_future(queue.join())
        await asyncio.wait({joined, worker}, return_when=asyncio.FIRST_COMPLETED)
        joined.cancel()

    def _waiting(self) -> Pending | None:
        """The latest turn, while it waits for its answer or is being answered."""
        latest = self._latest
        return latest if latest is not None and not latest.done and not latest.dropped else None

    def _status(self) -> ReplyStatus:
        latest = self._waiting()
        pending = latest is not None
        started = latest is not None and latest.task is not None
        return ReplyStatus(
            pending=pending or self._conversation.busy,
            shown_s=(self._display.shown_s if started else math.inf) if pending else -math.inf,
            audible=self._options.audible,
            ended_s=self._reply_ended_s,
        )

    def _on_event(self, event: TurnEvent, queue: asyncio.Queue[Pending]) -> None:
        if isinstance(event, SpeechStarted):
            self._on_start(event)
        elif isinstance(event, SpeechPaused) and not self._ignoring:
            # Probably the end: transcribe during the rest of the silence, to save its time.
            self._early = self._transcribe(event.audio, self._expected())
            if self._interrupter is not None and self._interrupter.active:
                self._interrupter.judge(self._early)  # a backchannel, or "wait"?
        elif isinstance(event, Finishing) and not self._ignoring and self._early is not None:
            self._confirm_with_words(self._early, event.pause, queue)
        elif isinstance(event, MidThought) and not self._ignoring:
            why = "the words trail off" if event.words else f"P(finished) {event.probability:.2f}"
            logger.debug("mid-thought (%s): waiting for more", why)
            self._display.state(TurnState.MID_THOUGHT)
        elif isinstance(event, SpeechResumed):
            self._early = None  # the user went on; that guess is discarded
            if not self._ignoring:
                self._display.state(TurnState.HEARING)
        elif isinstance(event, TurnEnded):
            early, self._early = self._early, None
            if self._ignoring:
                seconds = len(event.audio) / self._options.sample_rate_hz
                logger.debug("ignored %.1f s of speech heard while speaking", seconds)
                self._ignoring = False
                self._show_listening(queue)
                return
            pending = Pending(event, event.captured_s or self._clock(), early)
            if self._interrupter is not None and self._interrupter.active:
                # Said over her: a backchannel lets her go on and is not a turn.
                pending.early = early or self._transcribe(event.audio, self._expected())
                self._interrupter.settle(pending, pending.early, lambda p: self._queue(p, queue))
                # Dropped (a backchannel, her own words): "listening" if nothing else is on.
                self._settling = pending.early
                pending.early.add_done_callback(lambda _: self._show_listening(queue))
                return
            self._queue(pending, queue)

    def _queue(self, pending: Pending, queue: asyncio.Queue[Pending]) -> None:
        self._latest = pending
        queue.put_nowait(pending)

    def _confirm_with_words(
        self, early: asyncio.Future[Transcript], pause: int, queue: asyncio.Queue[Pending]
    ) -> None:
        """When the pause's transcript is ready, let the turn detector finish the turn."""

        def done(future: asyncio.Future[Transcript]) -> None:
            text = "" if future.cancelled() or future.exception() else future.result().text
            for event in self._turns.transcribed(text, pause):
                self._on_event(event, queue)

        early.add_done_callback(done)
        self._confirming = early

    def _on_start(self, event: SpeechStarted) -> None:
        onset = event.captured_s or self._clock()
        status = self._status()
        overlap = classify_onset(
            onset,
            status,
            barge_in=self._options.barge_in,
            echo_guard_s=self._echo_guard_s(),
        )
        if self._interrupter is not None and status.pending and overlap is not Overlap.CONTINUATION:
            # Loudspeakers, echo cancelled: the barge-in policy tells her voice from the user's.
            self._ignoring = not self._interrupter.user_started(onset)
        else:
            self._ignoring = overlap is Overlap.OWN_VOICE
            if overlap is Overlap.CONTINUATION:
                self._withdraw_latest()
            elif overlap is Overlap.BARGE_IN:
                logger.info("barge-in: stopping the reply")
                self._conversation.interrupt()
        if self._ignoring:
            logger.debug(
                "speech taken for her own voice (onset %+.0f ms from her reply's end)",
                (onset - status.ended_s) * 1000 if status.ended_s > 0 else math.nan,
            )
        else:
            if not status.pending and 0 < onset - status.ended_s < 2.0:
                logger.debug(
                    "speech began %.0f ms after her reply ended", (onset - status.ended_s) * 1000
                )
            self._display.state(TurnState.HEARING)

    def _withdraw_latest(self) -> None:
        """The user went on: cancel the pending reply and carry its audio into this turn."""
        latest = self._waiting()
        if latest is None:
            return
        latest.dropped = True
        if latest.task is not None and not latest.task.done():
            self._conversation.interrupt()
            latest.task.cancel()
            self._display.reply_done(True)  # closes a reply line the cancel left open
        self._turns.carry(latest.ended.audio)
        self.merges += 1
        logger.info("the user went on: the pending reply is withdrawn, both parts become one turn")

    def _expected(self) -> Mapping[str, float]:
        """Phrases to listen for in the utterance under way: requests to stop, while it is
        said over her; none otherwise."""
        interrupter = self._interrupter
        return interrupter.expected if interrupter is not None and interrupter.active else {}

    def _transcribe(
        self, audio: PCM16, expect: Mapping[str, float] | None = None
    ) -> asyncio.Future[Transcript]:
        # Names the user has told are hints for the recogniser; read them here, on the
        # loop's thread, where the memory lives.
        set_vocabulary = getattr(self._transcriber, "set_vocabulary", None)
        if self._vocabulary is not None and set_vocabulary is not None:
            set_vocabulary(self._vocabulary())
        transcribe = self._transcriber.transcribe
        if expect:
            transcribe = functools.partial(transcribe, expect=expect)
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, transcribe, audio, self._options.sample_rate_hz)

    async def _turn_worker(self, queue: asyncio.Queue[Pending]) -> None:
        while True:
            pending = await queue.get()
            try:
                if pending.dropped:
                    continue
                self._display.begin(pending.ended.timing())
                pending.task = asyncio.create_task(self._answer(pending))
                try:
                    await asyncio.wait({pending.task})
                except asyncio.CancelledError:
                    pending.task.cancel()
                    raise
                if pending.task.cancelled():
                    continue
                result = pending.task.result()
                pending.done = True
                if result is None:
                    continue
                self._reply_ended_s = self._clock()
                self.results.append(result)
                if result.action is Action.END:
                    return
            finally:
                pending.done = True
                queue.task_done()
                self._show_listening(queue)

    def _show_listening(self, queue: asyncio.Queue[Pending]) -> None:
        """Show "listening" once nothing is under way: no reply, no turn waiting for one,
        and no utterance being heard or judged. A reply interrupted by the user's words
        ends while they are still being heard; a backchannel dropped while she speaks is
        not the end of her reply; what was said over her may become a turn when its words
        come, after her reply has ended."""
        settling = self._settling is not None and not self._settling.done()
        busy = self._conversation.busy or self._waiting() is not None or settling or queue.qsize()
        if not busy and self._turns.idle:
            self._display.state(TurnState.LISTENING)

    async def _answer(self, pending: Pending) -> TurnResult | None:
        ended = pending.ended
        self._display.state(TurnState.TRANSCRIBING)
        transcript = await (pending.early or self._transcribe(ended.audio))
        transcribed_s = self._clock()
        text = transcript.text.strip()  # engines already drop filler
        if not text:
            seconds = len(ended.audio) / self._options.sample_rate_hz
            logger.info("nothing intelligible in %.1f s of audio", seconds)
            return None
        self._display.heard(text)
        turn = UserTurn(text, spoken=True, end_of_speech_s=pending.ended_s)
        return await self._conversation.turn(turn, transcript_s=transcribed_s)
