"""File mode: `voiceos --input-wav IN.wav [--output-wav OUT.wav]`. Needs no audio device.

The recording goes through the same endpointer, transcriber and dialogue as the microphone;
what voiceos says is printed, and written to OUT.wav when given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from voiceos.audio.pcm import AudioFormatError
from voiceos.audio.wavsource import WavSource
from voiceos.commands import Context
from voiceos.conversation import Conversation
from voiceos.listen.build import build_turns
from voiceos.listening import Listener, ListenOptions, ReplyWatch
from voiceos.session import open_parts
from voiceos.speak.engines import Engines
from voiceos.speak.speaker import NullSpeaker, WavSpeaker, engine_notice
from voiceos.speak.synth import SynthError
from voiceos.stt.base import TranscriberError
from voiceos.stt.factory import start_with_fallback
from voiceos.types import Speaker, VoiceControl
from voiceos.ui import TerminalDisplay

logger = logging.getLogger(__name__)


def run(ctx: Context) -> int:
    try:
        return asyncio.run(_file_chat(ctx))
    except AudioFormatError as exc:
        ctx.warn(str(exc))
        return 2
    except (TranscriberError, SynthError) as exc:
        ctx.warn(str(exc))
        return 1


def _printed_only(voice: VoiceControl) -> Speaker:
    return NullSpeaker()


async def _file_chat(ctx: Context) -> int:
    config = ctx.config
    args = ctx.args
    loop = asyncio.get_running_loop()
    source = WavSource(args.input_wav)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voiceos-stt")
    make_speaker: Callable[[VoiceControl], Speaker] = _printed_only
    speech_notice: str | None = None
    if args.output_wav is not None:
        synth = Engines(str(config["voice.piper_model"]))
        synth.first_engine = str(config["voice.engine"])
        await loop.run_in_executor(executor, synth.start)
        speech_notice = engine_notice(synth)
        make_speaker = partial(WavSpeaker, synth, path=args.output_wav)
    try:
        async with open_parts(config, mute=True, make_speaker=make_speaker) as parts:
            display = ReplyWatch(
                TerminalDisplay(
                    ctx.out, ctx.err, parts.persona.name, show_timings=config["ui.timings"]
                ),
                audible=False,
            )
            for notice in [*parts.notices, *filter(None, [speech_notice])]:
                display.notice(notice)
            transcriber, stt_notice = await loop.run_in_executor(
                executor, start_with_fallback, config
            )
            if stt_notice:
                display.notice(stt_notice)
            turns = await loop.run_in_executor(executor, build_turns, config)
            if turns.fell_back:
                display.notice(turns.notice)  # said only when smart mode could not start
            conversation = Conversation(parts.dialogue, parts.speaker, display, parts.memory)
            listener = Listener(
                conversation,
                turns.detector,
                transcriber,
                executor,
                display,
                ListenOptions(sequential=True, echo_guard_s=0.0, audible=False),
                vocabulary=parts.names,
            )
            await listener.run(source.chunks())
            if not listener.results:
                display.notice(f"I didn't hear any speech in {args.input_wav}.")
    finally:
        executor.shutdown(wait=True)
    return 0
