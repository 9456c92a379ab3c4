"""Facts heard in passing: recall on the test table, and what capture costs per turn.

Run: .venv/bin/python -m bench.memory_recall
In process (no subprocess): tells every line of tests/test_memory_listens.py to the skills
with a fresh memory, reopens it, asks every question, and times hear() and ask().
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from bench.offline_transcript import FixedVoice
from voiceos.dialogue.asking import ask
from voiceos.dialogue.capture import hear
from voiceos.dialogue.memory import Memory
from voiceos.dialogue.persona import load_persona
from voiceos.dialogue.skills import Skills

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_memory_listens import ASKED, TOLD

    persona = load_persona("samantha")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "memory.sqlite3"
        with Memory(path) as memory:
            skills = Skills(memory, FixedVoice(), persona, rng=random.Random(1))
            for line in TOLD:
                skills.handle(line)
        hits = 0
        with Memory(path) as memory:
            skills = Skills(memory, FixedVoice(), persona, rng=random.Random(1))
            for question, wanted, unwanted in ASKED:
                reply = skills.handle(question)
                text = (reply.text if reply else "").lower()
                ok = all(w.lower() in text for w in wanted)
                hits += ok and not any(u.lower() in text for u in unwanted)
    print(f"recall after reopening: {hits}/{len(ASKED)} = {hits / len(ASKED):.1%}")
    for name, fn, lines in (
        ("hear()", hear, TOLD),
        ("ask()", ask, [q.lower().rstrip("?") for q, _, _ in ASKED]),
    ):
        rounds = 20
        start = time.perf_counter()
        for _ in range(rounds):
            for line in lines:
                fn(line)
        per_call_us = (time.perf_counter() - start) / (rounds * len(lines)) * 1e6
        print(f"{name}: {per_call_us:.0f} µs per line (mean of {rounds * len(lines)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
