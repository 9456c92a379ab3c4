"""When the display says "listening" (logic, stand-ins only).

"[listening]" tells the user it is their turn, and the audio tests wait on it. It must not
show while she still speaks (a backchannel dropped under her reply), nor while the words
that interrupted her are still being heard.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import numpy as np

from voiceos.listen.turns import TurnEnded
from voiceos.listening import Listener, ListenOptions, Pending
from voiceos.types import AudioChunk, Transcript, TurnState


class Conversation:
    def __init__(self) -> None:
        self.busy = True


class Turns:
    def __init__(self) -> None:
        self.idle = True


class Display:
    def __init__(self) -> None:
        self.states: list[TurnState] = []

    def state(self, state: TurnState) -> None:
        self.states.append(state)


class Dropping:
    """Stands in for voiceos.interrupting.Interrupter: what is said over her is a
    backchannel, dropped once its words are known."""

    active = True
    expected = ()
    echo_delay_s = 0.0

    def settle(
        self, item: Pending, transcript: asyncio.Future[Transcript], put: Callable[[Pending], None]
    ) -> None:
        self.settled = item


def _ended() -> TurnEnded:
    return TurnEnded(np.zeros(8000, np.int16), 1.0, 1.0, "finished", 600.0)


def _rig(interrupter: Dropping | None = None) -> tuple[Listener, Conversation, Turns, Display]:
    conversation, turns, display = Conversation(), Turns(), Display()
    listener = Listener(
        conversation,  # type: ignore[arg-type]
        turns,  # type: ignore[arg-type]
        transcriber=None,  # type: ignore[arg-type]
        executor=None,  # type: ignore[arg-type]
        display=display,  # type: ignore[arg-type]
        options=ListenOptions(),
        interrupter=interrupter,  # type: ignore[arg-type]
    )
    return listener, conversation, turns, display


def test_listening_shows_only_when_no_reply_turn_or_utterance_is_under_way() -> None:
    async def run() -> None:
        listener, conversation, turns, display = _rig()
        queue: asyncio.Queue[Pending] = asyncio.Queue()
        listener._show_listening(queue)  # she speaks
        conversation.busy = False
        turns.idle = False
        listener._show_listening(queue)  # the user's words are still being heard
        turns.idle = True
        waiting = Pending(_ended(), 1.0)
        listener._queue(waiting, queue)
        listener._show_listening(queue)  # a turn waits for its answer
        assert display.states == []
        queue.get_nowait()
        waiting.done = True
        listener._show_listening(queue)
        assert display.states == [TurnState.LISTENING]

    asyncio.run(run())


def test_a_backchannel_dropped_under_her_reply_does_not_show_listening() -> None:
    async def run() -> None:
        interrupter = Dropping()
        listener, conversation, _, display = _rig(interrupter)
        queue: asyncio.Queue[Pending] = asyncio.Queue()
        words: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
        listener._early = words
        listener._on_event(_ended(), queue)
        answered = asyncio.Event()  # set after the listener's own callbacks, in their order
        words.add_done_callback(lambda _: answered.set())
        words.set_result(Transcript("Yeah."))
        await answered.wait()
        assert interrupter.settled is not None and queue.empty()
        assert display.states == []  # she goes on speaking
        conversation.busy = False
        listener._show_listening(queue)  # her reply's end
        assert display.states == [TurnState.LISTENING]

    asyncio.run(run())


def test_listening_waits_for_the_words_of_what_was_said_over_her() -> None:
    async def run() -> None:
        listener, conversation, _, display = _rig(Dropping())
        queue: asyncio.Queue[Pending] = asyncio.Queue()
        words: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
        listener._early = words
        listener._on_event(_ended(), queue)
        conversation.busy = False
        listener._show_listening(queue)  # her reply ended before its words came
        assert display.states == []  # they may yet make it a turn
        answered = asyncio.Event()
        words.add_done_callback(lambda _: answered.set())
        words.set_result(Transcript("Yeah."))
        await answered.wait()
        assert display.states == [TurnState.LISTENING]  # a backchannel: nothing to answer

    asyncio.run(run())


def test_speech_ignored_as_her_voice_shows_listening_once_she_is_done() -> None:
    async def run() -> None:
        listener, conversation, _, display = _rig()
        queue: asyncio.Queue[Pending] = asyncio.Queue()
        listener._ignoring = True
        listener._on_event(_ended(), queue)
        assert display.states == []  # still speaking
        conversation.busy = False
        listener._ignoring = True
        listener._on_event(_ended(), queue)  # her echo's tail, after her reply
        assert display.states == [TurnState.LISTENING] and queue.empty()

    asyncio.run(run())


class Quiet(Turns):
    """Hears nothing in any chunk."""

    def feed(self, chunk: AudioChunk) -> list[object]:
        return []

    def flush(self) -> list[object]:
        return []


def _hearing_nothing(
    conversation: Conversation, display: Display, interrupter: object = None
) -> Listener:
    """A listener whose turn detector hears nothing in any chunk."""
    return Listener(
        conversation,  # type: ignore[arg-type]
        Quiet(),  # type: ignore[arg-type]
        transcriber=None,  # type: ignore[arg-type]
        executor=None,  # type: ignore[arg-type]
        display=display,  # type: ignore[arg-type]
        options=ListenOptions(),
        interrupter=interrupter,  # type: ignore[arg-type]
    )


def test_listening_shows_once_her_greeting_is_over() -> None:
    """She greets with the microphone already open (its echo is hers from her first word):
    "listening" shows when she falls silent, not before."""

    async def run() -> None:
        conversation, display = Conversation(), Display()
        listener = _hearing_nothing(conversation, display)
        shown: list[list[TurnState]] = []

        async def chunks() -> AsyncIterator[AudioChunk]:
            for n in range(5):
                conversation.busy = n < 3  # the greeting ends after the third chunk
                yield AudioChunk(np.zeros(512, np.int16), 16000, 0.032 * n)
                shown.append(list(display.states))

        await listener.run(chunks())
        assert shown == [[], [], [], [TurnState.LISTENING], [TurnState.LISTENING]]

    asyncio.run(run())


class Pausing:
    """Stands in for voiceos.interrupting.Interrupter: barge-in pauses at the third chunk
    (her echo is not cancelled well enough) and nothing holds her."""

    active = dismissed = False
    expected = ()
    echo_delay_s = 0.0

    def __init__(self) -> None:
        self.chunks = 0

    def on_chunk(self, speaking: bool) -> bool:
        self.chunks += 1
        return False

    def news(self) -> str | None:
        return "barge-in paused: use a headset." if self.chunks == 3 else None

    def held_word(self) -> None:
        return None

    def heard(self, chunk: AudioChunk) -> AudioChunk:
        return chunk


class Noting(Display):
    def __init__(self) -> None:
        super().__init__()
        self.notices: list[str] = []

    def notice(self, line: str) -> None:
        self.notices.append(line)


def test_the_user_is_told_when_barge_in_pauses_while_she_speaks() -> None:
    async def run() -> None:
        conversation, display = Conversation(), Noting()
        listener = _hearing_nothing(conversation, display, Pausing())
        told: list[int] = []

        async def chunks() -> AsyncIterator[AudioChunk]:
            for n in range(5):
                yield AudioChunk(np.zeros(512, np.int16), 16000, 0.032 * n)
                told.append(len(display.notices))

        await listener.run(chunks())
        assert told == [0, 0, 1, 1, 1]
        assert display.notices == ["barge-in paused: use a headset."]

    asyncio.run(run())
