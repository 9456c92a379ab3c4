"""Voice-to-voice latency, barge-in stop latency and RSS, on the virtual audio devices.

Run (with the lab up: `bash scripts/audiolab.sh start`):
    .venv/bin/python -m bench.voice_latency [--turns 20] [--barge-ins 10] [--chart FILE.png]
        [--modes smart,silence]

Questions with a local answer, in several phrasings and espeak-ng voices, are fed into the
virtual mic, once per end-of-turn mode (`[listen] end_of_turn`) in the same run; the
virtual speaker is recorded. Its sample count
is the clock: latency runs from the end of speech in the fed clip to the first reply sample
on the speaker. voiceos's own timing line (`--debug`) gives the per-stage breakdown.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lab import PrivateLab, SpeakerRecorder  # noqa: E402
from voiceproc import VoiceosProcess, synthesize_clip  # noqa: E402

from bench.stats import header, percentile, summary  # noqa: E402

RATE = 16000
LEVEL = 300
TIMING = re.compile(r"timing: end of turn → (.*)")
STAGE = re.compile(r"(transcript|first text|first sentence|first audio) (-?\d+) ms")
DECISION = re.compile(r"turn ended \((\w+)\) after silence ms (\d+)")
QUESTIONS = (
    "What time is it?",
    "What's the time?",
    "Can you tell me the time?",
    "What time is it now?",
    "What is the date today?",
    "What day is it today?",
    "What's today's date?",
)
VOICES = (("en-us", 150), ("en-gb-x-rp", 165), ("en-us+f3", 140))


def speech_bounds(clip: np.ndarray) -> tuple[int, int]:
    """First and last sample of the clip above the detection level."""
    loud = np.flatnonzero(np.abs(clip.astype(np.int32)) > LEVEL)
    return int(loud[0]), int(loud[-1])


def _env(tmp: str, lab: PrivateLab) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=f"{tmp}/cfg", XDG_DATA_HOME=f"{tmp}/data")
    return {**env, **lab.env}


def _wait_listening(vo: VoiceosProcess, after: int) -> int:
    index, _ = vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=120)
    return index + 1


def voice_to_voice(
    lab: PrivateLab, turns: int, mode: str = "smart"
) -> tuple[list[float], dict[str, list[float]], float]:
    """External latency per turn, the internal stage times, and RSS (MB) at the end."""
    clips = [synthesize_clip(q, voice, rate) for q in QUESTIONS for voice, rate in VOICES]
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    env_mode = {"VOICEOS_LISTEN_END_OF_TURN": mode}
    with (
        tempfile.TemporaryDirectory() as tmp,
        lab.recorder() as rec,
        VoiceosProcess(["--debug"], {**_env(tmp, lab), **env_mode}) as vo,
    ):
        err_at = _wait_listening(vo, 0)
        for turn in range(turns):
            clip = clips[(turn * 5) % len(clips)]
            _, speech_end = speech_bounds(clip)
            err_at = measure_turn(lab, rec, vo, (clip, speech_end), err_at, totals, stages)
        rss_mb = _rss_mb(vo)
    return totals, stages, rss_mb


def measure_turn(
    lab: PrivateLab,
    rec: SpeakerRecorder,
    vo: VoiceosProcess,
    question: tuple[np.ndarray, int],
    err_at: int,
    totals: list[float],
    stages: dict[str, list[float]],
    timeout_s: float = 60,
) -> int:
    """Feed one question (clip, its last loud sample); record its latency and stages.

    Returns where in stderr to look for the next turn.
    """
    clip, speech_end = question
    fed_at = rec.sample_count()
    lab.feed_mic(clip)
    end_of_speech = fed_at + speech_end
    first = rec.wait_for_sound(max(end_of_speech, rec.sample_count() - RATE), timeout_s=timeout_s)
    totals.append((first - end_of_speech) * 1000 / RATE)
    _, line = vo.wait_for(TIMING.pattern, stream="err", after=err_at, timeout_s=timeout_s)
    for name, ms in STAGE.findall(line):
        stages.setdefault(name, []).append(float(ms))
    for reason, ms in DECISION.findall(line):
        stages.setdefault(f"silence waited ({reason})", []).append(float(ms))
    return _wait_listening(vo, err_at)


def _rss_mb(vo: VoiceosProcess) -> float:
    assert vo._proc is not None
    return psutil.Process(vo._proc.pid).memory_info().rss / 2**20


def barge_in_stops(lab: PrivateLab, count: int) -> list[float]:
    """Milliseconds from the onset of speech over a reply to the speaker going quiet."""
    question = synthesize_clip("What can you do?")
    interruption = synthesize_clip("Hold on.")
    onset, _ = speech_bounds(interruption)
    stops: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        lab.recorder() as rec,
        VoiceosProcess(["--barge-in"], _env(tmp, lab)) as vo,
    ):
        err_at = _wait_listening(vo, 0)
        for _ in range(count):
            lab.feed_mic(question)
            talking = rec.wait_for_sound(rec.sample_count(), timeout_s=60)
            rec.wait_for_samples(talking + RATE)
            fed_at = rec.sample_count()
            lab.feed_mic(interruption)
            rec.wait_for_samples(fed_at + 2 * RATE)
            audio = rec.snapshot()
            quiet = _quiet_from(audio, fed_at)
            stops.append((quiet - (fed_at + onset)) * 1000 / RATE)
            err_at = _wait_listening(vo, err_at)  # the reply to "hold on" ends too
            err_at = _wait_listening(vo, err_at)
    return stops


def _quiet_from(audio: np.ndarray, start: int, quiet_ms: int = 300) -> int:
    need = RATE * quiet_ms // 1000
    loud = np.flatnonzero(np.abs(audio[start:].astype(np.int32)) > LEVEL) + start
    edges = np.concatenate([[start], loud, [len(audio)]])
    gaps = np.flatnonzero(np.diff(edges) >= need)
    return int(edges[gaps[0]]) if gaps.size else len(audio)


def chart(stages: dict[str, list[float]], total_p50: float, path: Path) -> None:
    """A horizontal bar of where the median turn's time goes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p50 = {k: percentile(v, 50) for k, v in stages.items()}
    parts = [
        ("end-of-speech silence + STT", p50.get("transcript", 0.0)),
        ("dialogue (first text)", p50.get("first text", 0.0) - p50.get("transcript", 0.0)),
        ("sentence cut", p50.get("first sentence", 0.0) - p50.get("first text", 0.0)),
        ("TTS + device", p50.get("first audio", 0.0) - p50.get("first sentence", 0.0)),
        ("capture/playback outside voiceos", total_p50 - p50.get("first audio", 0.0)),
    ]
    fig, ax = plt.subplots(figsize=(9, 3.4))
    left = 0.0
    colours = ["#4c72b0", "#55a868", "#8172b2", "#c44e52", "#999999"]
    for (label, ms), colour in zip(parts, colours, strict=True):
        ms = max(ms, 0.0)
        ax.barh([0], [ms], left=left, color=colour, label=f"{label}: {ms:.0f} ms")
        left += ms
    ax.set_yticks([])
    ax.set_xlabel("milliseconds from the end of the user's speech (p50)")
    ax.set_title(f"voice-to-voice latency, local skill answer: p50 {total_p50:.0f} ms")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, fontsize=8)
    fig.subplots_adjust(left=0.03, right=0.97, top=0.88, bottom=0.5)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--barge-ins", type=int, default=10)
    parser.add_argument("--chart", type=Path)
    parser.add_argument("--modes", default="smart,silence", help="end-of-turn modes to compare")
    args = parser.parse_args()
    runs = {}
    with PrivateLab() as lab:
        for mode in args.modes.split(","):
            runs[mode] = voice_to_voice(lab, args.turns, mode)
        stops = barge_in_stops(lab, args.barge_ins) if args.barge_ins else []
    print(header())
    for mode, (totals, stages, _) in runs.items():
        print(summary(f"{mode}: voice to voice (end of speech → first reply sample)", totals))
        for name in ("transcript", "first text", "first sentence", "first audio"):
            print(summary(f"  {mode}: end of speech → {name}", stages.get(name, [])))
        for name in sorted(k for k in stages if k.startswith("silence waited")):
            print(summary(f"  {mode}: {name}", stages[name]))
    if stops:
        print(summary("barge-in: speech onset → speaker silent", stops))
    for mode, (_, _, rss) in runs.items():
        print(f"\nRSS of voiceos in voice mode ({mode}) after {args.turns} turns: {rss:.0f} MB")
    first = next(iter(runs.values()))
    if args.chart:
        chart(first[1], percentile(first[0], 50), args.chart)
        print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
