"""Settings: shipped defaults < user file < VOICEOS_* environment < command-line flags.

Every key has a rule (type and allowed values). Anything wrong stops with one line that
names the file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import logging
import os
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from voiceos import paths

logger = logging.getLogger(__name__)

ENV_PREFIX = "VOICEOS_"
SECRET_NAMES = ("key", "token", "secret", "password", "api_key", "api_token", "openai_api_key")


class ConfigError(Exception):
    """A setting or config file the user must fix. The message is one clear line."""


@dataclass(frozen=True)
class Rule:
    """What one setting accepts."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def allowed(self) -> str:
        if self.kind is list:
            return (
                f"a list of port numbers from {self.low:g} to {self.high:g}, e.g. [11434, 8080],"
                " or [] for none"
            )
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.low is not None and self.high is not None:
            noun = "a whole number" if self.kind is int else "a number"
            return f"{noun} from {self.low:g} to {self.high:g}"
        return "text"

    def coerce(self, value: Any) -> Any:
        """Return `value` as this rule's type, or raise ValueError."""
        if self.kind is list:
            return self._coerce_list(value)
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if self.kind is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            number: int | float = int(value) if not isinstance(value, str) else int(value.strip())
        elif self.kind is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if number != number:  # NaN
                raise ValueError
        else:
            if not isinstance(value, str):
                raise ValueError
            if self.choices and value not in self.choices:
                raise ValueError
            return value
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise ValueError
        return number

    def _coerce_list(self, value: Any) -> list[int]:
        """Whole numbers in range, from a TOML list or text such as "11434, 8080"."""
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").strip("[] ").split() if part]
        if not isinstance(value, list | tuple):
            raise ValueError
        item = Rule(int, self.low, self.high)
        return [item.coerce(v) for v in value]


def _text(*choices: str) -> Rule:
    return Rule(str, choices=choices)


RULES: dict[str, Rule] = {
    "voice.voice": _text(),
    "voice.rate_wpm": Rule(int, 80, 400),
    "voice.volume": Rule(float, 0.0, 1.0),
    "voice.engine": _text("pyttsx3", "piper"),
    "voice.piper_model": _text(),
    "audio.input_device": _text(),
    "audio.output_device": _text(),
    "audio.queue_chunks": Rule(int, 20, 5000),
    "conversation.mute": Rule(bool),
    "conversation.barge_in": Rule(bool),
    "echo.cancel": Rule(bool),
    "echo.backend": _text("auto", "webrtc", "speex"),
    "echo.tail_ms": Rule(int, 50, 1000),
    "echo.delay_ms": Rule(float, 0, 1000),
    "echo.detector": _text("auto", "speex", "none"),
    "echo.barge_in": Rule(bool),
    "echo.min_erle_db": Rule(float, 0, 60),
    "listen.vad_threshold": Rule(float, 0.05, 0.95),
    "listen.end_silence_ms": Rule(int, 100, 3000),
    "listen.min_speech_ms": Rule(int, 32, 2000),
    "listen.max_utterance_s": Rule(float, 1, 120),
    "listen.pre_roll_ms": Rule(int, 0, 2000),
    "listen.pause_fraction": Rule(float, 0.0, 1.0),
    "listen.end_of_turn": _text("smart", "silence"),
    "listen.complete_silence_ms": Rule(int, 64, 2000),
    "listen.max_silence_ms": Rule(int, 300, 10000),
    "listen.finished_threshold": Rule(float, 0.05, 0.95),
    "stt.engine": _text("whisper", "sphinx", "openai", "google"),
    "stt.whisper.model_path": _text(),
    "stt.whisper.beam_size": Rule(int, 1, 10),
    "stt.whisper.cpu_threads": Rule(int, 1, 64),
    "stt.openai.model": _text(),
    "stt.openai.base_url": _text(),
    "llm.backend": _text("auto", "offline", "openai"),
    "llm.base_url": _text(),
    "llm.model": _text(),
    "llm.temperature": Rule(float, 0.0, 2.0),
    "llm.max_tokens": Rule(int, 1, 32768),
    "llm.connect_timeout_s": Rule(float, 0.1, 60),
    "llm.first_token_timeout_s": Rule(float, 0.1, 300),
    "llm.stream_timeout_s": Rule(float, 0.1, 300),
    "llm.max_retries": Rule(int, 0, 5),
    "llm.context_chars": Rule(int, 200, 200000),
    "llm.propose_facts": Rule(bool),
    "llm.discover": Rule(list, 1, 65535),
    "memory.enabled": Rule(bool),
    "memory.history_turns": Rule(int, 10, 100000),
    "persona.name": _text(),
    "ui.timings": Rule(bool),
}


