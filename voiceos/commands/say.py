"""`voiceos say "text" [--voice --rate --volume] [--save]`: hear a voice before choosing it."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses

from voiceos.commands import Context


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("say", help="speak a line to preview a voice, rate or volume")
    parser.add_argument("text", nargs="+", help="what to say")
    parser.add_argument("--voice", help="voice id, accent or name, e.g. en-gb-x-rp or british")
    parser.add_argument("--rate", type=int, help="speaking rate in words per minute (80-400)")
    parser.add_argument("--volume", type=float, help="loudness, 0.0-1.0")
    parser.add_argument("--save", action="store_true", help="keep these settings")
    parser.set_defaults(run=run)


def run(ctx: Context) -> int:
    from voiceos.audio.devices import AudioDeviceError
    from voiceos.speak.settings import VoiceState, settings_from_config
    from voiceos.speak.speaker import start_device_speaker
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
    state = VoiceState(config.user_file, settings, available)
    if args.save:
        state.update(
            voice=settings.voice if args.voice is not None else None,
            rate_wpm=args.rate,
            volume=args.volume,
        )
        ctx.say(f"Saved in {config.user_file}.")

    described = f"{settings.voice}, {settings.rate_wpm} wpm, volume {settings.volume:g}"
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
    ctx.say(f"Speaking with {described}: {text}")
    try:
        asyncio.run(speaker.say(text))
    finally:
        speaker.close()
    if speaker.problem:
        ctx.warn(f"this could not be heard: {speaker.problem}")
        return 1
    return 0
