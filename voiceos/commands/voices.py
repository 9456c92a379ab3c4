"""`voiceos voices [--lang en]`: the voices of both engines, with the one in use marked."""

from __future__ import annotations

import argparse

from voiceos.commands import Context

VARIANT_EXAMPLES = ("f1", "f2", "f3", "f4", "m1", "m3", "whisperf")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("voices", help="list the voices voiceos can speak with")
    parser.add_argument("--lang", help="only voices for this language, e.g. en or en-gb")
    parser.set_defaults(run=run)


def run(ctx: Context) -> int:
    from voiceos.speak.voices import VoiceError, list_variants, list_voices, split_variant

    current = str(ctx.config["voice.voice"])
    try:
        voices = list_voices(ctx.args.lang)
        variants = set(list_variants())
    except VoiceError as exc:
        ctx.warn(str(exc))
        return 1
    if not voices:
        ctx.warn(f"no voices for language {ctx.args.lang!r}; try `voiceos voices` for all")
        return 1
    base, variant = split_variant(current)
    id_width = max(len("ID"), *(len(v.id) for v in voices))
    name_width = max(len("NAME"), *(len(v.name) for v in voices))
    ctx.say(f"  {'ID':<{id_width}}  {'NAME':<{name_width}}  LANGUAGES")
    for voice in voices:
        mark = "*" if voice.id == base.lower() else " "
        languages = ", ".join(voice.languages)
        ctx.say(f"{mark} {voice.id:<{id_width}}  {voice.name:<{name_width}}  {languages}")
    in_use = f"* in use: {current}"
    if variant is not None:
        in_use += f" (voice {base} with variant {variant})"
    ctx.say(in_use)
    examples = ", ".join(v for v in VARIANT_EXAMPLES if v in variants)
    if examples:
        ctx.say(
            f"Add +VARIANT for another timbre, e.g. {base}+f3; variants include {examples} "
            f"({len(variants)} in all)."
        )
    _piper_voices(ctx)
    return 0


def _piper_voices(ctx: Context) -> None:
    from voiceos.speak.piper_synth import list_piper_voices, model_file, problem

    config = ctx.config
    ctx.say()
    ctx.say('Piper (engine = "piper", a natural voice):')
    why = problem("")
    configured = str(config["voice.piper_model"])
    voices = list_piper_voices(configured)
    lang = (ctx.args.lang or "").lower().replace("-", "_")
    voices = [v for v in voices if not lang or v.language.lower().startswith(lang)]
    if not voices:
        ctx.say(f"  none: {why}" if why else "  none for this language")
        return
    try:
        active = model_file(configured).resolve() if config["voice.engine"] == "piper" else None
    except Exception:  # noqa: BLE001 - only decides the mark
        active = None
    for voice in voices:
        mark = "*" if active is not None and voice.path.resolve() == active else " "
        ctx.say(f"{mark} {voice.id:<{20}}  {voice.language:<6}  {voice.path}")
    ctx.say(
        "Use one with `voiceos config set voice.engine piper`; another Piper voice with "
        "`voiceos config set voice.piper_model PATH.onnx`."
    )
