"""Closing an utterance taken for her voice once her reply is over, and what the listener
asks the transcriber for over her (logic, stand-ins only).

Her echo, or a sound judged not to be the user, can leave an utterance open when her
reply ends. It is closed `echo_guard_s` after the end, counted in capture time, so the
user's first words after the reply start a turn of their own and are not thrown away
with it, even when the chunks are read late on a busy machine.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping

import numpy as np
import pytest

from voiceos.listen.bargein import STOP_PHRASES
from voiceos.listen.endpointer import SpeechPaused, SpeechStarted
from voiceos.listening import Listener, ListenOptions, ReplyWatch
from voiceos.types import PCM16, AudioChunk, Transcript, TurnState


class Conversation:
    busy = True


class Turns:
    def __init__(self) -> None:
        self.resets = 0
        self.idle = True

    def reset(self) -> None:
        self.resets += 1


class Display:
    def __init__(self) -> None:
        self.states: list[TurnState] = []

    def state(self, state: TurnState) -> None:
        self.states.append(state)


class Interrupter:
    """Stands in for voiceos.interrupting.Interrupter: only what closing uses."""

    def __init__(self, dismissed: bool) -> None:
        self.dismissed = dismissed
        self.echo_delay_s = 0.0

    def forget(self) -> None:
        self.dismissed = False


class Rig:
    def __init__(self, interrupter: Interrupter | None = None) -> None:
        self.now = 0.0
        self.conversation = Conversation()
        self.turns = Turns()
        self.display = Display()
        self.listener = Listener(
            self.conversation,  # type: ignore[arg-type]
            self.turns,  # type: ignore[arg-type]
            transcriber=None,  # type: ignore[arg-type]
            executor=None,  # type: ignore[arg-type]
            display=ReplyWatch(inner=self.display),  # type: ignore[arg-type]
            options=ListenOptions(echo_guard_s=0.3),
            clock=lambda: self.now,
            interrupter=interrupter,  # type: ignore[arg-type]
        )

    def read(self, now: float, captured: float) -> None:
        """The listener reads a chunk captured at `captured`, at time `now`."""
        self.now = now
        chunk = AudioChunk(np.zeros(512, np.int16), 16000, captured)
        self.listener._close_own_voice(chunk, asyncio.Queue())


def test_an_ignored_utterance_is_closed_by_capture_time_not_by_reading_time() -> None:
    rig = Rig()
    rig.listener._ignoring = True  # her echo opened an utterance during the reply
    rig.read(9.9, 9.4)
    rig.conversation.busy = False  # her reply ends at 10.0
    for step in range(15):  # the chunks are read half a second after their capture
        rig.read(10.0 + 0.032 * step, 9.5 + 0.032 * step)
    assert rig.turns.resets == 0  # all captured while her reply was still playing
    assert rig.display.states == []
    rig.read(10.85, 10.35)  # captured after the guard
    assert rig.turns.resets == 1 and not rig.listener._ignoring
    assert rig.display.states == [TurnState.LISTENING]  # it is the user's turn now
    rig.read(10.9, 10.4)
    assert rig.turns.resets == 1  # a fresh utterance is left alone


@pytest.mark.parametrize("late_s", [0.0, 0.6])
def test_a_dismissed_utterance_is_closed_too(late_s: float) -> None:
    """Judged her echo after a hold, it is closed once the guard has passed; with her echo
    coming `late_s` later than the clocks say (the stage measured it: a slow speaker), as
    long again, for it goes on that long after she falls silent."""
    interrupter = Interrupter(dismissed=True)
    interrupter.echo_delay_s = late_s
    rig = Rig(interrupter)
    rig.conversation.busy = False
    rig.read(10.0, 10.0)
    rig.read(10.2 + late_s, 10.2 + late_s)
    assert rig.turns.resets == 0
    rig.read(10.31 + late_s, 10.31 + late_s)
    assert rig.turns.resets == 1 and not interrupter.dismissed


@pytest.mark.parametrize(
    ("late_s", "onset_s", "hers"), [(0.0, 6.2, True), (0.0, 6.4, False), (0.6, 6.8, True)]
)
def test_speech_just_after_a_greeting_is_her_echo(
    late_s: float, onset_s: float, hers: bool
) -> None:
    """Not only a reply: anything she said (a greeting) echoes after she falls silent, for
    the guard and as long again as her echo comes late."""
    interrupter = Interrupter(dismissed=False)
    interrupter.echo_delay_s = late_s
    rig = Rig(interrupter)
    rig.now = 5.0
    rig.listener._note_speaking()  # the greeting is being spoken
    rig.conversation.busy = False
    rig.now = 6.0
    rig.listener._note_speaking()  # ... and it has ended
    rig.listener._on_start(SpeechStarted(1.0, onset_s))
    assert rig.listener._ignoring is hers


def test_nothing_is_closed_while_she_speaks_or_when_nothing_is_ignored() -> None:
    rig = Rig(Interrupter(dismissed=False))
    rig.read(10.0, 10.0)
    rig.conversation.busy = False
    rig.read(11.0, 11.0)
    assert rig.turns.resets == 0  # the user's own utterance is never cut
    rig.listener._ignoring = True
    rig.conversation.busy = True
    rig.read(12.0, 12.0)
    assert rig.turns.resets == 0


class Transcriber:
    def __init__(self) -> None:
        self.expected: list[dict[str, float]] = []

    def transcribe(
        self, pcm16: PCM16, sample_rate_hz: int, expect: Mapping[str, float] | None = None
    ) -> Transcript:
        self.expected.append(dict(expect or {}))
        return Transcript("So.")


class Judging:
    """Stands in for voiceos.interrupting.Interrupter: an utterance under way over her."""

    expected = STOP_PHRASES

    def __init__(self, active: bool) -> None:
        self.active = active
        self.judged = 0
        self.echo_delay_s = 0.0

    def judge(self, transcript: object) -> None:
        self.judged += 1


def test_speech_over_her_is_transcribed_listening_for_requests_to_stop() -> None:
    transcriber = Transcriber()

    async def pause(over_her: bool) -> int:
        interrupter = Judging(over_her)
        listener = Listener(
            Conversation(),  # type: ignore[arg-type]
            Turns(),  # type: ignore[arg-type]
            transcriber,
            executor=None,  # type: ignore[arg-type]
            display=ReplyWatch(inner=None),  # type: ignore[arg-type]
            options=ListenOptions(),
            interrupter=interrupter,  # type: ignore[arg-type]
        )
        listener._on_event(SpeechPaused(np.zeros(1600, np.int16), 1.0), asyncio.Queue())
        assert listener._early is not None
        await listener._early
        return interrupter.judged

    assert asyncio.run(pause(over_her=True)) == 1
    assert asyncio.run(pause(over_her=False)) == 0  # an ordinary turn: nothing expected
    assert transcriber.expected == [dict(STOP_PHRASES), {}]


class FedTurns(Turns):
    def __init__(self) -> None:
        super().__init__()
        self.fed: list[AudioChunk] = []

    def feed(self, chunk: AudioChunk) -> list[object]:
        self.fed.append(chunk)
        return []


@pytest.mark.parametrize("shown_s", [10.3, math.inf])
def test_a_hold_early_in_a_reply_hears_again_only_what_came_since_it_began(
    shown_s: float,
) -> None:
    """Held 0.1 s into her reply, the half second of onset audio before the hold holds
    the end of the question she answers: heard again, its onset came before the reply
    and the question was taken for going on (the reply withdrawn; a CI run had 11 turns
    for 10 questions). Only chunks captured since she began are heard again; where her
    reply's start is not known, all of them."""
    turns = FedTurns()
    listener = Listener(
        Conversation(),  # type: ignore[arg-type]
        turns,  # type: ignore[arg-type]
        transcriber=None,  # type: ignore[arg-type]
        executor=None,  # type: ignore[arg-type]
        display=ReplyWatch(inner=Display(), shown_s=shown_s),  # type: ignore[arg-type]
        options=ListenOptions(),
        clock=lambda: 10.4,
    )
    onset = [AudioChunk(np.zeros(512, np.int16), 16000, 9.9 + k * 0.032) for k in range(16)]
    listener._restart_at_onset(onset, asyncio.Queue())
    assert turns.resets == 1
    if math.isfinite(shown_s):
        assert turns.fed and all(c.timestamp_s >= shown_s for c in turns.fed)
        assert len(turns.fed) == sum(c.timestamp_s >= shown_s for c in onset)
    else:
        assert turns.fed == onset