def env_name(key: str) -> str:
    """`voice.rate_wpm` -> `VOICEOS_VOICE_RATE_WPM`."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def check(key: str, value: Any, origin: str) -> Any:
    """Validate one setting; `origin` names where it came from for the error message."""
    rule = RULES.get(key)
    if rule is None:
        raise ConfigError(f"{origin}: unknown setting {key!r}{_suggest(key, RULES)}")
    try:
        return rule.coerce(value)
    except (ValueError, TypeError):
        hint = _suggest(value, rule.choices) if isinstance(value, str) and rule.choices else ""
        raise ConfigError(
            f"{origin}: {key} = {value!r} is not allowed; expected {rule.allowed()}{hint}"
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file into flat dotted keys, with one-line errors."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the config file (permission denied)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    flat = _flatten(data)
    for key in flat:
        if key.rsplit(".", 1)[-1].lower() in SECRET_NAMES:
            raise ConfigError(
                f"{path}: {key}: secrets are not read from files; "
                "set OPENAI_API_KEY in the environment instead"
            )
    return flat


@dataclass(frozen=True)
class Config:
    """Validated settings, as flat dotted keys."""

    values: Mapping[str, Any]
    user_file: Path
    user_set: frozenset[str] = frozenset()
    """Keys set above the shipped defaults (user file, environment, flags)."""

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def section(self, name: str) -> dict[str, Any]:
        """The settings under `name`, e.g. section("llm")["model"]."""
        prefix = name + "."
        return {
            k[len(prefix) :]: v
            for k, v in self.values.items()
            if k.startswith(prefix) and "." not in k[len(prefix) :]
        }

    def with_overrides(self, overrides: Mapping[str, Any], origin: str) -> Config:
        merged = dict(self.values)
        named = set(self.user_set)
        for key, value in overrides.items():
            if value is not None:
                merged[key] = check(key, value, origin)
                named.add(key)
        return Config(merged, self.user_file, frozenset(named))


def load(
    user_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Merge defaults, the user file, VOICEOS_* variables and flags, validating each layer."""
    env = os.environ if env is None else env
    defaults_path = paths.defaults_file()
    values = {k: check(k, v, str(defaults_path)) for k, v in read_toml(defaults_path).items()}
    missing = set(RULES) - set(values)
    if missing:
        raise ConfigError(f"{defaults_path}: missing defaults for {', '.join(sorted(missing))}")

    explicit = user_file is not None or bool(env.get("VOICEOS_CONFIG"))
    path = user_file or Path(env.get("VOICEOS_CONFIG") or paths.user_config_file())
    user_set: set[str] = set()
    if explicit or path.exists():
        for key, value in read_toml(path).items():
            values[key] = check(key, value, str(path))
            user_set.add(key)

    by_env_name = {env_name(k): k for k in RULES}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == "VOICEOS_CONFIG":
            continue
        setting = by_env_name.get(name)
        if setting is None:
            raise ConfigError(f"environment: unknown variable {name}{_suggest(name, by_env_name)}")
        values[setting] = check(setting, raw, f"environment {name}")
        user_set.add(setting)

    return Config(values, path, frozenset(user_set)).with_overrides(flags or {}, "command line")


def parse_cli_value(key: str, text: str) -> Any:
    """Turn `config set` text into the setting's type ("0.5" -> 0.5, "true" -> True)."""
    return check(key, text, "config set")


def set_value(path: Path, key: str, text: str) -> Any:
    """Validate and write one setting into the user file, atomically, keeping the others."""
    value = parse_cli_value(key, text)
    current = read_toml(path) if path.exists() else {}
    for other_key, other_value in current.items():
        check(other_key, other_value, str(path))
    current[key] = value
    write_toml(path, current)
    return value


def unset_value(path: Path, key: str) -> bool:
    """Remove a setting from the user file so the default applies again."""
    if key not in RULES:
        raise ConfigError(f"config unset: unknown setting {key!r}{_suggest(key, RULES)}")
    current = read_toml(path) if path.exists() else {}
    if key not in current:
        return False
    del current[key]
    write_toml(path, current)
    return True


def write_toml(path: Path, flat: Mapping[str, Any]) -> None:
    """Write settings atomically with user-only permissions."""
    paths.ensure_private_dir(path.parent)
    text = "# voiceos user settings, written by `voiceos config set`.\n" + tomli_w.dumps(
        _nest(dict(sorted(flat.items())))
    )
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render(config: Config) -> str:
    """The merged settings as TOML, for `config show`. Secrets never live here."""
    return tomli_w.dumps(_nest(dict(config.values)))
