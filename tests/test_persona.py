"""Personas load from config/personas by name or from any path, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceos.config import ConfigError
from voiceos.dialogue.persona import Persona, available_personas, load_persona

MINIMAL = """
name = "Iris"
introduction = "I'm Iris."
greetings = ["Hello."]
farewells = ["Bye."]
system_prompt = "You are Iris."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "iris.toml"
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(name_or_path: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_persona(name_or_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_samantha_ships_complete() -> None:
    persona = load_persona("samantha")
    assert isinstance(persona, Persona)
    assert persona.name == "Samantha"
    assert persona.greetings and persona.farewells and persona.greetings_by_name
    assert all("{name}" in g for g in persona.greetings_by_name)
    assert "Samantha" in persona.system_prompt
    assert 80 <= persona.rate_wpm <= 400
    assert persona.voice
    assert "samantha" in available_personas()


def test_load_by_path_with_defaults(tmp_path: Path) -> None:
    persona = load_persona(str(write(tmp_path, MINIMAL)))
    assert persona.name == "Iris"
    assert persona.greetings == ("Hello.",)
    assert persona.greetings_by_name == ()
    assert persona.character == "" and persona.voice == ""
    assert persona.rate_wpm == 175


def test_unknown_name_lists_personas_with_did_you_mean() -> None:
    message = one_line_error("samanta")
    assert "did you mean 'samantha'" in message
    assert "available: " in message and "samantha" in message


def test_missing_file(tmp_path: Path) -> None:
    message = one_line_error(str(tmp_path / "nobody.toml"))
    assert "nobody.toml" in message and "no such persona file" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "Iris"\nintroduction = ', "not valid TOML"),
        (MINIMAL + 'greeting = ["hi"]\n', "did you mean 'greetings'"),
        (MINIMAL.replace('system_prompt = "You are Iris."', ""), "missing 'system_prompt'"),
        (MINIMAL + 'rate_wpm = "fast"\n', "expected a whole number"),
        (MINIMAL + "rate_wpm = 1000\n", "from 80 to 400"),
        (MINIMAL.replace('["Hello."]', "[]"), "greetings needs at least one line"),
        (MINIMAL + 'greetings_by_name = ["Hi {nmae}"]\n', "placeholder {name}"),
        (MINIMAL.replace('["Bye."]', '["Bye.", 3]'), "list of non-empty strings"),
        (MINIMAL.replace('name = "Iris"', 'name = " "'), "name must not be empty"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    message = one_line_error(str(path))
    assert str(path) in message
    assert expected in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'name = "\xff\xfe"\n')
    assert "UTF-8" in one_line_error(str(path))


def test_empty_name() -> None:
    assert "empty" in one_line_error("  ")
