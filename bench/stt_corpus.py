"""Speech-to-text over the real clips: WER and real-time factor, file path and mic path.

Run: .venv/bin/python -m bench.stt_corpus [--corpus DIR] [--no-mic] [--engine whisper|sphinx]

- whole clip: each clip straight into the transcriber (the engine's own accuracy);
- file path: WavSource -> Endpointer (Silero) -> transcriber, as `--input-wav` does;
- mic path (when the audio lab runs): each clip played into a private virtual mic (so other
  users of the lab cannot leak in), captured by MicSource through PortAudio, endpointed
  live and transcribed, with the transcription started at SpeechPaused during the
  end-of-speech silence, as the voice loop does.
  Also reports end of speech -> transcript ready, measured on the capture clock.

WER is normalised (voiceos.stt.wer); sentences and single keywords are reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import header, summary
from voiceos.audio.pcm import read_wav
from voiceos.audio.wavsource import WavSource
from voiceos.listen.endpointer import Endpointer, SpeechEnded, SpeechPaused, SpeechResumed
from voiceos.listen.vad import SileroVad
from voiceos.stt.factory import StartableTranscriber
from voiceos.stt.sr_engines import SpeechRecognitionTranscriber
from voiceos.stt.wer import word_errors
from voiceos.stt.whisper import WhisperTranscriber
from voiceos.types import AudioChunk, Transcript

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO / "tests" / "data" / "speech"
SENTENCE_MIN_S = 1.05
RATE = 16000


@dataclass(frozen=True)
class Clip:
    path: Path
    transcript: str
    duration_s: float


@dataclass
class Tally:
    """WER and compute time for one path."""

    errors: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    words: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    compute_s: float = 0.0
    audio_s: float = 0.0
    texts: list[str] = field(default_factory=list)
    ready_ms: list[float] = field(default_factory=list)
    """End of speech -> transcript ready, per utterance (mic path)."""

    def add(self, clip: Clip, text: str, compute_s: float) -> None:
        sentence = clip.duration_s > SENTENCE_MIN_S
        e, n = word_errors(clip.transcript, text)
        self.errors[sentence] += e
        self.words[sentence] += n
        self.compute_s += compute_s
        self.audio_s += clip.duration_s
        self.texts.append(text)

    def row(self, label: str) -> str:
        def wer(kind: bool) -> str:
            n = self.words[kind]
            return f"{self.errors[kind] / n:.1%} ({self.errors[kind]}/{n})" if n else "-"

        rtf = self.compute_s / self.audio_s if self.audio_s else float("nan")
        return f"| {label} | {wer(True)} | {wer(False)} | {rtf:.3f} |"


def load_clips(corpus: Path) -> list[Clip]:
    with (corpus / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [Clip(corpus / r["file"], r["transcript"], float(r["duration_s"])) for r in rows]


def make_engine(name: str) -> StartableTranscriber:
    engine: StartableTranscriber = (
        WhisperTranscriber() if name == "whisper" else SpeechRecognitionTranscriber("sphinx")
    )
    engine.start()
    return engine


def whole_clips(engine: StartableTranscriber, clips: list[Clip]) -> Tally:
    tally = Tally()
    for clip in clips:
        pcm, rate = read_wav(clip.path)
        transcript = engine.transcribe(pcm, rate)
        tally.add(clip, transcript.text, transcript.elapsed_s)
    return tally


def endpointer() -> Endpointer:
    vad = SileroVad()
    vad.start()
    return Endpointer(vad)


async def utterances(chunks: AsyncIterator[AudioChunk], stop_after_s: float) -> list[SpeechEnded]:
    """Endpoint a chunk stream; stop when `stop_after_s` of audio has been seen."""
    ep = endpointer()
    ended: list[SpeechEnded] = []
    seen = 0
    async for chunk in chunks:
        ended.extend(e for e in ep.feed(chunk) if isinstance(e, SpeechEnded))
        seen += chunk.samples.size
        if seen >= stop_after_s * RATE:
            break
    return ended


def file_path(engine: StartableTranscriber, clips: list[Clip]) -> Tally:
    tally = Tally()
    for clip in clips:
        heard = asyncio.run(utterances(WavSource(clip.path).chunks(), float("inf")))
        results = [engine.transcribe(u.audio, RATE) for u in heard]
        text = " ".join(r.text for r in results if r.text)
        tally.add(clip, text, sum(r.elapsed_s for r in results))
    return tally


def transcribe_timed(engine: StartableTranscriber, audio: np.ndarray) -> tuple[Transcript, float]:
    """Transcribe, and note when the text was ready (time.monotonic)."""
    return engine.transcribe(audio, RATE), time.monotonic()


async def mic_clip(
    engine: StartableTranscriber, clip: Clip, pool: ThreadPoolExecutor, lab: Any
) -> tuple[str, float, list[float]]:
    """Play one clip into the virtual mic; transcribe as the voice loop does."""
    from voiceos.audio.mic import MicSource

    pcm, rate = read_wav(clip.path)
    fed = np.concatenate([np.zeros(rate // 2, np.int16), pcm, np.zeros(rate * 3 // 2, np.int16)])
    ep = endpointer()
    early: Future[tuple[Transcript, float]] | None = None
    jobs: list[tuple[float, Future[tuple[Transcript, float]]]] = []
    seen = 0
    async with MicSource() as mic:
        player = lab.feed_mic(fed, rate, wait=False)
        assert player is not None
        try:
            async for chunk in mic.chunks():
                for event in ep.feed(chunk):
                    if isinstance(event, SpeechPaused):
                        early = pool.submit(transcribe_timed, engine, event.audio)
                    elif isinstance(event, SpeechResumed):
                        early = None  # a real loop would cancel it; it just runs out here
                    elif isinstance(event, SpeechEnded):
                        job = early or pool.submit(transcribe_timed, engine, event.audio)
                        jobs.append((event.captured_s, job))
                        early = None
                seen += chunk.samples.size
                if seen >= (fed.size / rate + 0.5) * RATE:
                    break
        finally:
            player.terminate()
            player.wait()
    texts, compute, ready_ms = [], 0.0, []
    for ended_s, job in jobs:
        result, done_s = await asyncio.wrap_future(job)
        ready_ms.append((done_s - ended_s) * 1000)
        texts.append(result.text)
        compute += result.elapsed_s
    return " ".join(t for t in texts if t), compute, ready_ms


def mic_path(engine: StartableTranscriber, clips: list[Clip]) -> Tally:
    from lab import PrivateLab

    tally = Tally()
    with PrivateLab() as lab, ThreadPoolExecutor(max_workers=1) as pool:
        os.environ.update(lab.env)  # PortAudio's default input is now the private mic
        for clip in clips:
            text, compute, ready = asyncio.run(mic_clip(engine, clip, pool, lab))
            tally.add(clip, text, compute)
            tally.ready_ms.extend(ready)
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--engine", choices=("whisper", "sphinx"), default="whisper")
    parser.add_argument("--no-mic", action="store_true", help="skip the virtual-mic path")
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips")
    parser.add_argument("--show", action="store_true", help="print every transcript")
    args = parser.parse_args()

    clips = load_clips(args.corpus)[: args.limit or None]
    audio_s = sum(c.duration_s for c in clips)
    started = time.perf_counter()
    engine = make_engine(args.engine)
    print(f"# STT over {len(clips)} clips ({audio_s:.1f} s) from {args.corpus}")
    print(
        f"engine {args.engine}: started and warmed in {time.perf_counter() - started:.2f} s; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n"
    )
    results = {"whole clip": whole_clips(engine, clips), "file path": file_path(engine, clips)}

    sys.path.insert(0, str(REPO / "tests"))
    from lab import lab_available

    if not args.no_mic and lab_available():
        results["mic path"] = mic_path(engine, clips)
    elif not args.no_mic:
        print("(audio lab not running: mic path skipped; start it with scripts/audiolab.sh start)")

    print("| path | WER sentences | WER single words | RTF |\n| --- | --- | --- | --- |")
    for label, tally in results.items():
        print(tally.row(label))
    mic = results.get("mic path")
    if mic is not None:
        same = sum(a == b for a, b in zip(results["file path"].texts, mic.texts, strict=True))
        print(f"\nfile and mic paths gave the same transcript for {same} of {len(clips)} clips")
        print(
            "\nend of speech -> transcript ready (mic path, transcription started at "
            "SpeechPaused):\n"
        )
        print(header())
        print(summary("end of speech -> transcript", mic.ready_ms))
    if args.show:
        for i, clip in enumerate(clips):
            print(f"\n{clip.path.name}: {clip.transcript!r}")
            for label, tally in results.items():
                print(f"  {label:10}: {tally.texts[i]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
