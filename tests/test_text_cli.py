"""A typed conversation through the real CLI in a subprocess, with isolated config and data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))
    return env


def chat(env: dict[str, str], *lines: str | bytes, extra: tuple[str, ...] = ()) -> list[str]:
    """Pipe lines into `voiceos --text --mute` and return Samantha's reply lines."""
    data = b"".join((ln if isinstance(ln, bytes) else ln.encode()) + b"\n" for ln in lines)
    result = subprocess.run(
        [sys.executable, "-m", "voiceos", "--text", "--mute", *extra],
        input=data,
        env=env,
        capture_output=True,
        timeout=120,
    )
    out = result.stdout.decode()
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "Traceback" not in err, err
    return [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("Samantha: ")]


def test_name_is_remembered_across_restarts(home: dict[str, str]) -> None:
    replies = chat(home, "my name is Theo", "what is my name")
    assert len(replies) == 3  # greeting + two answers
    assert "Theo" in replies[2]
    later = chat(home, "what's my name?")
    assert "Theo" in later[0] or "Theo" in later[1]  # greeted by name, and answered
    assert "Theo" in later[1]


def test_time_and_date_match_the_clock(home: dict[str, str]) -> None:
    before = datetime.now()
    replies = chat(home, "what time is it", "what's the date today")
    after = datetime.now()
    match = re.search(r"(\d{1,2})(?::(\d{2})| o'clock)|\b(noon|midnight)\b", replies[1])
    assert match, replies[1]
    if match.group(3):  # exactly 12:00 or 0:00, by name
        said = 0
    else:
        minute = int(match.group(2) or 0)  # "3 o'clock" on the hour
        said = (int(match.group(1)) % 12) * 60 + minute  # minutes on a 12-hour dial
    dial = {(t.hour % 12) * 60 + t.minute for t in (before, after)}
    assert any(min(abs(said - d), 720 - abs(said - d)) <= 1 for d in dial), (replies[1], before)
    # The period of the day removes the 12-hour ambiguity ("1:27 in the afternoon").
    periods = [(5, "night"), (12, "morning"), (17, "afternoon"), (21, "evening"), (24, "night")]
    period = next(name for end, name in periods if before.hour < end)
    assert period in replies[1] or re.search(r"\b(noon|midnight)\b", replies[1]), replies[1]
    today = before.date()
    assert today.strftime("%A") in replies[2] and today.strftime("%B") in replies[2], replies[2]
    assert str(today.day) in replies[2]


def test_remember_recall_and_forget(home: dict[str, str]) -> None:
    replies = chat(
        home,
        "remember that my sister lives in Lisbon",
        "what did I tell you about my sister",
    )
    assert "Lisbon" in replies[2]
    replies = chat(
        home,
        "what do you remember about my sister?",
        "forget my sister",
        "what did I tell you about my sister",
    )
    assert "Lisbon" in replies[1]  # survived the restart
    assert "Lisbon" not in replies[3]


def test_help_quiet_and_goodbye(home: dict[str, str]) -> None:
    replies = chat(home, "what can you do?", "be quiet", "goodbye", "are you still there?")
    assert re.search(r"time|remember|voice", replies[1], re.I)
    # goodbye ends the session: the line after it is never answered
    assert len(replies) == 4 or (len(replies) == 3 and replies[-1])
    assert not any("still there" in r for r in replies)


def _rate(env: dict[str, str]) -> int:
    path = Path(env["XDG_CONFIG_HOME"]) / "voiceos" / "config.toml"
    saved = tomllib.loads(path.read_text()) if path.exists() else {}
    return int(saved.get("voice", {}).get("rate_wpm", 0))


def test_voice_command_changes_rate_persisted_and_audible(home: dict[str, str]) -> None:
    from voiceos import config
    from voiceos.speak.synth import Pyttsx3Synth
    from voiceos.types import VoiceSettings

    base = config.load(env={})["voice.rate_wpm"]
    chat(home, "could you speak a little slower please")
    slower = _rate(home)
    assert 0 < slower < base
    chat(home, "speak much slower")
    slowest = _rate(home)
    assert 0 < slowest < slower
    synth = Pyttsx3Synth()
    synth.start()
    try:
        sentence = "I like talking with you about the small things in your day."
        fast = synth.synthesize(sentence, VoiceSettings(rate_wpm=base))
        slow = synth.synthesize(sentence, VoiceSettings(rate_wpm=slowest))
    finally:
        synth.close()
    ratio = (len(slow.samples) / slow.sample_rate_hz) / (len(fast.samples) / fast.sample_rate_hz)
    assert ratio > 1.1 * (base / slowest) ** 0.5, ratio


def test_strange_lines_get_sane_answers(home: dict[str, str]) -> None:
    lines: list[str | bytes] = [
        "",
        "   ",
        "x" * 100_000,
        "\x1b[31mred\x1b[0m \x07\x00 bell",
        b"\xff\xfe\xfa broken utf8 \xc3",
        "مرحبا كيف حالك",
        "🙂🙂🙂",
        "?!?!",
    ]
    replies = chat(home, *lines)
    # greeting + one reply for each non-empty line; empty lines are just skipped
    assert len(replies) == 1 + 6
    assert all(r.strip() for r in replies)
    assert not any("\x1b" in r or "\x00" in r for r in replies)


def test_ctrl_d_at_start_exits_cleanly(home: dict[str, str]) -> None:
    assert len(chat(home)) == 1  # only the greeting
