"""A 60-turn small-talk conversation with the offline brain, into docs/conversation-offline.md.

Run: .venv/bin/python -m bench.offline_transcript          (rewrites the file)
     .venv/bin/python -m bench.offline_transcript --check  (exit 1 if the file is stale)

The turns go through the real dialogue (local skills first, then the offline brain) with
a fresh memory in a throwaway folder and a fixed seed, so the transcript is reproducible.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

from voiceos.dialogue.memory import Memory
from voiceos.dialogue.offline import OfflineBrain
from voiceos.dialogue.persona import load_persona
from voiceos.dialogue.router import Dialogue
from voiceos.dialogue.skills import Skills
from voiceos.types import UserTurn, VoiceSettings

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "conversation-offline.md"
SEED = 11

TURNS = [
    "hey there",
    "I'm alright, a bit tired to be honest",
    "long week at work",
    "I'm a nurse, so it's mostly night shifts at the moment",
    "my name is Rosa by the way",
    "do you ever get bored in there?",
    "what do you think about friendship?",
    "my best friend is called Imke, we met at school",
    "she lives in Rotterdam now, so I barely see her",
    "I miss the way we used to just hang out",
    "yeah",
    "we talk on the phone most Sundays",
    "anyway, I've got a cat called Pepper",
    "she sleeps on my feet every night",
    "what's the weather going to be like tomorrow?",
    "fair enough, I'll look out of the window",
    "I think I could do with some fresh air",
    "there's a park near my flat with a little pond",
    "I don't really like crowds though",
    "I love the quiet first thing in the morning",
    "tell me something about yourself",
    "that's sweet",
    "I'm originally from Valencia",
    "I moved to Leeds about six years ago",
    "I wouldn't go back to Valencia, I don't think",
    "nothing much",
    "I've been trying to learn the piano",
    "it's harder than I expected",
    "I can't get my left hand to cooperate",
    "haha",
    "what's the capital of Australia?",
    "ok",
    "I'm flying to Lisbon on Friday for a long weekend",
    "I'm a bit nervous about flying actually",
    "it's the take off I hate",
    "do you like music?",
    "jazz mostly, and some old soul records",
    "my brother Nico plays the saxophone",
    "he's a music teacher in Madrid",
    "I wish I saw him more often",
    "hmm",
    "what would you do if you had a day off?",
    "I'd probably just sleep",
    "my birthday is on the 2nd of March",
    "I never know how to celebrate it",
    "can you book me a table somewhere nice?",
    "never mind, I'll sort it out myself",
    "I had the strangest dream last night",
    "I was back at school and couldn't find my classroom",
    "do you dream?",
    "right",
    "what's my cat called?",
    "and where does my best friend live?",
    "where do I live, do you remember?",
    "what do you know about me?",
    "you're a good listener",
    "I feel a bit less alone when we talk",
    "I should probably get some sleep before my shift",
    "thank you for tonight",
    "goodnight",
]


class FixedVoice:
    """The voice the skills may read; no turn here changes it."""

    def current(self) -> VoiceSettings:
        return VoiceSettings(voice="en-us", rate_wpm=175, volume=1.0)

    def update(
        self, *, voice: str | None = None, rate_wpm: int | None = None, volume: float | None = None
    ) -> VoiceSettings:
        return self.current()

    def voice_ids(self) -> list[str]:
        return ["en-us"]


async def _say(dialogue: Dialogue, line: str) -> str:
    reply = dialogue.respond(UserTurn(line))
    return "".join([delta async for delta in reply.deltas]).strip()


def conversation(seed: int = SEED) -> list[tuple[str, str]]:
    """(user line, reply) for every turn, from a fresh memory."""
    persona = load_persona("samantha")
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder, Memory(Path(folder) / "memory.sqlite3") as memory:
        dialogue = Dialogue(
            Skills(memory, FixedVoice(), persona, rng=rng), OfflineBrain(persona, memory, rng), None
        )
        pairs = []
        for line in TURNS:
            reply = asyncio.run(_say(dialogue, line))
            memory.add_turn("user", line)
            memory.add_turn("assistant", reply)
            pairs.append((line, reply))
    return pairs


def render(pairs: list[tuple[str, str]]) -> str:
    lines = [
        "# A conversation with the offline brain",
        "",
        f"{len(pairs)} turns of small talk, typed, with no language model (seed {SEED}).",
        "Regenerate with `python -m bench.offline_transcript`; tests/test_offline_transcript.py",
        "checks it is current and free of the mechanical faults a reader would notice.",
        "",
    ]
    for number, (user, reply) in enumerate(pairs, 1):
        lines += [f"{number}. **You:** {user}", f"   **Samantha:** {reply}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the file is current")
    args = parser.parse_args(argv)
    text = render(conversation())
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is stale: run python -m bench.offline_transcript", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
