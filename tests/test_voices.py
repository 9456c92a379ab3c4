"""Voice listing through pyttsx3/espeak-ng, and resolving what the user asks for."""

from __future__ import annotations

import subprocess
import sys

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


def _voiceos(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceos", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_voices_command_lists_and_marks_the_current_voice(isolated_env: dict[str, str]) -> None:
    result = _voiceos(
        {**isolated_env, "VOICEOS_VOICE_VOICE": "en-gb-x-rp"}, "voices", "--lang", "en"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    marked = [line for line in lines if line.startswith("*")]
    assert any("en-gb-x-rp" in line and "Received Pronunciation" in line for line in marked)
    assert any(line.split()[0] == "en-us" for line in lines)
    assert not any(line.split()[0] == "fr" for line in lines if line.strip())


def test_voices_command_unknown_language_is_one_line(isolated_env: dict[str, str]) -> None:
    result = _voiceos(isolated_env, "voices", "--lang", "tlh")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "tlh" in result.stderr


def test_say_command_unknown_voice_suggests(isolated_env: dict[str, str]) -> None:
    result = _voiceos(
        {**isolated_env, "VOICEOS_AUDIO_OUTPUT_DEVICE": "none"},
        "say",
        "--voice",
        "en-gb-x-pr",
        "hi",
    )
    assert result.returncode == 2
    assert (
        "unknown voice 'en-gb-x-pr'" in result.stderr
        and "did you mean 'en-gb-x-rp'" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_say_command_bad_rate_is_rejected(isolated_env: dict[str, str]) -> None:
    result = _voiceos(isolated_env, "say", "--rate", "9000", "hi")
    assert result.returncode == 2
    assert "voice.rate_wpm = 9000" in result.stderr and "80 to 400" in result.stderr
