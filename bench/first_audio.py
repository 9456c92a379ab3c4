"""Speech output: synthesis time per sentence, and say() to the first audible sample.

Run with the virtual devices up (scripts/audiolab.sh start):
    .venv/bin/python -m bench.first_audio [--sentences 30] [--engine both|pyttsx3|piper]

Both engines are measured in one run, one after the other, and RSS after each is loaded.
Figures per sentence:
- synthesis: the engine rendering the whole sentence to PCM;
- ready to play: prepare() until playback can start (espeak-ng: the whole sentence;
  Piper: its first phrase, the rest is synthesised while it plays);
- first audio (PortAudio): say() call to when PortAudio says the first sample reaches
  the device (the callback time plus the stream's reported buffer delay);
  each sentence starts half a second after the last one ended, as a reply does after the
  user spoke, so the player restarts its idle stream for it;
- first audio (captured): say() call to the first sample above 16 (of 32767) recorded
  from the virtual speaker's monitor, counted in recorded samples. This also includes
  the recorder's own delivery delay (about 10-20 ms), so it overstates a little.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path

import psutil

from bench.stats import header, summary
from voiceos.audio.player import LATENCY_S, Player
from voiceos.speak.engines import Engines
from voiceos.speak.speaker import DeviceSpeaker
from voiceos.types import VoiceSettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lab import RECORD_RATE_HZ, SpeakerRecorder, lab_available  # noqa: E402

SENTENCES = [
    "Good morning.",
    "It's twenty past nine.",
    "I remember you told me about your sister's wedding.",
    "That sounds like a lovely way to spend a Sunday afternoon.",
    "Sure, I'll speak a little slower.",
    "Today is Tuesday, the fourth of March.",
    "Hello Theo, it's good to hear your voice again.",
    "I'm not sure, but I'd love to think it through with you.",
    "What made you think of that?",
    "Okay.",
    "I can tell you the time, remember things for you, and change how I sound.",
    "Goodbye for now, talk soon.",
    "You mentioned you were learning the piano; how is that going?",
    "Let me think about that for a second.",
    "Of course.",
]


class FixedVoice:
    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings

    def current(self) -> VoiceSettings:
        return self.settings

    def update(self, **_: object) -> VoiceSettings:
        return self.settings

    def voice_ids(self) -> list[str]:
        return [self.settings.voice]


async def run_engine(count: int, settings: VoiceSettings, latency: float) -> None:
    synth_ms: list[float] = []
    ready_ms: list[float] = []
    portaudio_ms: list[float] = []
    captured_ms: list[float] = []
    player = Player(latency=latency)
    engines = Engines()
    engines.first_engine = settings.engine
    speaker = DeviceSpeaker(engines, player, FixedVoice(settings))
    speaker.start()
    if engines.fallback:
        raise SystemExit(f"{settings.engine}: {engines.fallback}")
    rss_mb = psutil.Process().memory_info().rss / 2**20
    recorder = SpeakerRecorder() if lab_available() else None
    try:
        if recorder is not None:
            recorder.start()
        # One warm-up sentence, not counted (first stream buffers, page faults).
        await speaker.say("Warming up.")
        for i in range(count):
            sentence = SENTENCES[i % len(SENTENCES)]
            started = time.monotonic()
            engines.synthesize(sentence, settings)  # the worker is idle between sentences
            synth_ms.append((time.monotonic() - started) * 1000)
            start_sample = recorder.sample_count() if recorder else 0
            called = time.monotonic()
            utterance = await speaker.prepare(sentence)
            ready_ms.append((time.monotonic() - called) * 1000)
            spoken = await speaker.play(utterance, sentence)
            portaudio_ms.append((spoken.first_audio_s - called) * 1000)
            if recorder is not None:
                onset = recorder.wait_for_sound(start_sample, threshold=16, timeout_s=10)
                captured_ms.append((onset - start_sample) * 1000 / RECORD_RATE_HZ)
                # The tail drains, then half a second passes, as while the user speaks: a
                # reply starts on an idle player (see Player's IDLE_RESTART_S).
                recorder.wait_for_samples(recorder.sample_count() + RECORD_RATE_HZ // 2)
    finally:
        if recorder is not None:
            recorder.stop()
        speaker.close()
    name = {"pyttsx3": f"espeak-ng voice {settings.voice}", "piper": "Piper en_US-joe-medium"}
    print(
        f"\n{name[settings.engine]}, 175 wpm, {count} sentences, output buffer "
        f"{latency * 1000:.0f} ms, {player.underruns} underrun blocks, "
        f"{player.starved} blocks short of streamed audio, {player.restarts} restarts, "
        f"RSS with this engine loaded {rss_mb:.0f} MB"
    )
    print(header())
    print(summary("synthesis per sentence (whole)", synth_ms))
    print(summary("prepare() until it can play", ready_ms))
    print(summary("say() to first audio (PortAudio)", portaudio_ms))
    if captured_ms:
        print(summary("say() to first audio (captured)", captured_ms))
    else:
        print("(virtual devices not running: no captured figure)")


async def run(count: int, voice: str, latency: float, engines: list[str]) -> int:
    base = VoiceSettings(voice, 175, 0.9)
    print(f"RSS before any engine: {psutil.Process().memory_info().rss / 2**20:.0f} MB")
    for engine in engines:
        await run_engine(count, dataclasses.replace(base, engine=engine), latency)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=30)
    parser.add_argument("--voice", default="en-us+f3")
    parser.add_argument("--latency", type=float, default=LATENCY_S, help="output buffer, s")
    parser.add_argument("--engine", choices=("both", "pyttsx3", "piper"), default="both")
    args = parser.parse_args()
    engines = ["pyttsx3", "piper"] if args.engine == "both" else [args.engine]
    return asyncio.run(run(args.sentences, args.voice, args.latency, engines))


if __name__ == "__main__":
    raise SystemExit(main())
