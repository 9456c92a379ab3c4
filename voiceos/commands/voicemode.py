"""Voice mode: talk through the microphone; falls back to text when the mic cannot be used."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from voiceos.audio.devices import AudioDeviceError, resolve_device
from voiceos.commands import Context
from voiceos.commands.echo_setup import build_echo
from voiceos.commands.textmode import on_interrupt, text_loop
from voiceos.config import Config
from voiceos.conversation import Conversation
from voiceos.listen.build import build_turns
from voiceos.listening import Listener, ListenOptions, ReplyWatch
from voiceos.session import Parts, open_parts
from voiceos.speak.speaker import NullSpeaker
from voiceos.stt.base import TranscriberError
from voiceos.ui import TerminalDisplay

logger = logging.getLogger(__name__)


def microphone_problem(config: Config) -> str | None:
    """Why voice mode cannot start (no input device), or None when it can."""
    try:
        resolve_device(config["audio.input_device"], "input")
    except AudioDeviceError as exc:
        return str(exc)
    return None


def run(ctx: Context) -> int:
    return asyncio.run(_voice_chat(ctx))


async def _voice_chat(ctx: Context) -> int:
    from voiceos.audio.mic import MicSource
    from voiceos.stt.factory import start_with_fallback

    config = ctx.config
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voiceos-stt")
    interactive = sys.stdin.isatty()
    async with open_parts(config, mute=config["conversation.mute"]) as parts:
        audible = not isinstance(parts.speaker, NullSpeaker)
        terminal = TerminalDisplay(
            ctx.out, ctx.err, parts.persona.name, show_state=True, show_timings=config["ui.timings"]
        )
        display = ReplyWatch(terminal, audible=audible)
        for notice in parts.notices:
            display.notice(notice)
        conversation = Conversation(parts.dialogue, parts.speaker, display, parts.memory)
        main = asyncio.current_task()
        assert main is not None
        on_interrupt(conversation, main)
        try:
            try:
                transcriber, stt_notice = await loop.run_in_executor(
                    executor, start_with_fallback, config
                )
                turns = await loop.run_in_executor(executor, build_turns, config)
            except TranscriberError as exc:
                display.notice(f"{exc} — switching to text mode.")
                await text_loop(conversation, parts, terminal, interactive)
                return 0
            if stt_notice:
                display.notice(stt_notice)
            display.notice(turns.notice)
            options = ListenOptions(barge_in=config["conversation.barge_in"], audible=audible)
            echo = build_echo(config, parts.speaker, conversation.interrupt)
            if echo.notice:
                display.notice(echo.notice)
            listener = Listener(
                conversation,
                turns.detector,
                transcriber,
                executor,
                display,
                options,
                vocabulary=parts.names,
                interrupter=echo.interrupter,
            )
            greeting: asyncio.Task[None] | None = None
            try:
                # The microphone listens while she greets: her echo is cancelled, and its
                # delay measured, from her first words; heard only after she fell silent,
                # the greeting's echo through a slow speaker became a turn of its own.
                async with MicSource(
                    config["audio.input_device"], queue_chunks=config["audio.queue_chunks"]
                ) as mic:
                    greeting = asyncio.create_task(_greet(conversation, parts, display))
                    await asyncio.sleep(0)  # it begins: she is speaking before anything is heard
                    try:
                        await listener.run(echo.chunks(mic.chunks()))
                    finally:
                        greeting.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await greeting
            except (AudioDeviceError, TranscriberError) as exc:
                # The microphone went away, or speech recognition stopped working mid-session
                # (e.g. an online engine refused the key): typing still works.
                display.notice(f"{exc} — continuing in text mode. Type to talk; Ctrl-D to leave.")
                await text_loop(conversation, parts, terminal, interactive, greet=greeting is None)
        except asyncio.CancelledError:
            if interactive:
                ctx.say()
        finally:
            with contextlib.suppress(Exception):
                executor.shutdown(wait=False, cancel_futures=True)
    return 0


async def _greet(conversation: Conversation, parts: Parts, display: ReplyWatch) -> None:
    """Say the greeting; then look for local model servers (after: adds nothing before it)."""
    await conversation.say(parts.dialogue.greeting())
    parts.discover_after_greeting(display.notice)
