"""Turn taking: cut-offs on paused speech, continuation merges, WER mic vs file, model cost.

Run (with the lab up for the voiceos parts: `bash scripts/audiolab.sh start`):
    .venv/bin/python -m bench.turn_taking [--skip-voiceos]

- cut-offs: the real paused sentences of the tests (tests/paused_speech.py) and the two
  corpus clips with long natural pauses of their own, through Silero, the turn detector
  and Whisper in process: the share of mid-sentence pauses that ended a turn, for smart
  mode (sound and words), the sound alone, and silence mode.
- Smart Turn: milliseconds per call on 8 s of speech (one thread) and the RSS it adds.
- continuation merges: in one voiceos session on the virtual mic, a finished sentence,
  0.6-1.0 s of its room tone, then a second sentence, while a language server stub thinks
  for 2 s: merges caught, and words of either sentence missing from the merged turn.
- WER of the heard turns, voiceos through the virtual mic (`--mute`) vs file mode
  (`--input-wav`), on the corpus sentences.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from faultkit import run_voiceos, served  # noqa: E402
from lab import PrivateLab  # noqa: E402
from llm_server import Request, Response, reply_events  # noqa: E402
from paused_speech import paused_clips, room_tone  # noqa: E402
from speech_data import clip, clips  # noqa: E402
from voiceproc import VoiceosProcess  # noqa: E402

from bench.stats import header, summary  # noqa: E402
from voiceos.audio.pcm import write_wav  # noqa: E402
from voiceos.listen.endpointer import Endpointer, SpeechPaused  # noqa: E402
from voiceos.listen.smart_turn import SmartTurn  # noqa: E402
from voiceos.listen.turns import (  # noqa: E402
    EndMode,
    Finishing,
    TurnDetector,
    TurnEnded,
    endpointer_timing,  # noqa: E402
)
from voiceos.listen.vad import SileroVad  # noqa: E402
from voiceos.stt.wer import word_errors  # noqa: E402
from voiceos.stt.whisper import WhisperTranscriber  # noqa: E402
from voiceos.types import AudioChunk  # noqa: E402

RATE = 16000
NATURAL_PAUSES = ("sense_and_sensibility_01_austen_64kb-0870", "LJ050-0131")


def turns_in(
    samples: np.ndarray, mode: EndMode, words: bool, model: SmartTurn, whisper: WhisperTranscriber
) -> int:
    """How many turns the listening side makes of `samples` (in process, no devices)."""
    vad = SileroVad()
    vad.start()
    end, fraction = endpointer_timing(mode, 500, 0.3, 200, 2000)
    completion = model if mode is EndMode.SMART else None
    detector = TurnDetector(
        Endpointer(vad, end_silence_ms=end, pause_fraction=fraction), completion, 0.5, words
    )
    stream = np.concatenate([np.zeros(RATE // 2, np.int16), samples, np.zeros(3 * RATE, np.int16)])
    count, early = 0, ""
    for start in range(0, stream.size, 512):
        pending = detector.feed(AudioChunk(stream[start : start + 512], RATE))
        while pending:
            event = pending.pop(0)
            if isinstance(event, SpeechPaused):
                early = whisper.transcribe(event.audio, RATE).text
            elif isinstance(event, Finishing):
                pending[:0] = detector.transcribed(early, event.pause)
            elif isinstance(event, TurnEnded):
                count += 1
    return count


def cutoffs(model: SmartTurn, whisper: WhisperTranscriber) -> None:
    sets = {
        "paused sentences (tests/paused_speech.py)": [
            (p.samples, len(p.pauses)) for p in paused_clips()
        ],
        "natural pauses (0870, LJ050-0131 as recorded)": [
            (clip(n).samples(), 0) for n in NATURAL_PAUSES
        ],
    }
    print("| clips | pauses | smart (sound + words) | sound only | silence 500 ms |")
    print("| --- | --- | --- | --- | --- |")
    for label, items in sets.items():
        results = []
        for mode, words in (
            (EndMode.SMART, True),
            (EndMode.SMART, False),
            (EndMode.SILENCE, False),
        ):
            results.append(sum(turns_in(s, mode, words, model, whisper) - 1 for s, _ in items))
        pauses = sum(n for _, n in items)
        cells = [f"{r} ({r / pauses:.0%})" if pauses else f"{r} turns too many" for r in results]
        print(f"| {label}: {len(items)} | {pauses} | " + " | ".join(cells) + " |")


def model_cost() -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    model = SmartTurn()
    model.start()
    added = (process.memory_info().rss - before) / 2**20
    speech = clip("sense_and_sensibility_01_austen_64kb-0870").samples()
    times = []
    for _ in range(30):
        started = time.perf_counter()
        model.probability(speech)
        times.append((time.perf_counter() - started) * 1000)
    print(header())
    print(summary("Smart Turn v3.2, one call on 8 s (1 thread, features included)", times))
    print(
        f"\nRSS added by loading Smart Turn (and faster-whisper's feature extractor): "
        f"{added:.0f} MB"
    )


def _env(tmp: str, lab: PrivateLab | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=f"{tmp}/cfg", XDG_DATA_HOME=f"{tmp}/data")
    env["VOICEOS_LLM_BACKEND"] = "offline"
    return {**env, **(lab.env if lab else {})}


def _listening(vo: VoiceosProcess, after: int) -> int:
    index, _ = vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=120)
    return index + 1


def merges(lab: PrivateLab, count: int) -> None:
    requests: list[str] = []

    async def think(request: Request) -> Response:
        requests.append(json.dumps(request.json()))
        await asyncio.sleep(2.0)
        return Response(events=reply_events(["I see."]))

    pairs = [
        ("another_engineer", "testing_routine"),
        ("testing_routine", "another_engineer"),
        ("8455-210777-0068", "2830-3980-0043"),
    ]
    caught, lost, total = 0, 0, 0
    with tempfile.TemporaryDirectory() as tmp, served(think) as server:  # type: ignore[arg-type]
        env = {
            **_env(tmp, lab),
            "VOICEOS_LLM_BACKEND": "openai",
            "VOICEOS_LLM_BASE_URL": server.base_url,
        }
        with VoiceosProcess(["--mute"], env) as vo:
            err_at = _listening(vo, 0)
            for n in range(count):
                first, second = (clip(x) for x in pairs[n % len(pairs)])
                a, b = first.samples(), second.samples()
                gap = 0.6 + 0.4 * n / max(1, count - 1)
                before, replies = len(requests), len(vo.replies())
                lab.feed_mic(np.concatenate([a, room_tone(a, gap, n), b, np.zeros(RATE, np.int16)]))
                vo.wait_until(lambda r=replies: len(vo.replies()) > r, "a reply", timeout_s=60)
                err_at = _listening(vo, err_at)
                caught += len(requests) - before == 2
                merged = json.loads(requests[-1])["messages"][-1]["content"]
                for reference in (first.transcript, second.transcript):
                    _, words = word_errors(reference, merged)
                    total += words
                    got = set(merged.lower().replace(",", " ").replace(".", " ").split())
                    lost += sum(w not in got for w in reference.lower().split())
    print(
        f"continuation merges caught: {caught} of {count} (a 2 s thinker; the user goes on "
        f"0.6-1.0 s after the end of speech); reference words missing from the merged turn: "
        f"{lost} of {total} (tiny.en's own errors included)"
    )


def _heard(lines: list[str]) -> str:
    """One utterance's heard lines, dropping a first part that a merged line repeats."""
    kept: list[str] = []
    for line in lines:
        if kept and line.startswith(kept[-1].rstrip(".?!")):
            kept[-1] = line
        else:
            kept.append(line)
    return " ".join(kept)


