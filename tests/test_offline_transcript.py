"""The committed offline transcript is current, never repeats itself, and has no mechanical faults.

The faults checked are the ones a program can see: ungrammatical turned-around clauses,
"offline" excuses for things that need no internet, echoed fragments, and names said
back in the wrong case. The same checks run over many seeds and awkward lines.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from bench.offline_transcript import OUTPUT, TURNS, conversation, render
from voiceos.dialogue.memory import Memory
from voiceos.dialogue.offline import OfflineBrain
from voiceos.dialogue.offline.patterns import is_knowledge_question
from voiceos.dialogue.persona import load_persona
from voiceos.dialogue.skills.text import normalise

NEEDS_INTERNET = re.compile(
    r"\b(?:weather|forecast|rain|news|headlines|score|who won|capital of|population|look up|"
    r"search|google|book|order|buy|price|directions|stream|download|translate|internet)\b",
    re.IGNORECASE,
)
EXCUSE = re.compile(r"\boffline\b|\binternet\b|\blook (?:that|it|things) up\b", re.IGNORECASE)
UNGRAMMATICAL = re.compile(
    r"\b(?:you am|I are|I is|you is|you was|I were|me am|your're|you has|I has|been not|"
    r"being not|have you been not|you got anymore|you've got anymore)\b",
    re.IGNORECASE,
)
DANGLING = re.compile(
    r"\b(?:and|but|or|because|the|a|an|my|your|called|named|especially|anymore|than)[?.!]",
    re.IGNORECASE,
)


def faults(user: str, reply: str) -> list[str]:
    """The mechanical faults in one reply to `user`."""
    found = []
    if UNGRAMMATICAL.search(reply):
        found.append("ungrammatical reflection")
    if DANGLING.search(reply):
        found.append("echoed fragment (ends on a dangling word)")
    said = normalise(user)
    if EXCUSE.search(reply) and not (NEEDS_INTERNET.search(user) or is_knowledge_question(said)):
        found.append("offline excuse for something that needs no internet")
    for word in re.findall(r"(?<!^)(?<![.!?] )\b([A-Z][a-z]+)\b", user):
        if word != "I" and re.search(rf"\b{word.lower()}\b", reply):
            found.append(f"name {word!r} said back in lower case")
    for sentence in re.split(r"(?<=[.?!])\s+", reply):
        if sentence.endswith("?") and len(sentence.split()) > 16:
            found.append("a question too long to be anything but an echo")
    return found


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    return conversation()


def test_committed_transcript_is_current(pairs: list[tuple[str, str]]) -> None:
    assert OUTPUT.read_text() == render(pairs), "run: python -m bench.offline_transcript"


def test_sixty_turns_that_never_repeat(pairs: list[tuple[str, str]]) -> None:
    assert len(pairs) == len(TURNS) == 60
    replies = [reply for _, reply in pairs]
    assert len(set(replies)) == len(replies), [r for r in replies if replies.count(r) > 1]
    sentences = [s for r in replies for s in re.split(r"(?<=[.?!])\s+", r) if len(s.split()) > 3]
    repeated = {s for s in sentences if sentences.count(s) > 1}
    assert not repeated, repeated


def test_transcript_has_no_mechanical_faults(pairs: list[tuple[str, str]]) -> None:
    problems = [f"{u!r} -> {r!r}: {f}" for u, r in pairs for f in faults(u, r)]
    assert not problems, "\n".join(problems)


def test_transcript_remembers_what_was_said_in_passing(pairs: list[tuple[str, str]]) -> None:
    answers = {user: reply for user, reply in pairs}
    assert "Pepper" in answers["what's my cat called?"]
    assert "Rotterdam" in answers["and where does my best friend live?"]
    assert "Leeds" in answers["where do I live, do you remember?"]


AWKWARD = [
    "I don't want to talk about it anymore",
    "I feel a bit lonely tonight",
    "what do you think about love?",
    "I think I need a walk",
    "can you tell me something about yourself",
    "my cat's called Miso",
    "I'm not sure what I want",
    "I'm not from around here",
    "I want to go home",
    "my boss is driving me crazy",
    "she never listens to me",
    "I can't sleep",
    "I don't really want anything anymore",
    "I love cooking, especially for friends",
    "can you help me write a poem",
    "can you remind me to call my mum",
    "what should I have for dinner?",
    "what do you think I should do?",
    "I've been feeling a bit down this evening",
    "I really need a holiday",
    "it's been a weird day",
    "my sister Ana just moved to Lisbon",
    "I'm thinking about quitting my job",
    "I had a fight with my partner",
    "why do people get so angry?",
    "I miss my grandmother",
    "I'm so tired of everything",
    "work was fine I guess",
    "my phone died on the way home",
    "I went for a run in the rain",
    "I'm nervous about my exam tomorrow",
    "I wish I had more time for myself",
    "can you sing?",
    "will you be here tomorrow?",
    "I'd like a cup of tea",
]


@pytest.mark.parametrize("seed", range(8))
def test_awkward_lines_get_no_broken_replies(seed: int, tmp_path: Path) -> None:
    persona = load_persona("samantha")
    with Memory(tmp_path / "memory.sqlite3") as memory:
        brain = OfflineBrain(persona, memory, random.Random(seed))
        problems = []
        for line in AWKWARD:
            reply = brain.respond(line)
            problems += [f"{line!r} -> {reply!r}: {f}" for f in faults(line, reply)]
        assert not problems, "\n".join(problems)
