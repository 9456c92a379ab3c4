"""Fact capture and question reading, in process: what counts as a fact, what is asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.offline_transcript import FixedVoice
from voiceos.dialogue.asking import Ask, answer, ask
from voiceos.dialogue.capture import hear
from voiceos.dialogue.context import build_messages
from voiceos.dialogue.memory import MAX_FACTS, Memory
from voiceos.dialogue.persona import load_persona
from voiceos.dialogue.skills import Skills

STATED = [
    # (said, subject, key, value)
    ("my cat is called Miso", "cat", "cat.name", "Miso"),
    ("Actually my cat's name is Pixel, not Miso.", "cat", "cat.name", "Pixel"),
    ("oh by the way my best mate is called Jo", "best friend", "best friend.name", "Jo"),
    ("Jo is my best friend", "best friend", "best friend.name", "Jo"),
    ("my sister Ana lives in Lisbon", "sister", "sister.home", "Lisbon"),
    ("i live in porto now", "home", "home", "porto"),
    ("We just moved to Porto.", "home", "home", "Porto"),
    ("I'm originally from Cork", "origin", "origin", "Cork"),
    ("I grew up in a small town near Leeds", "origin", "origin", "a small town near Leeds"),
    ("I work as a nurse at the general hospital", "work", "work", "a nurse"),
    ("I'm a software developer", "work", "work", "a software developer"),
    ("i'm studying law", "study", "study", "law"),
    ("my birthday is on the third of May", "birthday", "birthday.date", "the third of May"),
    ("my mum's birthday is June 4th", "mother birthday", "mother birthday.date", "June 4th"),
    ("I love jazz", "likes", "taste:jazz", "jazz"),
    ("I don't like jazz any more", "dislikes", "taste:jazz", "jazz"),
    ("I'm not a fan of horror films", "dislikes", "taste:horror films", "horror films"),
    ("my favourite colour is green", "favourite colour", "favourite:colour", "green"),
    ("I'm flying to Tokyo on Friday", "plans", "plan:tokyo", "flying to Tokyo on Friday"),
    ("I've been feeling really lonely", "feelings", "feeling", "lonely"),
    ("we've got a dog called Rex", "dog", "dog.name", "Rex"),
    ("I have two cats", "cat", "cat.has", "cat"),
    ("my dad is a retired firefighter", "father", "father.work", "a retired firefighter"),
    ("I live in Porto, which isn't far from the sea", "home", "home", "Porto"),
    ("as I told you, I live in Porto", "home", "home", "Porto"),
    ("I don't live in Paris, I live in Porto", "home", "home", "Porto"),
    ("my cat is called Miso, though she never comes", "cat", "cat.name", "Miso"),
]

NOT_FACTS = [
    "I don't have a dog",
    "I never lived in Paris",
    "my cat isn't called Miso",
    "if I lived in Paris I'd be happier",
    "I would love to live in Rome",
    "maybe I'll move to Berlin",
    "imagine my cat was called Bob",
    "what's my cat called?",
    "where do I live",
    "is my sister called Ana?",
    "my friend says her cat is called Bo",
    "Tom told me he lives in Leeds",
    "my mum told me my sister lives in Lisbon",
    "I was told my cat is called Bob",
    "apparently my boss is called Linda",
    "apparently my boss is a nurse",
    "she lives in Paris",
    "I'm a big fan",
    "I'm not from London",
    "I love you",
    "I think I need a walk",
    "my sister is nice",
    "I'm going to bed",
]


@pytest.mark.parametrize(("said", "subject", "key", "value"), STATED)
def test_statements_are_heard(said: str, subject: str, key: str, value: str) -> None:
    heard = hear(said)
    assert len(heard) == 1, heard
    assert (heard[0].subject, heard[0].key) == (subject, key)
    assert value.lower().split()[-1] in heard[0].value.lower(), heard[0]
    assert heard[0].text.lower() in said.lower()  # the user's own words, nothing added


@pytest.mark.parametrize("said", NOT_FACTS)
def test_questions_negations_hypotheticals_and_reports_are_not_facts(said: str) -> None:
    assert hear(said) == []


def test_several_facts_in_one_line_and_names_from_lower_case_speech() -> None:
    heard = hear("i have a dog named rex and i live in leeds")
    assert [h.key for h in heard] == ["dog.name", "home"]
    assert heard[0].name == "Rex"


QUESTIONS = [
    ("what's my cat called", Ask("name", "cat")),
    ("who's my best mate", Ask("name", "best friend")),
    ("where's home for me", Ask("home")),
    ("what city do i live in", Ask("home")),
    ("where did i grow up", Ask("origin")),
    ("what do i do for a living", Ask("work")),
    ("when's my birthday", Ask("date")),
    ("when is my mum's birthday", Ask("date", "mother")),
    ("where does my sister live", Ask("home", "sister")),
    ("do i have any pets", Ask("has", "pet")),
    ("how have i been feeling", Ask("feelings")),
]


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_questions_are_read(question: str, expected: Ask) -> None:
    got = ask(question)
    assert got is not None
    assert (got.slot, got.who) == (expected.slot, expected.who)


def test_not_personal_questions_are_left_alone() -> None:
    for question in ("what time is it", "where is paris", "who wrote hamlet", "do you like jazz"):
        assert ask(question) is None


@pytest.fixture
def memory(tmp_path: Path) -> Memory:
    m = Memory(tmp_path / "memory.sqlite3")
    m.open()
    return m


def keep_all(memory: Memory, *said: str, source: str = "heard") -> None:
    for line in said:
        for h in hear(line):
            memory.keep(h.subject, h.key, h.text, h.value, h.name, source)


def test_corrections_replace_and_survive_reopening(memory: Memory, tmp_path: Path) -> None:
    keep_all(memory, "my cat is called Miso", "I live in Leeds", "I moved to Porto")
    keep_all(memory, "actually my cat's name is Pixel")
    memory.close()
    with Memory(tmp_path / "memory.sqlite3") as again:
        texts = [f.text for f in again.facts()]
        assert texts == ["I moved to Porto", "actually my cat's name is Pixel"] or texts == [
            "I moved to Porto",
            "my cat's name is Pixel",
        ]
        found = answer(Ask("name", "cat"), again.facts())
        assert found[0].name == "Pixel" and found[0].source == "heard"  # type: ignore[attr-defined]


def test_names_for_hotwords(memory: Memory) -> None:
    memory.set_user_name("Theo")
    keep_all(memory, "my sister Ana lives in Lisbon", "my cat is called Miso", "I live in Porto")
    keep_all(memory, "my dog rex loves the beach", "I'm flying to New York on Friday")
    keep_all(memory, "my cat's name is Pixel")  # replaces Miso
    names = memory.names()
    assert names[0] == "Theo"
    assert names[1:4] == ["Pixel", "New York", "Rex"]
    assert {"Ana", "Lisbon", "Porto"} <= set(names) and "Miso" not in names
    assert "Friday" not in names and len(names) == len(set(names))


def test_facts_are_bounded(memory: Memory) -> None:
    for i in range(MAX_FACTS + 30):
        memory.keep("plans", f"plan:{i}", f"I'm seeing friend {i} on Friday")
    facts = memory.facts()
    assert len(facts) == MAX_FACTS and facts[-1].key == f"plan:{MAX_FACTS + 29}"


class _Persona:
    name = "Samantha"
    system_prompt = "You are Samantha."


def test_prompt_sends_all_facts_when_few_and_relevant_ones_when_many(memory: Memory) -> None:
    keep_all(memory, "my sister Ana lives in Lisbon", "my cat is called Miso")
    system = build_messages(_Persona(), memory, "hello", 2000)[0]["content"]
    assert "Ana lives in Lisbon" in system and "called Miso" in system
    for i in range(200):
        memory.remember(f"I once bought a blue umbrella number {i} at the market")
    system = build_messages(_Persona(), memory, "how is my sister doing?", 2000)[0]["content"]
    assert "my sister Ana lives in Lisbon" in system  # relevant, though old
    assert "called Miso" not in system  # old and irrelevant: no room
    assert "umbrella number 199" in system  # the newest fill the rest
    facts_part = system.split("own words", 1)[1]
    assert len(facts_part) <= 1000 + 200


def test_a_v2_memory_is_migrated_and_its_facts_stay_told(tmp_path: Path) -> None:
    import sqlite3

    from voiceos.dialogue.memory import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:
        step(conn)
    conn.execute("INSERT INTO facts (text, created_s, topic) VALUES ('my dog is Rex', 1.0, 'dog')")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Memory(path) as memory:
        (fact,) = memory.facts()
        assert (fact.text, fact.topic, fact.key, fact.source) == (
            "my dog is Rex",
            "dog",
            "",
            "told",
        )
        keep_all(memory, "my dog is called Bo")  # a heard fact does not replace an unkeyed one
        assert len(memory.facts()) == 2
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    conn.close()


# Told and asked one pair at a time (a fresh memory each), so no pair corrects another.
ONE_BY_ONE = [
    ("So yeah, my little brother Sam just started university", "what's my brother called?", "Sam"),
    ("I've lived in Glasgow my whole life", "where do I live?", "Glasgow"),
    ("we've been in Toronto for about three years now", "what city am I in?", "Toronto"),
    ("I'm currently living in a tiny flat in Brighton", "where am I living?", "Brighton"),
    ("ugh, my manager Karen is driving me mad", "who's my manager?", "Karen"),
    ("I was raised in Lagos", "where was I brought up?", "Lagos"),
    ("I'm a software engineer", "what's my job?", "engineer"),
    ("I'm an accountant, it's as boring as it sounds", "what do I do?", "accountant"),
    ("I do marketing for a tech company", "what's my line of work?", "marketing"),
    ("I'm in my final year of medical school", "what am I studying?", "medical"),
    ("I'm doing a masters in history", "what's my degree in?", "history"),
    ("My birthday's the 14th of February, believe it or not", "when's my birthday?", "14th"),
    ("Honestly I adore gardening", "what are my hobbies?", "gardening"),
    ("I really enjoy hiking at weekends", "what do I like doing?", "hiking"),
    ("I absolutely hate the cold", "what do I hate?", "cold"),
    ("My favourite food has to be dumplings", "what's my favourite food?", "dumplings"),
    ("I'm heading to Rome next Tuesday", "where am I going?", "Rome"),
    ("I've got a doctor's appointment tomorrow", "what have I got on tomorrow?", "doctor"),
    ("Next weekend I'm going camping with my dad", "what are my plans?", "camping"),
    ("I've been really stressed lately", "how have I been feeling?", "stressed"),
    ("My dog's called Bailey", "what's my dog's name?", "Bailey"),
    ("We have two cats, Salt and Pepper", "what are my cats called?", "Salt"),
    ("I've got a tortoise named Sheldon", "do I have any pets?", "Sheldon"),
    ("My husband is a firefighter", "what does my husband do?", "firefighter"),
    ("My girlfriend lives in Paris", "where does my girlfriend live?", "Paris"),
    ("My twin sister is called Mia", "who's my sister?", "Mia"),
    ("My oldest friend Dave lives in Bristol", "where does Dave live?", "Bristol"),
    ("I'm originally Brazilian", "where am I from?", "Brazil"),
    ("I work nights at the hospital", "where do I work?", "hospital"),
    ("I teach English to adults", "what do I teach?", "English"),
    ("I go to Leeds University", "where do I study?", "Leeds"),
    ("Our wedding anniversary is the 3rd of June", "when's our anniversary?", "June"),
    ("I'm not keen on spicy food", "what food don't I like?", "spicy"),
    ("I have a golden retriever called Max", "what's my dog's name?", "Max"),
    ("Our cat Luna is three", "what do we call our cat?", "Luna"),
    ("My wife's name is Clara", "who's my wife?", "Clara"),
    ("I'm married to Daniel", "what's my husband called?", "Daniel"),
    ("I'm a teacher at a primary school", "where do I work?", "primary school"),
    ("My birthday's in October", "when do I celebrate my birthday?", "October"),
    ("I live with my boyfriend in Berlin", "which city do I live in?", "Berlin"),
    ("Home for me is Dublin these days", "where's home?", "Dublin"),
    ("I've been working as a barista for two years", "what's my job again?", "barista"),
    ("My favorite movie is Amelie", "what's my favourite film?", "Amelie"),
    ("Tom's my best friend", "who is my best friend?", "Tom"),
    ("My mom lives in Florida", "where does my mum live?", "Florida"),
    ("I'm going to Paris next month", "where am I going next month?", "Paris"),
    ("I'm allergic to peanuts", "what am I allergic to?", "peanuts"),
    ("I'm 34", "how old am I?", "34"),
    ("My son Leo is seven", "do you know my son's name?", "Leo"),
    ("my sister's called Ruth and she's a vet", "what does my sister do?", "vet"),
    ("I grew up on a farm in Wales", "where did I grow up?", "Wales"),
    ("I'm studying to be a nurse", "what am I studying?", "nurse"),
    ("I can't stand coriander", "what food do I hate?", "coriander"),
    ("My favourite band is Radiohead", "what music am I into?", "Radiohead"),
    ("My daughter is called Ivy", "what did I say my daughter was called?", "Ivy"),
    ("I work for a small charity", "what did I tell you I do for work?", "charity"),
    ("we've got a hamster named Biscuit", "do we have any pets?", "Biscuit"),
    ("I'm originally from Kenya but I live in Leeds", "where am I from originally?", "Kenya"),
    ("My partner Sam is a chef", "what does my partner do for a living?", "chef"),
    ("My dad's birthday is on the 9th of June", "when is my father's birthday?", "June"),
    ("I'm a huge fan of Agatha Christie", "who do I like reading?", "Christie"),
    ("I'm moving to Madrid in April", "when am I moving?", "April"),
    ("My best friend Priya lives in Mumbai", "where does my best friend live?", "Mumbai"),
]


@pytest.mark.parametrize(("told", "asked", "wanted"), ONE_BY_ONE)
def test_told_once_asked_in_other_words(told: str, asked: str, wanted: str, tmp_path: Path) -> None:
    persona = load_persona("samantha")
    with Memory(tmp_path / "m.sqlite3") as memory:
        Skills(memory, FixedVoice(), persona).handle(told)
    with Memory(tmp_path / "m.sqlite3") as memory:
        reply = Skills(memory, FixedVoice(), persona).handle(asked)
    assert reply is not None and wanted.lower() in reply.text.lower(), reply


@pytest.mark.parametrize(
    ("told", "asked", "wanted"),
    [
        ("my dog is called Rex", "do you remember what my dog is called?", "Rex"),
        ("my dog is called Rex", "what name did I give my dog?", "Rex"),
        ("I'm from Cork", "which country am I from?", "Cork"),
        ("I'm from Cork", "where's my hometown?", "Cork"),
        ("I work as a nurse", "what's my line of work?", "nurse"),
        ("I work as a nurse", "how do I earn money?", "nurse"),
        ("I study law", "what subject do I study?", "law"),
        ("I love sushi", "which foods do I love?", "sushi"),
        ("I have a dentist appointment on Friday", "what's happening on Friday?", "dentist"),
        ("I'm so worried about my exam", "what was I worried about?", "exam"),
        ("my best friend is called Jo", "who is Jo?", "best friend"),
        ("I live in Porto", "tell me what you know about me", "Porto"),
    ],
)
def test_more_ways_of_asking(told: str, asked: str, wanted: str, tmp_path: Path) -> None:
    test_told_once_asked_in_other_words(told, asked, wanted, tmp_path)


def test_questions_for_advice_are_left_to_the_brain(tmp_path: Path) -> None:
    persona = load_persona("samantha")
    with Memory(tmp_path / "m.sqlite3") as memory:
        skills = Skills(memory, FixedVoice(), persona)
        skills.handle("my sister Ana lives in Lisbon")
        skills.handle("remember that my bike is a blue Peugeot")
        assert skills.handle("what should I get my sister for her birthday?") is None
        assert skills.handle("how can I fix my bike?") is None
        reply = skills.handle("what kind of bike do I have?")
        assert reply is not None and "Peugeot" in reply.text