def wer_mic_vs_file(lab: PrivateLab) -> None:
    sentences = [c for c in clips() if c.is_sentence]
    mic: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, VoiceosProcess(["--mute"], _env(tmp, lab)) as vo:
        err_at = _listening(vo, 0)
        for c in sentences:
            heard_before = len(vo.heard())
            lab.feed_mic(np.concatenate([c.samples(), np.zeros(int(2.5 * RATE), np.int16)]))
            try:
                vo.wait_until(lambda h=heard_before: len(vo.heard()) > h, "heard", timeout_s=20)
                err_at = _listening(vo, err_at)
            except AssertionError:
                pass  # nothing intelligible
            mic.append(_heard(vo.heard()[heard_before:]))
    files: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.wav"
        for c in sentences:
            write_wav(path, c.samples(), RATE)
            out = run_voiceos(["--input-wav", str(path)], _env(tmp, None)).out
            files.append(_heard([ln[5:] for ln in out.splitlines() if ln.startswith("you: ")]))
    for label, texts in (("voiceos, virtual mic (--mute)", mic), ("voiceos, file mode", files)):
        errors = words = 0
        for c, text in zip(sentences, texts, strict=True):
            e, n = word_errors(c.transcript, text)
            errors += e
            words += n
        print(f"| {label} | {errors / words:.1%} ({errors}/{words}) |")
    same = sum(a == b for a, b in zip(mic, files, strict=True))
    print(f"\nsame transcript on both paths for {same} of {len(sentences)} sentences")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-voiceos", action="store_true", help="in-process parts only")
    parser.add_argument("--merges", type=int, default=6)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    model_cost()
    print()
    model = SmartTurn()
    model.start()
    whisper = WhisperTranscriber()
    whisper.start()
    cutoffs(model, whisper)
    if args.skip_voiceos:
        return
    with PrivateLab() as lab:
        print()
        merges(lab, args.merges)
        print("\n| path | WER sentences |\n| --- | --- |")
        wer_mic_vs_file(lab)


if __name__ == "__main__":
    main()
