"""Text mode: the conversation typed, one line per turn, from a terminal or a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time

from voiceos.commands import Context
from voiceos.conversation import Conversation
from voiceos.session import Parts, open_parts
from voiceos.textinput import LineReader
from voiceos.types import Action, UserTurn
from voiceos.ui import TerminalDisplay

logger = logging.getLogger(__name__)


def run(ctx: Context) -> int:
    return asyncio.run(_text_chat(ctx))


async def _text_chat(ctx: Context) -> int:
    config = ctx.config
    interactive = sys.stdin.isatty()
    async with open_parts(config, mute=config["conversation.mute"]) as parts:
        display = TerminalDisplay(
            ctx.out, ctx.err, parts.persona.name, show_timings=config["ui.timings"]
        )
        for notice in parts.notices:
            display.notice(notice)
        conversation = Conversation(parts.dialogue, parts.speaker, display, parts.memory)
        main = asyncio.create_task(text_loop(conversation, parts, display, interactive))
        on_interrupt(conversation, main)
        with contextlib.suppress(asyncio.CancelledError):
            await main
        if main.cancelled() and interactive:
            ctx.say()
    return 0


async def text_loop(
    conversation: Conversation,
    parts: Parts,
    display: TerminalDisplay,
    interactive: bool,
    greet: bool = True,
) -> None:
    """Typed turns until end of input, goodbye, or Ctrl-C at the prompt."""
    if greet:
        await conversation.say(parts.dialogue.greeting())
        parts.discover_after_greeting(display.notice)  # after: adds nothing before it
    reader = LineReader(sys.stdin.buffer)
    if interactive:
        display.prompt()
    async for line in reader.lines():
        if line.truncated:
            display.notice("that line was very long; I read the first part.")
        if line.text:
            turn = UserTurn(line.text, spoken=False, end_of_speech_s=time.monotonic())
            result = await conversation.turn(turn)
            if result.action is Action.END:
                return
        if interactive:
            display.prompt()


def on_interrupt(conversation: Conversation, main: asyncio.Task[None]) -> None:
    """Ctrl-C stops a reply under way; at the prompt it ends the conversation."""

    def handle() -> None:
        if conversation.busy:
            conversation.interrupt()
        else:
            main.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, handle)
