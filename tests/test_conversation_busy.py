"""When the conversation counts as speaking (logic, stand-ins only).

In voice mode the greeting is said while the microphone already listens, so a reply can
begin while an interrupted greeting is still ending. The listener and barge-in read
`busy`: it must hold until the last line under way has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from voiceos.conversation import Conversation
from voiceos.speak.speaker import Spoken
from voiceos.types import Reply, Source, UserTurn


class Held:
    """A speaker whose lines end only when released."""

    def __init__(self, lines: int) -> None:
        self.release: dict[str, asyncio.Event] = {}
        self.all_begun = asyncio.Event()
        self._lines = lines

    async def say(self, sentence: str) -> Spoken:
        self.release[sentence] = asyncio.Event()
        if len(self.release) == self._lines:
            self.all_begun.set()
        await self.release[sentence].wait()
        return Spoken(sentence)

    def stop(self) -> None:
        pass


class Display:
    def __getattr__(self, name: str) -> object:
        return lambda *args, **kwargs: None


class OneLine:
    def respond(self, turn: UserTurn) -> Reply:
        async def deltas() -> AsyncIterator[str]:
            yield "Of course."

        return Reply(deltas(), Source.SKILL)


def test_busy_holds_until_the_greeting_and_the_reply_have_both_ended() -> None:
    async def run() -> None:
        speaker = Held(lines=2)
        conversation = Conversation(OneLine(), speaker, Display())  # type: ignore[arg-type]
        greeting = asyncio.create_task(conversation.say("Hi there."))
        reply = asyncio.create_task(conversation.turn(UserTurn("Hello?")))
        await speaker.all_begun.wait()  # both lines have reached the speaker
        assert conversation.busy
        speaker.release["Hi there."].set()
        await greeting
        assert conversation.busy  # the reply is still being spoken
        speaker.release["Of course."].set()
        await reply
        assert not conversation.busy

    asyncio.run(asyncio.wait_for(run(), timeout=10))
