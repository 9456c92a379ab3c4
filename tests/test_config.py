"""Settings: layering, validation, atomic writes, and clear errors through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from voiceos import config, paths


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))
    env.update(extra)
    return env


def voiceos(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceos", *args],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_every_rule_has_a_commented_default() -> None:
    text = paths.defaults_file().read_text()
    flat = config.read_toml(paths.defaults_file())
    assert set(flat) == set(config.RULES)
    for key, value in flat.items():
        assert config.check(key, value, "defaults") == value
        leaf = key.rsplit(".", 1)[-1]
        line = next(ln for ln in text.splitlines() if ln.startswith(leaf + " "))
        assert "#" in line, f"{key} has no comment"


def test_layers_in_order(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[voice]\nrate_wpm = 150\nvolume = 0.5\n[llm]\nmodel = "m1"\n')
    env = {"VOICEOS_VOICE_RATE_WPM": "160", "VOICEOS_LLM_MODEL": "m2"}
    merged = config.load(user_file=user, env=env, flags={"voice.rate_wpm": 170})
    assert merged["voice.rate_wpm"] == 170  # flag beats env
    assert merged["llm.model"] == "m2"  # env beats file
    assert merged["voice.volume"] == 0.5  # file beats default
    assert merged["voice.voice"] == config.read_toml(paths.defaults_file())["voice.voice"]


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ("[voice]\nrate_wpm = 9000\n", ["voice.rate_wpm", "9000", "80 to 400"]),
        ("[voice]\nratewpm = 100\n", ["unknown setting", "did you mean 'voice.rate_wpm'"]),
        ('[stt]\nengine = "wisper"\n', ["stt.engine", "did you mean 'whisper'"]),
        ("[voice\n", ["not valid TOML", "line 1"]),
        ('[llm]\napi_key = "sk-123"\n', ["secrets are not read from files", "OPENAI_API_KEY"]),
        ("[conversation]\nmute = 3\n", ["conversation.mute", "true or false"]),
    ],
)
def test_bad_file_gives_one_clear_line(tmp_path: Path, body: str, needles: list[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(body)
    result = voiceos(tmp_path, "--config", str(bad), "config", "show")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0]
    for needle in needles:
        assert needle in lines[0]
    assert "sk-123" not in result.stderr + result.stdout


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    missing = voiceos(tmp_path, "--config", str(tmp_path / "nope.toml"), "config", "show")
    assert missing.returncode == 2 and "no such config file" in missing.stderr
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.toml"
        locked.write_text("")
        locked.chmod(0)
        result = voiceos(tmp_path, "--config", str(locked), "config", "show")
        assert result.returncode == 2 and "permission denied" in result.stderr
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = voiceos(tmp_path, "--config", str(binary), "config", "show")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_bad_environment_variable(tmp_path: Path) -> None:
    result = voiceos(tmp_path, "config", "show", VOICEOS_VOICE_VOLUME="loud")
    assert result.returncode == 2
    assert "VOICEOS_VOICE_VOLUME" in result.stderr and "0 to 1" in result.stderr


def test_set_validates_writes_atomically_and_keeps_others(tmp_path: Path) -> None:
    assert voiceos(tmp_path, "config", "set", "voice.rate_wpm", "150").returncode == 0
    assert voiceos(tmp_path, "config", "set", "llm.model", "llama3").returncode == 0
    bad = voiceos(tmp_path, "config", "set", "voice.volume", "7")
    assert bad.returncode == 2 and "voice.volume" in bad.stderr
    path = Path(voiceos(tmp_path, "config", "path").stdout.strip())
    saved = tomllib.loads(path.read_text())
    assert saved == {"voice": {"rate_wpm": 150}, "llm": {"model": "llama3"}}
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temp files left
    assert voiceos(tmp_path, "config", "get", "voice.rate_wpm").stdout.strip() == "150"
    assert voiceos(tmp_path, "config", "unset", "voice.rate_wpm").returncode == 0
    assert tomllib.loads(path.read_text()) == {"llm": {"model": "llama3"}}


def test_show_never_prints_the_key(tmp_path: Path) -> None:
    secret = "sk-sentinel-3f9a1c"
    result = voiceos(tmp_path, "config", "show", OPENAI_API_KEY=secret)
    assert result.returncode == 0
    assert "OPENAI_API_KEY: set (hidden)" in result.stdout
    assert secret not in result.stdout + result.stderr


def test_discover_takes_a_list_of_ports_from_every_layer(tmp_path: Path) -> None:
    assert config.load(env={})["llm.discover"] == [11434, 1234, 8080, 8000]
    assert config.load(env={"VOICEOS_LLM_DISCOVER": "8080, 1234"})["llm.discover"] == [8080, 1234]
    assert config.load(env={"VOICEOS_LLM_DISCOVER": ""})["llm.discover"] == []
    user = tmp_path / "config.toml"
    config.set_value(user, "llm.discover", "[]")
    assert config.load(user_file=user, env={})["llm.discover"] == []
    for bad in ("abc", "70000", "0"):
        with pytest.raises(config.ConfigError, match="port numbers"):
            config.load(env={"VOICEOS_LLM_DISCOVER": bad})
    user.write_text('[llm]\ndiscover = ["localhost:8080"]\n')
    with pytest.raises(config.ConfigError, match="port numbers"):
        config.load(user_file=user, env={})


def test_engine_setting_is_checked(tmp_path: Path) -> None:
    assert config.load(env={})["voice.engine"] == "pyttsx3"
    assert config.load(env={"VOICEOS_VOICE_ENGINE": "piper"})["voice.engine"] == "piper"
    with pytest.raises(config.ConfigError, match="pyttsx3"):
        config.load(env={"VOICEOS_VOICE_ENGINE": "kokoro"})
