"""Speech output: synthesis time per sentence, and say() to the first audible sample.

Run with the virtual devices up (scripts/audiolab.sh start):
    .venv/bin/python -m bench.first_audio [--sentences 30]

Three figures per sentence:
- synthesis: pyttsx3/espeak-ng rendering the sentence to PCM;
- first audio (PortAudio): say() call to when PortAudio says the first sample reaches
  the device (the callback time plus the stream's reported buffer delay);
- first audio (captured): say() call to the first sample above 16 (of 32767) recorded
  from the virtual speaker's monitor, counted in recorded samples. This also includes
  the recorder's own delivery delay (about 10-20 ms), so it overstates a little.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from bench.stats import header, summary
from voiceos.audio.player import LATENCY_S, Player
from voiceos.speak.speaker import DeviceSpeaker
from voiceos.speak.synth import Pyttsx3Synth
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


async def run(count: int, voice: str, latency: float) -> int:
    synth_ms: list[float] = []
    portaudio_ms: list[float] = []
    captured_ms: list[float] = []
    player = Player(latency=latency)
    speaker = DeviceSpeaker(Pyttsx3Synth(), player, FixedVoice(VoiceSettings(voice, 175, 0.9)))
    speaker.start()
    recorder = SpeakerRecorder() if lab_available() else None
    try:
        if recorder is not None:
            recorder.start()
        # One warm-up sentence, not counted (first stream buffers, page faults).
        await speaker.say("Warming up.")
        for i in range(count):
            sentence = SENTENCES[i % len(SENTENCES)]
            start_sample = recorder.sample_count() if recorder else 0
            called = time.monotonic()
            utterance = await speaker.prepare(sentence)
            synth_ms.append((time.monotonic() - called) * 1000)
            spoken = await speaker.play(utterance, sentence)
            portaudio_ms.append((spoken.first_audio_s - called) * 1000)
            if recorder is not None:
                onset = recorder.wait_for_sound(start_sample, threshold=16, timeout_s=10)
                captured_ms.append((onset - start_sample) * 1000 / RECORD_RATE_HZ)
                # Let the tail and the device buffer drain before the next sentence.
                recorder.wait_for_samples(recorder.sample_count() + RECORD_RATE_HZ // 10)
    finally:
        if recorder is not None:
            recorder.stop()
        speaker.close()
    print(
        f"voice {voice}, 175 wpm, {count} sentences, output buffer {latency * 1000:.0f} ms, "
        f"{player.underruns} underrun blocks"
    )
    print(header())
    print(summary("synthesis per sentence", synth_ms))
    print(summary("say() to first audio (PortAudio)", portaudio_ms))
    if captured_ms:
        print(summary("say() to first audio (captured)", captured_ms))
    else:
        print("(virtual devices not running: no captured figure)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=30)
    parser.add_argument("--voice", default="en-us+f3")
    parser.add_argument("--latency", type=float, default=LATENCY_S, help="output buffer, s")
    args = parser.parse_args()
    return asyncio.run(run(args.sentences, args.voice, args.latency))


if __name__ == "__main__":
    raise SystemExit(main())
