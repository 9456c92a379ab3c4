"""Voice listing through pyttsx3/espeak-ng, and resolving what the user asks for."""

from __future__ import annotations

import pytest

from voiceos.speak.voices import (
    ACCENTS,
    list_variants,
    list_voices,
    resolve_voice,
    split_variant,
)

IDS = ["en", "en-029", "en-gb-scotland", "en-gb-x-rp", "en-us", "en-us-nyc", "fr", "de"]
NAMES = {
    "en": "English (Great Britain)",
    "en-029": "English (Caribbean)",
    "en-gb-scotland": "English (Scotland)",
    "en-gb-x-rp": "English (Received Pronunciation)",
    "en-us": "English (America)",
    "en-us-nyc": "English (America, New York City)",
    "fr": "French (France)",
    "de": "German",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("en-us", "en-us"),
        ("EN-GB-X-RP", "en-gb-x-rp"),
        ("gmw/en-us", "en-us"),
        ("en-us+f3", "en-us+f3"),
        ("en-us+F3", "en-us+f3"),
        ("British", "en-gb-x-rp"),
        ("a Scottish voice", "en-gb-scotland"),
        ("caribbean accent", "en-029"),
        ("american", "en-us"),
        ("scotland", "en-gb-scotland"),
        ("german", "de"),
        ("New York", "en-us-nyc"),
    ],
)
def test_resolves_ids_variants_accents_and_names(query: str, expected: str) -> None:
    assert resolve_voice(query, IDS, NAMES, variants=["f3", "m1"]) == expected


@pytest.mark.parametrize(
    "query",
    ["", "klingon", "en-gb", "america", "en-us+nosuch", "xx+f3", "en-us+", "voice"],
)
def test_unknown_or_ambiguous_is_none(query: str) -> None:
    assert resolve_voice(query, IDS, NAMES, variants=["f3", "m1"]) is None


def test_variant_syntax_checked_without_a_variant_list() -> None:
    assert resolve_voice("en-us+m7", IDS) == "en-us+m7"
    assert resolve_voice("en-us+m 7", IDS) is None


def test_accent_missing_from_available_is_none() -> None:
    assert resolve_voice("british", ["en-us"]) is None


def test_split_variant() -> None:
    assert split_variant("en-us+f3") == ("en-us", "f3")
    assert split_variant("en-us") == ("en-us", None)


def test_list_voices_has_the_english_voices_we_name() -> None:
    voices = list_voices()
    ids = {v.id for v in voices}
    assert {"en-us", "en-gb-x-rp", "en-029", "en-gb-scotland"} <= ids
    assert set(ACCENTS.values()) <= ids, "every accent word must map to a real voice"
    rp = next(v for v in voices if v.id == "en-gb-x-rp")
    assert "Received Pronunciation" in rp.name
    assert rp.languages == ("en-gb-x-rp",)


def test_list_voices_filters_by_language() -> None:
    english = list_voices("en")
    assert english and all(v.id.startswith("en") for v in english)
    assert "fr" not in {v.id for v in english}
    assert len(english) < len(list_voices())


def test_list_variants_has_the_female_variants() -> None:
    variants = list_variants()
    assert {"f3", "m1"} <= set(variants)
