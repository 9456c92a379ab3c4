"""Long sessions in one voiceos process: a thousand typed turns, a hundred spoken ones.

Bounded and self-stopping: each turn waits for its answer with a timeout. Figures (RSS,
turn times, memory file sizes) are printed; only generous bounds are asserted, since
speed itself belongs to the benchmarks.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from faultkit import assert_no_crash, wait_exit
from lab import PrivateLab
from voiceproc import VoiceosProcess

from voiceos.audio.pcm import read_wav, resample
from voiceos.dialogue.memory import MAX_FACTS, Memory

TYPED_TURNS = 1000
WARM_UP_TURNS = 100
HISTORY_TURNS = 200
"""The [memory] history_turns default: the retention the database must keep to."""

SAYINGS = [
    "what time is it",
    "I went for a long walk by the river this morning",
    "do you like music",
    "my sister called me today and we talked for an hour",
    "what's the date today",
    "I'm a bit tired, work was busy",
    "tell me something you find beautiful",
    "remember that my sister lives in Lisbon",
    "what did I tell you about my sister",
    "I made soup with carrots and ginger",
    "my cat is called Miso and I'm flying to Oslo on Friday",
    "I love jazz, especially late at night",
    "what can you do?",
    "do you ever get bored",
    "I think I'll read a book tonight",
    "my name is Theo",
    "what's my name?",
    "the weather was strange today, sunny and then hail",
    "speak a little slower",
    "speak a little faster",
    "I've been learning to play the guitar",
    "what do you remember about me?",
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def test_a_thousand_typed_turns_stay_bounded(isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "PULSE_SERVER": "unix:/nonexistent/pulse/native"}
    data = Path(env["XDG_DATA_HOME"]) / "voiceos"
    times: list[float] = []
    rss: dict[int, int] = {}
    sizes: dict[int, tuple[int, int]] = {}
    with VoiceosProcess(["--text", "--mute"], env) as vo:
        assert vo._proc is not None
        process = psutil.Process(vo._proc.pid)
        vo.wait_for("^Samantha: ", timeout_s=60)
        for turn in range(1, TYPED_TURNS + 1):
            line = SAYINGS[turn % len(SAYINGS)]
            if turn % 7 == 0:
                line += f" (that was day {turn})"  # history rows are not all alike
            started = time.perf_counter()
            vo.send(line)
            vo.wait_for("^Samantha: ", after=turn, timeout_s=30)
            times.append(time.perf_counter() - started)
            if turn in (WARM_UP_TURNS, 300, TYPED_TURNS):
                rss[turn] = process.memory_info().rss
                sizes[turn] = tuple(  # type: ignore[assignment]
                    (data / name).stat().st_size if (data / name).exists() else 0
                    for name in ("memory.sqlite3", "memory.sqlite3-wal")
                )
        assert vo.close() == 0
    assert_no_crash("\n".join(vo.err))
    assert len(vo.replies()) == 1 + TYPED_TURNS

    growth_mb = (rss[TYPED_TURNS] - rss[WARM_UP_TURNS]) / 2**20
    first = percentile(times[:200], 95) * 1000
    last = percentile(times[-200:], 95) * 1000
    print(
        f"\n{TYPED_TURNS} typed turns: RSS {rss[WARM_UP_TURNS] / 2**20:.1f} MB after "
        f"{WARM_UP_TURNS} -> {rss[TYPED_TURNS] / 2**20:.1f} MB ({growth_mb:+.1f} MB); "
        f"turn p95 first 200 {first:.1f} ms, last 200 {last:.1f} ms, "
        f"median {statistics.median(times) * 1000:.1f} ms; memory file + WAL bytes "
        + ", ".join(f"turn {t}: {db} + {wal}" for t, (db, wal) in sizes.items())
    )
    assert growth_mb < 20, growth_mb
    assert last < 3 * first + 5, (first, last)  # flat, with room for a busy machine

    with Memory(data / "memory.sqlite3") as memory:
        assert memory.turn_count() <= HISTORY_TURNS
        facts = memory.facts()
        print(f"facts kept after {TYPED_TURNS} turns: {len(facts)}")
        assert len(facts) <= MAX_FACTS
        assert sum("Miso" in f.text for f in facts) <= 2  # told again and again, kept once
    db_300, wal_300 = sizes[300]
    db_end, wal_end = sizes[TYPED_TURNS]
    assert db_end <= 1.5 * db_300 + 64 * 1024, sizes  # retention holds it, not turn count
    assert wal_end <= 5 * 2**20, sizes  # SQLite checkpoints the WAL at ~4 MB


# --- spoken turns ------------------------------------------------------------------------

SPOKEN_TURNS = 100
QUESTIONS = [
    "What time is it?",
    "What can you do?",
    "My name is David.",
    "What is my name?",
    "I went for a long walk today.",
    "Do you like music?",
    "Tell me something about the ocean.",
    "Remember that my sister lives in Lisbon.",
]


RATE_HZ = 16000


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Each question as 16 kHz speech with a short lead-in, to keep the run short."""
    folder = tmp_path_factory.mktemp("clips")
    made = []
    for index, text in enumerate(QUESTIONS):
        path = folder / f"{index}.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "165", "-w", str(path), text],
            capture_output=True,
            check=True,
            timeout=30,
        )
        samples, rate = read_wav(path)
        lead = np.zeros(RATE_HZ // 5, np.int16)
        made.append(np.concatenate([lead, resample(samples, rate, RATE_HZ).astype(np.int16)]))
    return made


@pytest.mark.slow
@pytest.mark.audio
@pytest.mark.timeout(600)
def test_a_hundred_spoken_turns_each_answered_once(
    private_lab: PrivateLab, isolated_env: dict[str, str], clips: list[np.ndarray]
) -> None:
    env = {**isolated_env, **private_lab.env, "PYTHONFAULTHANDLER": "1"}
    started = time.monotonic()
    with VoiceosProcess(["--mute"], env) as vo:
        vo.wait_for(r"\[listening\]", stream="err", timeout_s=120)
        for turn in range(SPOKEN_TURNS):
            err_mark = len(vo.err)
            private_lab.feed_mic(clips[turn % len(clips)])
            vo.wait_for("^Samantha: ", after=1 + turn, timeout_s=30)
            vo.wait_for(r"\[listening\]", stream="err", after=err_mark, timeout_s=30)
        vo.interrupt()
        assert wait_exit(vo) == 0
    elapsed = time.monotonic() - started
    heard, replies = vo.heard(), vo.replies()
    print(f"\n{SPOKEN_TURNS} spoken turns in {elapsed:.0f} s; heard: {sorted(set(heard))}")
    assert_no_crash("\n".join(vo.err))
    assert len(heard) == SPOKEN_TURNS, heard
    assert len(replies) == 1 + SPOKEN_TURNS
    # Every line after the greeting alternates: one "you:", then its one answer.
    talk = [ln for ln in vo.out if ln.startswith(("you: ", "Samantha: "))][1:]
    assert all(ln.startswith("you: ") for ln in talk[0::2]), talk
    assert all(ln.startswith("Samantha: ") for ln in talk[1::2]), talk
