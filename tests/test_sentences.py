"""The sentence splitter: complete sentences out as soon as they are known, nothing cut mid-way."""

from __future__ import annotations

import pytest

from voiceos.dialogue.sentences import SentenceSplitter, speakable


def split(text: str, step: int = 1) -> list[str]:
    """Feed `text` in pieces of `step` characters, then flush."""
    splitter = SentenceSplitter()
    out: list[str] = []
    for i in range(0, len(text), step):
        out.extend(splitter.feed(text[i : i + step]))
    return out + splitter.flush()


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oh, hi! How are you? I'm fine.", ["Oh, hi!", "How are you?", "I'm fine."]),
        (
            "Mr. Smith met Dr. Jones at 3.14 p.m. They talked.",
            ["Mr. Smith met Dr. Jones at 3.14 p.m.", "They talked."],
        ),
        (
            "Fruit, e.g. apples, i.e. round ones, etc. are fine in the U.S. today. Yes.",
            ["Fruit, e.g. apples, i.e. round ones, etc. are fine in the U.S. today.", "Yes."],
        ),
        ("It costs 2.50 dollars. Pi is 3.14159.", ["It costs 2.50 dollars.", "Pi is 3.14159."]),
        ("Well... maybe so. Hmm… Yes.", ["Well... maybe so.", "Hmm…", "Yes."]),
        ("Really?! Wow!!! Okay.", ["Really?!", "Wow!!!", "Okay."]),
        (
            'He said "Stop!" and left. "Wait." She ran.',
            ['He said "Stop!" and left.', '"Wait."', "She ran."],
        ),
        ("(It was late.) We slept.", ["(It was late.)", "We slept."]),
        ("Ask J. R. R. Tolkien. Done.", ["Ask J. R. R. Tolkien.", "Done."]),
        ("There are 3. Then 4.", ["There are 3.", "Then 4."]),
    ],
)
def test_sentences_are_cut_where_they_end(text: str, expected: list[str], step: int) -> None:
    assert split(text, step) == expected


def test_lists_headings_and_newlines() -> None:
    text = (
        "# Plan\nHere are options:\n- **Tea** is good\n- Coffee\n1. First item\n2. Second.\n\nEnd"
    )
    assert split(text, 2) == [
        "Plan",
        "Here are options:",
        "Tea is good",
        "Coffee",
        "First item",
        "Second.",
        "End",
    ]


@pytest.mark.parametrize("step", [1, 3, 100])
def test_prose_wrapped_mid_sentence_is_joined(step: int) -> None:
    text = (
        "You live in the user's computer\nand talk by voice. Hello there\nHow are you?\n- tea\nmilk"
    )
    assert split(text, step) == [
        "You live in the user's computer and talk by voice.",
        "Hello there",
        "How are you?",
        "tea",
        "milk",
    ]


def test_code_fences_are_not_spoken() -> None:
    text = "Try this:\n```python\nprint('hi. there')\nx = 1\n```\nThat's all."
    assert split(text, 4) == ["Try this:", "That's all."]


def test_emoji_are_dropped_and_can_end_a_sentence() -> None:
    assert split("That's lovely 😊 See you soon 👋", 2) == ["That's lovely", "See you soon"]
    assert split("I love 🍕 pizza.", 1) == ["I love pizza."]


def test_inline_markdown_is_stripped() -> None:
    assert speakable("Use `ls` and *really* read [the docs](http://x.y/a.b) __now__.") == (
        "Use ls and really read the docs now."
    )
    assert speakable("snake_case_name stays") == "snake_case_name stays"
    assert speakable("---") == ""
    assert speakable(" ... ") == ""


def test_a_sentence_goes_out_as_soon_as_it_is_known_complete() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("Oh, hi") == []
    assert splitter.feed("!") == []  # could still be "!!" or a closing quote
    assert splitter.feed(" How") == ["Oh, hi!"]
    assert splitter.feed(" are you") == []
    assert splitter.flush() == ["How are you"]


def test_abbreviation_waits_for_the_next_word() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("We went to the U.S. ") == []
    assert splitter.feed("It was") == ["We went to the U.S."]


def test_long_clause_without_punctuation_is_cut_at_a_comma_or_space() -> None:
    splitter = SentenceSplitter(max_chars=80, first_max_chars=60)
    words = "and then we walked along the river " * 6
    out: list[str] = []
    for word in ("Well, " + words).split(" "):
        out.extend(splitter.feed(word + " "))
    assert out, "nothing came out although the text grew far past the limit"
    assert all(len(s) <= 80 for s in out)
    rest = splitter.flush()
    joined = " ".join(out + rest).split()
    assert joined == ("Well, " + words).split()
    assert not any(s.endswith(("wa", "alon", "rive")) for s in out)  # never inside a word


def test_flush_resets_for_the_next_reply() -> None:
    splitter = SentenceSplitter()
    splitter.feed("```\ncode")
    assert splitter.flush() == []
    assert splitter.feed("Fresh start. ") == ["Fresh start."]
