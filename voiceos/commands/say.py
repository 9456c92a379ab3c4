"""`voiceos say "text" [--engine --voice --rate --volume] [--save]`: hear a voice first."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from pathlib import Path

from voiceos.commands import Context


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("say", help="speak a line to preview a voice, rate or volume")
    parser.add_argument("text", nargs="+", help="what to say")
    parser.add_argument("--engine", choices=("pyttsx3", "piper"), help="speech engine")
    parser.add_argument("--voice", help="voice id, accent or name, e.g. en-gb-x-rp or british")
    parser.add_argument("--rate", type=int, help="speaking rate in words per minute (80-400)")
    parser.add_argument("--volume", type=float, help="loudness, 0.0-1.0")
    parser.add_argument("--save", action="store_true", help="keep these settings")
    parser.set_defaults(run=run)


def run(ctx: Context) -> int:
    from voiceos.audio.devices import AudioDeviceError
    from voiceos.speak.piper_synth import BUNDLED_VOICE
    from voiceos.speak.settings import VoiceState, settings_from_config
    from voiceos.speak.speaker import engine_notice, start_device_speaker
    from voiceos.speak.synth import SynthError
    from voiceos.speak.voices import VoiceError, list_voices

    args = ctx.args
    text = " ".join(args.text).strip()
    if not text:
        ctx.warn("say: nothing to say; give some text, e.g. voiceos say 'Hello there'")
        return 2
    config = ctx.config  # flags are merged in and range-checked here

    def available() -> list[str]:
        return [v.id for v in list_voices()]

    settings = settings_from_config(config)
    try:
        state = VoiceState(config.user_file, settings, available)
        settings = dataclasses.replace(settings, voice=state.resolve(settings.voice))
    except VoiceError as exc:
        ctx.warn(str(exc))
        return 1
    piper_model = str(config["voice.piper_model"])
    state = VoiceState(config.user_file, settings, available, piper_model=piper_model)
    if args.save:
        state.update(
            voice=settings.voice if args.voice is not None else None,
            rate_wpm=args.rate,
            volume=args.volume,
            engine=args.engine,
        )
        ctx.say(f"Saved in {config.user_file}.")

    voice_name = settings.voice
    if settings.engine == "piper":
        voice_name = f"Piper {Path(piper_model).stem if piper_model else BUNDLED_VOICE}"
    described = f"{voice_name}, {settings.rate_wpm} wpm, volume {settings.volume:g}"
    if config["conversation.mute"]:
        ctx.say(f"{described}: {text}")
        ctx.warn("muted, so nothing is played (drop --mute to hear it)")
        return 0
    try:
        speaker = start_device_speaker(config, state)
    except (SynthError, AudioDeviceError) as exc:
        ctx.say(f"{described}: {text}")
        ctx.warn(f"this cannot be heard: {exc}")
        return 1
    fallback = engine_notice(speaker.synth)
    if fallback:
        ctx.warn(fallback)
        described = f"{settings.voice}, {settings.rate_wpm} wpm, volume {settings.volume:g}"
    ctx.say(f"Speaking with {described}: {text}")
    try:
        asyncio.run(speaker.say(text))
    finally:
        speaker.close()
    if speaker.problem:
        ctx.warn(f"this could not be heard: {speaker.problem}")
        return 1
    return 0
