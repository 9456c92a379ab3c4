"""Voice settings: validated, persisted to the user's file, and read back by the config."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from voiceos import config as config_mod
from voiceos.config import ConfigError
from voiceos.speak.settings import VoiceState
from voiceos.types import VoiceSettings

IDS = ["en", "en-029", "en-gb-scotland", "en-gb-x-rp", "en-us", "fr"]
VARIANTS = ["f1", "f2", "f3", "m1", "whisperf"]


def make_state(user_file: Path, initial: VoiceSettings | None = None) -> VoiceState:
    return VoiceState(
        user_file, initial or VoiceSettings("en-us+f3", 175, 0.9), lambda: IDS, lambda: VARIANTS
    )


def test_update_applies_and_persists(isolated_env: dict[str, str], tmp_path: Path) -> None:
    user_file = tmp_path / "conf" / "config.toml"
    state = make_state(user_file)
    new = state.update(rate_wpm=140)
    assert new == VoiceSettings("en-us+f3", 140, 0.9)
    assert state.current() == new
    new = state.update(voice="a British voice", volume=0.5)
    assert new == VoiceSettings("en-gb-x-rp", 140, 0.5)
    saved = config_mod.read_toml(user_file)
    assert saved == {"voice.rate_wpm": 140, "voice.voice": "en-gb-x-rp", "voice.volume": 0.5}
    loaded = config_mod.load(user_file=user_file, env={})
    assert loaded["voice.rate_wpm"] == 140 and loaded["voice.voice"] == "en-gb-x-rp"


def test_persisting_keeps_other_settings(tmp_path: Path) -> None:
    user_file = tmp_path / "config.toml"
    config_mod.set_value(user_file, "llm.model", "llama3")
    make_state(user_file).update(voice="en-us+F1")
    saved = config_mod.read_toml(user_file)
    assert saved == {"llm.model": "llama3", "voice.voice": "en-us+f1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rate_wpm": 20}, "voice.rate_wpm = 20 is not allowed"),
        ({"rate_wpm": 900}, "from 80 to 400"),
        ({"volume": 1.5}, "voice.volume = 1.5 is not allowed"),
        ({"volume": -0.1}, "0 to 1"),
        ({"voice": "klingon"}, "unknown voice 'klingon'"),
        ({"voice": "britsh"}, "did you mean 'british'"),
        ({"voice": "en-us+f9"}, "unknown voice variant 'f9'"),
        ({"voice": "en-us", "rate_wpm": 5}, "rate_wpm"),
    ],
)
def test_bad_values_are_rejected_and_nothing_changes(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    user_file = tmp_path / "config.toml"
    state = make_state(user_file)
    before = state.current()
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("+", r"\+")):
        state.update(**change)  # type: ignore[arg-type]
    assert state.current() == before
    assert not user_file.exists()


def test_unwritable_file_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    state = make_state(blocker / "config.toml")
    with pytest.raises(ConfigError, match="not-a-dir"):
        state.update(rate_wpm=150)
    assert state.current().rate_wpm == 175


def test_voice_ids_lists_once() -> None:
    calls = []

    def available() -> list[str]:
        calls.append(1)
        return IDS

    state = VoiceState(Path("unused.toml"), VoiceSettings(), available, lambda: VARIANTS)
    assert state.voice_ids() == sorted(IDS)
    assert state.resolve("scottish") == "en-gb-scotland"
    assert len(calls) == 1


def test_concurrent_updates_are_consistent(tmp_path: Path) -> None:
    user_file = tmp_path / "config.toml"
    state = make_state(user_file)
    rates = list(range(100, 140))
    threads = [threading.Thread(target=state.update, kwargs={"rate_wpm": r}) for r in rates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    final = state.current().rate_wpm
    assert final in rates
    assert config_mod.read_toml(user_file)["voice.rate_wpm"] == final
