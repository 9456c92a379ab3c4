"""Round-trip intelligibility: Whisper tiny.en on 30 replies spoken by each speech engine.

    .venv/bin/python -m bench.engine_wer

Each reply is rendered by espeak-ng (pyttsx3, the persona's voice en-us+f3 at 175 wpm) and by
Piper (en_US-joe-medium, same rate), exactly as a conversation would render it (Piper's
phrases joined), and transcribed back. WER is normalised as in bench.stt_corpus.
"""

from __future__ import annotations

import argparse
import time

from voiceos.speak.engines import Engines
from voiceos.stt.wer import word_errors
from voiceos.stt.whisper import WhisperTranscriber
from voiceos.types import VoiceSettings

REPLIES = [
    "Hi. I'm here. How's your day been so far?",
    "Hello again. I was hoping you'd come back.",
    "Hey, it's good to hear from you. What's on your mind?",
    "Hi there. I'm all ears. What are you up to?",
    "Goodbye for now. I'll be here when you want to talk.",
    "Take care of yourself. Talk soon.",
    "It's twenty past nine in the morning.",
    "Today is Tuesday, the fourth of March.",
    "I'll remember that your sister lives in Lisbon.",
    "You told me your sister lives in Lisbon.",
    "Okay, slowing down. Is this better?",
    "Okay, I'll speak more softly.",
    "I can tell you the time, remember things for you, and change how I sound.",
    "That sounds like a lovely way to spend a Sunday afternoon.",
    "What made you think of that?",
    "I'm not sure, but I'd love to think it through with you.",
    "Let me think about that for a second.",
    "You mentioned you were learning the piano. How is that going?",
    "That must have been hard. Do you want to talk about it?",
    "I like the sound of that. Tell me more.",
    "It's nice to have you back. How are you, really?",
    "I was just thinking about our last conversation.",
    "What's been happening in your world?",
    "My language server is taking too long, so I'll answer on my own.",
    "I forgot everything you told me, as you asked.",
    "The weather sounds lovely today. Are you going outside?",
    "Of course. I'm happy to help with that.",
    "That's a good question. What do you think?",
    "I'm software, but I care about how your day goes.",
    "Sleep well. I'll be here tomorrow.",
]


def run(engine_names: list[str]) -> int:
    whisper = WhisperTranscriber()
    whisper.start()
    engines = Engines()
    engines.first_engine = "piper" if "piper" in engine_names else "pyttsx3"
    engines.start()
    if engines.fallback:
        raise SystemExit(engines.fallback)
    print("| engine | replies | words | word errors | WER | exact replies | synthesis s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    worst: dict[str, list[tuple[str, str]]] = {}
    try:
        for name in engine_names:
            settings = VoiceSettings("en-us+f3", 175, 0.9, engine=name)
            errors = words = exact = 0
            synth_s = 0.0
            for reply in REPLIES:
                started = time.monotonic()
                utterance = engines.synthesize(reply, settings)
                synth_s += time.monotonic() - started
                heard = whisper.transcribe(utterance.samples, utterance.sample_rate_hz).text
                wrong, total = word_errors(reply, heard)
                errors, words, exact = errors + wrong, words + total, exact + (wrong == 0)
                if wrong:
                    worst.setdefault(name, []).append((reply, heard))
            print(
                f"| {name} | {len(REPLIES)} | {words} | {errors} | {100 * errors / words:.1f}% "
                f"| {exact} | {synth_s:.2f} |"
            )
    finally:
        engines.close()
    for name, misses in worst.items():
        print(f"\n{name}: misheard")
        for reply, heard in misses:
            print(f"- {reply!r} -> {heard!r}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("both", "pyttsx3", "piper"), default="both")
    args = parser.parse_args()
    return run(["pyttsx3", "piper"] if args.engine == "both" else [args.engine])


if __name__ == "__main__":
    raise SystemExit(main())
