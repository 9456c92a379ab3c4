"""Short words and names: what the second opinion and hotwords buy, and what they cost.

Run: .venv/bin/python -m bench.stt_words [--quick]

- single words: every real one-word recording in the corpus (the keyword clips and single
  words cut from the keyword sequences), through the file path (WavSource -> Endpointer ->
  Whisper), before (no hysteresis, no second opinion) and after;
- names: "My name is NAME." for a set of names, spoken by several espeak-ng voices and
  rates, first mention (no hints) and once known (the name among the hotwords, with the
  persona's name and other names as distractors); and the real recorded "Dashwood";
- sentences: WER on the corpus sentences with and without hotwords and second opinions,
  to show neither hurts;
- cost: transcription time per word utterance, and per doubtful one.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.stats import header, summary
from voiceos.audio.pcm import read_wav, resample, write_wav
from voiceos.audio.wavsource import WavSource
from voiceos.listen.endpointer import Endpointer, SpeechEnded
from voiceos.listen.vad import SileroVad
from voiceos.stt.names import has_name
from voiceos.stt.wer import normalise_words, word_errors
from voiceos.stt.whisper import WhisperTranscriber

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from speech_data import clips, single_words  # noqa: E402

RATE = 16000
NAMES = [
    *("Theodore", "Priya", "Joaquin", "Ingrid", "Dmitri", "Kwame", "Beatrix", "Ravi"),
    *("Yusuf", "Margot", "Leopold", "Astrid", "Tobias", "Esperanza", "Oona", "Callum"),
    *("Nadia", "Benedikt", "Imogen", "Rosalind"),
]
UNSAYABLE = ("Aoife", "Siobhan")
"""Irish spellings espeak-ng reads by English letter rules ("ay-oh-ife"): the audio is not
the name, so they are measured apart."""
VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp", "en-us+m3")
RATES_WPM = (150, 180)
DISTRACTORS = ("Samantha", "Ana", "Lisbon", "Pixel", "Jo")
"""The persona's name and what a user's memory might hold besides their own name."""


def whisper(second_opinion: bool = True) -> WhisperTranscriber:
    model = WhisperTranscriber(second_opinion=second_opinion)
    model.start()
    return model


def endpoint(pcm: np.ndarray, hysteresis: float | None) -> list[np.ndarray]:
    """The utterances the file path cuts from `pcm` (with half a second of silence around)."""
    vad = SileroVad()
    vad.start()
    options = {} if hysteresis is None else {"hysteresis": hysteresis}
    ep = Endpointer(vad, pause_fraction=0.3, **options)
    pad = np.zeros(RATE // 2, np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        write_wav(path, np.concatenate([pad, pcm, pad, pad]), RATE)

        async def run() -> list[np.ndarray]:
            return [
                e.audio
                async for chunk in WavSource(path).chunks()
                for e in ep.feed(chunk)
                if isinstance(e, SpeechEnded)
            ]

        return asyncio.run(run())


def single_word_table() -> None:
    words = single_words()
    print(f"## Single words: {len(words)} real one-word recordings, through the file path\n")
    print(
        "| setting | kept, right word | kept, other words | dropped | transcription p50 / max ms |"
    )
    print("| --- | --- | --- | --- | --- |")
    rows: dict[str, list[str]] = {}
    for label, hysteresis, second in (("before", 0.0, False), ("after", None, True)):
        model = whisper(second)
        right = other = dropped = 0
        times: list[float] = []
        texts = []
        for name, pcm in words.items():
            said = name.split()[0]
            heard = []
            for audio in endpoint(pcm, hysteresis):
                result = model.transcribe(audio, RATE)
                times.append(result.elapsed_s * 1000)
                if result.text:
                    heard.append(result.text)
            text = " ".join(heard)
            texts.append(f"{name}: {text!r}")
            if not text:
                dropped += 1
            elif said in normalise_words(text):
                right += 1
            else:
                other += 1
        times.sort()
        print(
            f"| {label} | {right} | {other} | {dropped} | "
            f"{times[len(times) // 2]:.0f} / {max(times):.0f} |"
            if times
            else f"| {label} | {right} | {other} | {dropped} | - |"
        )
        rows[label] = texts
    print()
    for before, after in zip(rows["before"], rows["after"], strict=True):
        print(f"- {before}  ->  {after.split(': ', 1)[1]}")
    print()


def speak(text: str, voice: str, rate_wpm: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(path), text],
            check=True,
            capture_output=True,
        )
        pcm, rate = read_wav(path)
    return np.asarray(resample(pcm, rate, RATE), np.int16)


HELD_OUT_VOICES = ("en-us+f2", "en-gb-scotland", "en-us+m1")
HELD_OUT_RATES_WPM = (165,)
"""Renderings the rescoring margins were not measured on: a check that they carry over,
reported apart from the name set."""


def name_table(
    names: list[str],
    voices: tuple[str, ...] = VOICES,
    rates: tuple[int, ...] = RATES_WPM,
) -> None:
    renderings = list(itertools.product(voices, rates))
    print(
        f"## Names: {len(names)} names x {len(renderings)} espeak-ng renderings "
        f"({', '.join(voices)} at {', '.join(map(str, rates))} wpm)\n"
    )
    model = whisper()
    first = known = total = false = any_false = 0
    misses: list[str] = []
    wrong: list[str] = []
    wrong_any: list[str] = []
    times: list[float] = []
    added: list[float] = []
    for name in names:
        hints = [name, *DISTRACTORS, *[n for n in names if n != name][:3]]
        for voice, rate in renderings:
            pcm = speak(f"My name is {name}.", voice, rate)
            model.set_vocabulary([])
            started = time.perf_counter()
            heard_first = model.transcribe(pcm, RATE).text
            plain_ms = (time.perf_counter() - started) * 1000
            model.set_vocabulary(hints)
            started = time.perf_counter()
            heard_known = model.transcribe(pcm, RATE).text
            times.append((time.perf_counter() - started) * 1000)
            added.append(times[-1] - plain_ms)
            total += 1
            first += name.lower() in heard_first.lower()
            known += name.lower() in heard_known.lower()
            if name.lower() not in heard_known.lower():
                misses.append(f"{name} ({voice}, {rate}): {heard_known!r}")
            # Someone else's name said while this one is known must not become it.
            other = names[(names.index(name) + 7) % len(names)]
            if other != name:
                heard_other = model.transcribe(speak(f"My name is {other}.", voice, rate), RATE)
                if name.lower() in heard_other.text.lower():
                    false += 1
                    wrong.append(f"{other} heard as {name} ({voice}, {rate})")
                taken = [h for h in hints if h != other and has_name(heard_other.text, [h])]
                if taken:
                    any_false += 1
                    wrong_any.append(f"{other} heard as {taken[0]} ({voice}, {rate})")
    model.set_vocabulary([])
    print("| | first mention | once known (hotwords) |\n| --- | --- | --- |")
    print(
        f"| espeak-ng renderings | {first}/{total} ({first / total:.0%}) | "
        f"{known}/{total} ({known / total:.0%}) |"
    )
    real = next(c for c in clips() if "dashwood" in c.transcript)
    model.set_vocabulary([])
    plain = model.transcribe(real.samples(), RATE).text
    model.set_vocabulary(["Dashwood", "John", *DISTRACTORS])
    hinted = model.transcribe(real.samples(), RATE).text
    model.set_vocabulary([])
    print(
        f"| real recording ({real.name}) | {'Dashwood' in plain} ({plain.strip()!r}) | "
        f"{'Dashwood' in hinted} ({hinted.strip()!r}) |\n"
    )
    print(header())
    print(summary("transcription with hotwords, one sentence", times))
    print(summary("added by knowing names (same clip, known - first mention)", added))
    if misses:
        print("\nmissed once known:\n" + "\n".join(f"- {m}" for m in misses))
    print(
        f"\nanother name said while one is known, heard as the known one: {false}/{total}; "
        f"as any known name (the persona's, the distractors'): {any_false}/{total}"
    )
    if wrong:
        print("\nanother name taken for the known one:\n" + "\n".join(f"- {w}" for w in wrong))
    if wrong_any:
        print("\nanother name heard as any known name:\n" + "\n".join(f"- {w}" for w in wrong_any))
    print()


def sentence_table() -> None:
    sentences = [c for c in clips() if c.is_sentence]
    print(f"## Sentences: WER on {len(sentences)} corpus sentence clips\n")
    print("| setting | WER | errors / words |\n| --- | --- | --- |")
    hints = [*DISTRACTORS, *NAMES[:10]]
    for label, second, vocabulary in (
        ("no second opinion, no hotwords (before)", False, []),
        ("second opinion, no hotwords", True, []),
        (f"second opinion, {len(hints)} hotwords (names not in the clips)", True, hints),
        ("second opinion, hotwords incl. Dashwood and John", True, ["Dashwood", "John", *hints]),
    ):
        model = whisper(second)
        model.set_vocabulary(vocabulary)
        errors = words = 0
        for item in sentences:
            e, n = word_errors(item.transcript, model.transcribe(item.samples(), RATE).text)
            errors, words = errors + e, words + n
        print(f"| {label} | {errors / words:.1%} | {errors}/{words} |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 names instead of 20")
    parser.add_argument(
        "--parts",
        default="words,names,sentences",
        help="which tables (comma-separated; also held-out: the names in other voices)",
    )
    args = parser.parse_args()
    parts = args.parts.split(",")
    print(f"# Short words and names ({time.strftime('%Y-%m-%d')})")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    if "words" in parts:
        single_word_table()
    if "names" in parts:
        name_table(NAMES[:5] if args.quick else NAMES)
        name_table(list(UNSAYABLE))
    if "held-out" in parts:
        name_table(NAMES[:5] if args.quick else NAMES, HELD_OUT_VOICES, HELD_OUT_RATES_WPM)
    if "sentences" in parts:
        sentence_table()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
