"""Barge-in on loudspeakers, wired: the echo stage's levels, the policy, the player's pause.

The Listener calls in at four points (each chunk, speech start, a likely end, the end);
this class turns the policy's verdicts into actions: hold or resume the reply, or
interrupt it and hand the user's utterance on as the next turn. A backchannel is dropped:
history keeps only what was said to her, not "mm-hmm".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

import numpy as np

from voiceos.audio.echostage import EchoStage
from voiceos.listen.bargein import (
    STOP_PHRASES,
    BargeInPolicy,
    Phase,
    Verdict,
    is_backchannel,
    is_own_words,
)
from voiceos.types import PCM16, AudioChunk, Transcript

logger = logging.getLogger(__name__)

T = TypeVar("T")

HALF_CHUNK_S = 0.016
"""Capture stamps of two outputs of one chunk differ by less than this."""
SAID_SENTENCES = 2
"""Her latest sentences whose words, heard back, are taken for her echo: a hold can come
at a sentence's start, while the previous one still echoes."""


class Interrupter(Generic[T]):
    """Acts on the barge-in policy.

    Args:
        stage: the echo stage whose `last` levels describe the chunk just read.
        policy: decides user versus echo, backchannel versus interruption.
        hold: pauses (True) or resumes (False) the reply's playback.
        interrupt: stops the reply for good.
        playing: the sentence being played (her words heard back are her echo).
    """

    def __init__(
        self,
        stage: EchoStage,
        policy: BargeInPolicy,
        hold: Callable[[bool], None],
        interrupt: Callable[[], None],
        playing: Callable[[], str] = lambda: "",
    ) -> None:
        self._stage = stage
        self._policy = policy
        self._hold = hold
        self._interrupt = interrupt
        self._playing = playing
        self._active = False
        self._verdict: Verdict | None = None
        """What became of the user's utterance under way: None while undecided."""
        self._holding = False
        self._said: deque[str] = deque(maxlen=SAID_SENTENCES)
        self._held: list[AudioChunk] = []
        """What was heard from just before the hold on: a word too short to confirm."""
        self._word: PCM16 | None = None
        self._onset: list[AudioChunk] = []
        self._fitted = False
        """The stage fitted her echo path at the latest hold (`EchoStage.look_back`)."""
        self._held_from: int | None = None
        """Where the microphone stood as the sound that held her began (`EchoStage.mark`)."""
        self._holds = 0
        """Holds so far: a transcript asked for at one hold says nothing of a later one."""

    @property
    def active(self) -> bool:
        """An utterance taken for the user's is under way while she speaks."""
        return self._active

    @property
    def echo_delay_s(self) -> float:
        """How much later than the clocks say her echo arrives (`EchoStage.echo_delay_s`):
        it goes on that much longer after she falls silent."""
        return self._stage.echo_delay_s

    @property
    def expected(self) -> Mapping[str, float]:
        """Phrases to listen for in what is said over her (`Transcriber.transcribe`'s
        `expect`): the requests to stop that Whisper mishears there most."""
        return STOP_PHRASES

    @property
    def dismissed(self) -> bool:
        """The utterance under way was judged not the user's (her echo, or a backchannel)."""
        return self._active and self._verdict is Verdict.RESUME

    def news(self) -> str | None:
        """One line for the user when barge-in has paused (her echo is not cancelled well
        enough here) or come back, since last asked; None otherwise."""
        return self._policy.news()

    def forget(self) -> None:
        """The utterance under way was closed unheard: nothing is left to settle."""
        self._active, self._verdict = False, None

    def on_chunk(self, speaking: bool) -> bool:
        """After each chunk read from the stage. True when she has just been held: sound
        her reply cannot explain began a moment ago."""
        stage = self._stage
        if speaking:
            self._note_said(self._playing())
        verdicts = self._policy.frame(
            stage.last, speaking, stage.erle_db, lambda: stage.unexplained_since_db(self._held_from)
        )
        self._act(verdicts)
        if not speaking and self._holding:
            self._holding, self._held = False, []
            self._forget_fit()
            self._hold(False)  # the reply is over; the next one must not start paused
        return Verdict.HOLD in verdicts

    def heard(self, chunk: AudioChunk) -> AudioChunk:
        """What the endpointer hears of `chunk`, the stage's output just read.

        While she is held for the user (or stopped by them): the microphone less her echo
        through the echo path fitted at the hold (`EchoStage.look_back`), where that fit
        was good. Otherwise the double-talk detector's output, where it keeps the user
        whole. That is while its filter counts, or once her
        echo has died away: AEC3 goes on suppressing for a while after she falls silent,
        and crushes a short "stop" into pieces Whisper hears as "okay", while the linear
        filter, with no reference left to cancel, passes the microphone through. Never
        where the detector's output is louder than the microphone: its filter has lost
        her echo path and plays her voice back. Otherwise `chunk`, gated as it was.

        The two outputs are cut into frames of their own, so the detector's chunk may be
        a little shorter or longer (the endpointer takes any length)."""
        if self._policy.phase is Phase.IDLE:
            return chunk
        frame, detected = self._stage.last, self._stage.recent_detected
        looked = self._stage.hindsight() if self._fitted else None
        if looked:
            chunk = looked[0]
        elif frame is not None and self._stage.detecting and not frame.detector_adds:
            chunk = detected[-1]
        held = self._held  # kept for `held_word`; the hold's own chunk is there already
        if (
            self._policy.phase in (Phase.HELD, Phase.DECIDING)
            and held
            and chunk.timestamp_s > held[-1].timestamp_s + HALF_CHUNK_S
        ):
            held.append(chunk)
        return chunk

    def held_word(self) -> PCM16 | None:
        """Audio to transcribe for `judge_held`, once, when the policy asks: what was heard
        from just before the hold, where the endpointer made no utterance of it."""
        word, self._word = self._word, None
        return word

    def judge_held(self, transcript: asyncio.Future[Transcript]) -> None:
        """The transcript of `held_word()`: a request to stop stops her."""
        transcript.add_done_callback(self._for_this_hold(self._on_held_word))

    def _on_held_word(self, future: asyncio.Future[Transcript]) -> None:
        self._on_transcript(future, held_word=True)

    @property
    def onset(self) -> list[AudioChunk]:
        """`onset_audio()` as it was at the latest hold: what to listen afresh from."""
        return self._onset

    def onset_audio(self) -> list[AudioChunk]:
        """The latest cleaned chunks, ungated: what led up to a hold, heard whole.

        AEC3 crushes the first syllables of a user talking over her. With a good fit of
        her echo path made at the hold, the chunks are the microphone less her echo through
        it; otherwise, while the double-talk detector counts, the chunks that held her (and
        one before) come from its linear filter, which keeps them."""
        recent = list(self._stage.recent)
        looked = self._stage.hindsight(len(recent)) if self._fitted else None
        if looked:
            return looked
        detected = list(self._stage.recent_detected)
        if not self._stage.detecting or len(detected) != len(recent):
            return recent
        k = min(len(recent), self._policy.settings.onset_chunks + 1)
        spliced = recent[: len(recent) - k] + detected[len(recent) - k :]
        return [c for c in spliced if len(c.samples)]

    def user_started(self, captured_s: float) -> bool:
        """The endpointer confirmed speech while she speaks: True if it is the user."""
        self._active = self._policy.speech_started(captured_s)
        self._verdict = None
        return self._active

    def judge(self, transcript: asyncio.Future[Transcript]) -> None:
        """An early transcript of the utterance so far (the user paused)."""
        if self._policy.phase in (Phase.HELD, Phase.DECIDING):
            self._policy.expect_transcript()
            on_transcript = self._for_this_hold(lambda f: self._on_transcript(f, final=False))
            transcript.add_done_callback(on_transcript)

    def _for_this_hold(
        self, judge: Callable[[asyncio.Future[Transcript]], object]
    ) -> Callable[[asyncio.Future[Transcript]], None]:
        """`judge`, unless she has been held again since: the words of what held her
        before (her echo, say) must not decide what holds her now (the user's "stop")."""
        hold = self._holds

        def judged(future: asyncio.Future[Transcript]) -> None:
            if hold != self._holds:
                logger.debug("a transcript from an earlier hold: set aside")
                return
            judge(future)

        return judged

    def settle(
        self, item: T, transcript: asyncio.Future[Transcript], put: Callable[[T], None]
    ) -> None:
        """The user's utterance ended: `put` it as a turn unless it was a backchannel."""
        self._active = False

        def take(item: T) -> None:
            self._policy.turn_taken()
            put(item)

        if self._verdict is Verdict.INTERRUPT:
            take(item)
        elif self._verdict is None:
            self._policy.expect_transcript()

            def decided(future: asyncio.Future[Transcript]) -> None:
                text = self._on_transcript(future)
                # No verdict: the reply ended meanwhile; what the user said is still a turn,
                # unless it is her own last words heard back.
                if self._verdict is Verdict.INTERRUPT or (
                    self._verdict is None
                    and not is_backchannel(text)
                    and not is_own_words(text, self._said_text())
                ):
                    take(item)
                elif self._verdict is None:
                    logger.info("heard %r as her reply ended: her own words, not a turn", text)

            transcript.add_done_callback(decided)
        else:
            logger.debug("dropped a backchannel heard while speaking")

    def _on_transcript(
        self, future: asyncio.Future[Transcript], final: bool = True, held_word: bool = False
    ) -> str:
        if future.cancelled():
            return ""
        error = future.exception()
        heard = None if error is not None else future.result()
        text = "wait" if heard is None else heard.text
        if error is not None:
            logger.info("early transcript failed (%s): treated as an interruption", error)
        readings, sure = ((), True) if heard is None else (heard.readings, heard.sure)
        held_from = self._held_from if heard is not None else None
        verdicts = self._policy.transcript(
            text,
            self._said_text(),
            final,
            readings,
            sure,
            lambda: self._stage.unexplained_since_db(held_from),
            held_word,
        )
        if Verdict.RESUME in verdicts:
            self._verdict = Verdict.RESUME
        self._act(verdicts)
        return text

    def _log_delay(self) -> None:
        """How long after the capture of the sound that held her the hold came (the
        input's buffering and the stage's work; the player logs the rest)."""
        lag_s = time.monotonic() - self._stage.captured_until_s
        if self._stage.captured_until_s and 0.0 <= lag_s < 1.0:
            logger.debug("held: %.0f ms after the sound that held her was captured", lag_s * 1000)

    def _forget_fit(self) -> None:
        """She plays on: a fit of her echo path drifts away from it within seconds."""
        if self._fitted:
            self._fitted = False
            self._stage.forget_fit()

    def _note_said(self, sentence: str) -> None:
        if sentence and (not self._said or self._said[-1] != sentence):
            self._said.append(sentence)

    def _said_text(self) -> str:
        """Her latest sentences, the one being played included."""
        self._note_said(self._playing())
        return " ".join(self._said)

    def _act(self, verdicts: list[Verdict]) -> None:
        for verdict in verdicts:
            if verdict is Verdict.HOLD:
                # Silence her first: fitting her echo path below takes milliseconds that
                # would otherwise be heard.
                self._hold(True)
                self._log_delay()
                self._holding, self._holds = True, self._holds + 1
                self._held_from = self._stage.mark(self._policy.settings.onset_chunks)
                self._fitted = self._stage.look_back()
                self._onset = self.onset_audio()
                self._held, self._word = list(self._onset), None
            elif verdict is Verdict.TRANSCRIBE:
                if self._held:
                    self._word = np.concatenate([c.samples for c in self._held])
                else:  # nothing was kept to transcribe: nothing to wait for
                    self._act(self._policy.transcript("", self._said_text()))
            elif verdict is Verdict.RESUME:
                if self._active and self._verdict is None:
                    self._verdict = verdict  # not the user after all: drop the utterance
                self._holding, self._held = False, []
                self._forget_fit()
                self._hold(False)
            else:
                self._held = []
                self._verdict = verdict
                logger.info("barge-in: stopping the reply")
                self._interrupt()
                self._holding = False
                self._hold(False)
