"""Text mode: start to prompt, and reply latency of local skills and the offline brain.

Run: .venv/bin/python -m bench.text_latency
Uses a throwaway config and data folder, so your own memory is untouched.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import header, summary

SKILL_LINES = [
    "what time is it",
    "what's the date today",
    "my name is Theo",
    "what is my name",
    "remember that my sister lives in Lisbon",
    "what did I tell you about my sister",
    "what can you do",
    "what voice is this",
]
OFFLINE_LINES = [
    "I had a long day at work",
    "do you ever feel lonely",
    "I've been listening to a lot of jazz lately",
    "what do you think about love",
    "my friend is moving away next month",
    "I couldn't sleep last night",
]


def start_to_prompt(env: dict[str, str], runs: int = 10) -> list[float]:
    """Milliseconds from launching `voiceos --text --mute` to its greeting on stdout."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "voiceos", "--text", "--mute"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        times.append((time.perf_counter() - started) * 1000)
        assert line.startswith(b"Samantha:"), line
        proc.stdin.close()
        proc.wait(timeout=30)
    return times


async def reply_latency(lines: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds from a typed line to the first reply text, and to the whole reply."""
    from voiceos import config
    from voiceos.session import open_parts
    from voiceos.types import UserTurn

    first, whole = [], []
    async with open_parts(config.load(), mute=True) as parts:
        for _ in range(rounds):
            for line in lines:
                started = time.perf_counter()
                reply = parts.dialogue.respond(UserTurn(line))
                got_first = 0.0
                async for _delta in reply.deltas:
                    got_first = got_first or time.perf_counter()
                done = time.perf_counter()
                first.append((got_first - started) * 1000)
                whole.append((done - started) * 1000)
    return first, whole


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
        env.update(XDG_CONFIG_HOME=str(Path(tmp, "cfg")), XDG_DATA_HOME=str(Path(tmp, "data")))
        os.environ.update(env)
        for name in [k for k in os.environ if k.startswith(("VOICEOS_", "OPENAI_"))]:
            del os.environ[name]
        startup = start_to_prompt(env)
        skills_first, _ = asyncio.run(reply_latency(SKILL_LINES, 10))
        offline_first, offline_whole = asyncio.run(reply_latency(OFFLINE_LINES, 10))
    print(header())
    print(summary("text mode: start to greeting", startup))
    print(summary("local skill: line to first reply text", skills_first))
    print(summary("offline brain: line to first reply text", offline_first))
    print(summary("offline brain: line to whole reply", offline_whole))


if __name__ == "__main__":
    main()
