"""Correcting a misheard name, short turns, and hearing known names (pure parts)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_skills import FakeVoice

from voiceos.dialogue.memory import Memory
from voiceos.dialogue.offline.brain import OfflineBrain
from voiceos.dialogue.persona import load_persona
from voiceos.dialogue.skills import Skills
from voiceos.stt.names import (
    RESCORE_MARGIN,
    baseline_names,
    decide,
    name_slot,
    phonetic_key,
    snap,
    sounds_like,
    take_hinted,
    worth_hinting,
)
from voiceos.types import Action


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    with Memory(tmp_path / "memory.sqlite3") as opened:
        yield opened


@pytest.fixture
def skills(memory: Memory) -> Skills:
    return Skills(memory, FakeVoice(), load_persona("samantha"), rng=random.Random(3))


def say(skills: Skills, text: str) -> str | None:
    reply = skills.handle(text)
    return None if reply is None else reply.text


@pytest.mark.parametrize(
    "correction",
    [
        "No, it's Theodore.",
        "no it is Theodore",
        "Not quite, it's Theodore",
        "It's Theodore, not Steve Adora.",
        "Actually it's Theodore",
        "Nope, I said Theodore.",
    ],
)
def test_a_name_is_corrected_right_after_it_was_heard(
    skills: Skills, memory: Memory, correction: str
) -> None:
    say(skills, "My name is Steve Adora.")
    assert memory.user_name() == "Steve Adora"
    assert "Theodore" in (say(skills, correction) or "")
    assert memory.user_name() == "Theodore"
    assert "Theodore" in (say(skills, "what's my name?") or "")


@pytest.mark.parametrize(
    "correction",
    [
        "No, my name is Theodore.",
        "That's not my name, it's Theodore.",
        "My name isn't Steve, it's Theodore.",
        "You got my name wrong, it's Theodore.",
    ],
)
def test_a_correction_that_says_my_name_works_any_time(
    skills: Skills, memory: Memory, correction: str
) -> None:
    say(skills, "My name is Steve Adora.")
    say(skills, "What time is it?")
    say(skills, correction)
    assert memory.user_name() == "Theodore"


@pytest.mark.parametrize(
    "spelled",
    [
        "My name is spelled T H E O D O R E.",
        "It's spelled T-H-E-O-D-O-R-E.",
        "my name is spelt t. h. e. o. d. o. r. e.",
        "Let me spell it: T, H, E, O, D, O, R, E.",
    ],
)
def test_a_spelled_name_is_stored(skills: Skills, memory: Memory, spelled: str) -> None:
    say(skills, "What time is it?")
    assert "Theodore" in (say(skills, spelled) or "")
    assert memory.user_name() == "Theodore"


def test_letters_alone_right_after_a_name_turn_spell_it(skills: Skills, memory: Memory) -> None:
    say(skills, "My name is the Adora and")  # not a plausible name: no name stored
    say(skills, "My name is Dora.")
    say(skills, "T H E O D O R E")
    assert memory.user_name() == "Theodore"


@pytest.mark.parametrize(
    "text",
    ["No, it's fine.", "no it's okay", "It's raining", "I said hello", "no thanks", "not really"],
)
def test_everyday_no_is_not_a_correction(skills: Skills, memory: Memory, text: str) -> None:
    say(skills, "My name is Theo.")
    say(skills, text)
    assert memory.user_name() == "Theo"


def test_a_correction_heard_as_no_name_asks_for_spelling(skills: Skills, memory: Memory) -> None:
    say(skills, "My name is Ian.")
    reply = say(skills, "No, my name is the Adora.")
    assert reply is not None and "spell" in reply
    assert memory.user_name() == "Ian"
    say(skills, "T-H-E-O-D-O-R-E")
    assert memory.user_name() == "Theodore"


def test_a_corrected_name_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    with Memory(path) as memory:
        skills = Skills(memory, FakeVoice(), load_persona("samantha"), rng=random.Random(1))
        say(skills, "My name is Ian Moore.")
        say(skills, "No, it's Theodore.")
    with Memory(path) as memory:
        skills = Skills(memory, FakeVoice(), load_persona("samantha"), rng=random.Random(2))
        assert "Theodore" in (say(skills, "What is my name?") or "")
        assert memory.names()[0] == "Theodore"


def test_memory_names_for_hints(memory: Memory) -> None:
    memory.set_user_name("Theodore")
    memory.remember("my sister Ana lives in Lisbon")
    memory.remember("My dog is called Pixel")
    names = memory.names()
    assert names[0] == "Theodore"
    assert {"Ana", "Lisbon", "Pixel"} <= set(names)
    assert "My" not in names


# --- one-word turns ---------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["wait", "hold on", "hold on a second", "one moment"])
def test_wait_stops_her_and_says_she_is_listening(skills: Skills, word: str) -> None:
    reply = skills.handle(word)
    assert reply is not None and reply.action is Action.STOP and reply.text


def test_stop_stops_her_quietly(skills: Skills) -> None:
    reply = skills.handle("stop")
    assert reply is not None and reply.action is Action.STOP and reply.text == ""


@pytest.mark.parametrize("word", ["up", "down", "off", "on", "go", "left", "next", "yes", "no"])
def test_the_offline_brain_answers_a_bare_word_sensibly(memory: Memory, word: str) -> None:
    brain = OfflineBrain(load_persona("samantha"), memory, rng=random.Random(4))
    reply = brain.respond(word)
    assert reply and "offline" not in reply.lower() and "how do you feel" not in reply.lower()
    if word in ("up", "down", "off"):
        assert any(w in reply.lower() for w in ("louder", "softer", "stop", "goodbye")), reply


def test_a_bare_yes_after_a_question_goes_on(memory: Memory) -> None:
    brain = OfflineBrain(load_persona("samantha"), memory, rng=random.Random(5))
    brain.respond("I've been reading a lot of books lately")
    assert brain.respond("yes").strip()


# --- known names in transcripts -----------------------------------------------------------------


def test_sound_keys() -> None:
    assert phonetic_key("Dmitri") == phonetic_key("Demetri")
    assert phonetic_key("Theodore") == phonetic_key("the Adora")
    assert sounds_like("Mia Tricks", "Beatrix") > sounds_like("Mia Tricks", "Theodore")


def test_hints_are_asked_for_where_a_name_may_be() -> None:
    names = ["Theodore", "Samantha"]
    assert worth_hinting("My name is Steve Adora.", names)
    assert worth_hinting("my sister the Adora is coming", names)
    assert not worth_hinting("My name is Theodore.", names)  # already there
    assert not worth_hinting("What time is it?", names)
    assert not worth_hinting("No, my name is Steve.", names)  # a correction: no pull back
    assert not worth_hinting("It's raining.", [])


def test_a_hinted_decode_is_taken_only_when_it_just_brings_the_name() -> None:
    names = ["Theodore", "Samantha", "Ana", "Jo"]
    assert take_hinted("My name is the Adora.", "My name is Theodore.", names)
    assert not take_hinted("My name is the Adora.", "My name is Ana, Jo.", names)  # read back
    assert not take_hinted(
        "unless a system is established for review in this regard",
        "unless Theodore",
        names,
    )
    assert not take_hinted("My name is Esperanza.", "My name is Samantha.", names)


def test_a_sound_alike_in_a_name_slot_is_written_as_the_name() -> None:
    assert snap("My name is Demetri.", ["Dmitri"]) == "My name is Dmitri."
    assert snap("My sister Mia Tricks is here", ["Beatrix"]) == "My sister Beatrix is here"
    assert snap("It's the door.", ["Theodore"]) == "It's the door."  # not a name slot
    assert snap("No, my name is Theodore.", ["Steve Adora"]) == "No, my name is Theodore."
    assert snap("My name is Ian.", ["Theodore"]) == "My name is Ian."


def test_a_name_slot_is_only_where_a_name_surely_follows() -> None:
    slot = name_slot("My name is David John.", ["Imogen", "Theodore"])
    assert slot is not None
    assert slot.filled("Imogen") == ["My name is Imogen."]  # both words may be the name
    assert name_slot("My name is Ray, bye, Jo.", ["Imogen"]).filled("Imogen") == [  # type: ignore[union-attr]
        "My name is Imogen."
    ]
    long = name_slot("My sister Mia Tricks is coming over tonight", ["Beatrix"])
    assert long is not None
    assert long.filled("Beatrix") == [
        "My sister Beatrix Tricks is coming over tonight",
        "My sister Beatrix is coming over tonight",
    ]
    # "my name" heard, the "is" and the name not: the rest may be "is NAME".
    half = name_slot("my name will see about.", ["Theodore"])
    assert half is not None and half.filled("Theodore") == ["my name is Theodore."]
    assert name_slot("My name was on the list of people.", ["Theodore"]) is None
    assert name_slot("My name tag fell off somewhere in the garden.", ["Theodore"]) is None
    assert name_slot("It's the door.", ["Theodore"]) is None  # not a sure name slot
    assert name_slot("No, my name is Carolyn.", ["Callum"]) is None  # a correction
    assert name_slot("My name is Callum.", ["Callum"]) is None  # already there
    assert name_slot("My name is Callum.", []) is None


def test_the_baseline_leaves_out_names_like_the_known_or_heard_ones() -> None:
    base = baseline_names(["Margot", "Samantha"], heard="My name is Danielle.")
    assert "Margaret" not in base and "Daniel" not in base
    assert len(base) >= 4


def test_a_known_name_is_taken_when_it_fits_nearly_as_well_and_clearly_better_than_others() -> None:
    baseline = [-2.6, -2.9, -3.1, -2.4, -2.8]
    # Kwame heard as "Gwen": the right name a little below, far above other names.
    assert decide(-0.33, {"Kwame": -1.27, "Samantha": -2.2}, baseline) == "Kwame"
    # Too far below what was heard.
    assert decide(-0.33, {"Kwame": -1.5, "Samantha": -2.2}, baseline) is None
    # Unclear audio: any name fits about as well (the baseline) - keep what was heard.
    assert decide(-0.8, {"Margot": -2.4}, [-2.3, -2.5, -2.6]) is None
    # Two known names fit about as well: neither.
    assert decide(-0.9, {"Ana": -1.6, "Ravi": -1.7}, baseline) is None
    # Nothing to judge against.
    assert decide(-0.3, {"Kwame": -0.5}, []) is None
    assert decide(-0.3, {}, baseline) is None
    # Each gate sits at its constant.
    edge = -0.33 - RESCORE_MARGIN
    assert decide(-0.33, {"Kwame": edge + 0.01}, baseline) == "Kwame"
    assert decide(-0.33, {"Kwame": edge - 0.01}, baseline) is None
