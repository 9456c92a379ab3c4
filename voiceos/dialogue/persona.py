"""Personas: who the companion is, read from a TOML file in config/personas or anywhere else."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceos import paths
from voiceos.config import RULES, ConfigError, read_toml

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Persona:
    """Everything that makes the companion one particular character."""

    name: str
    introduction: str
    """How it introduces itself, in one or two spoken sentences."""
    character: str
    """Notes on temperament, for people writing personas and for the LLM prompt."""
    style: str
    """Notes on how it talks."""
    voice: str
    """Preferred espeak-ng voice id; the user's own [voice] settings win."""
    rate_wpm: int
    """Preferred speaking rate in words per minute."""
    greetings: tuple[str, ...]
    greetings_by_name: tuple[str, ...]
    """Greetings with a `{name}` placeholder, used once the user's name is known."""
    farewells: tuple[str, ...]
    system_prompt: str
    """The instructions an LLM gets before the conversation."""
    engine: str = ""
    """Preferred speech engine ("pyttsx3" or "piper"), "" for none; the user's setting wins."""

    def voice_preferences(self) -> dict[str, object]:
        """The [voice] settings this persona prefers, by name (empty ones left out)."""
        wanted = {"engine": self.engine, "voice": self.voice, "rate_wpm": self.rate_wpm}
        return {k: v for k, v in wanted.items() if v}


DEFAULT_RATE_WPM = 175
"""Used when a persona states no rate; the same as the shipped [voice] rate_wpm."""

# key -> (kind, required). Lists of text become tuples.
_FIELDS: dict[str, tuple[type, bool]] = {
    "name": (str, True),
    "introduction": (str, True),
    "character": (str, False),
    "style": (str, False),
    "voice": (str, False),
    "engine": (str, False),
    "rate_wpm": (int, False),
    "greetings": (list, True),
    "greetings_by_name": (list, False),
    "farewells": (list, True),
    "system_prompt": (str, True),
}


def available_personas() -> list[str]:
    """Names of the personas shipped in config/personas."""
    folder = paths.personas_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _looks_like_path(name_or_path: str) -> bool:
    return "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith(".toml")


def _locate(name_or_path: str) -> Path:
    if _looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: no such persona file")
        return path
    path = paths.personas_dir() / f"{name_or_path}.toml"
    if path.is_file():
        return path
    names = available_personas()
    close = difflib.get_close_matches(name_or_path.lower(), names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(names) if names else "none installed"
    raise ConfigError(
        f"persona {name_or_path!r} not found{hint}; available: {listing}, "
        "or give a path to a .toml file"
    )


def _text_list(path: Path, key: str, value: list[Any], required: bool) -> tuple[str, ...]:
    items = tuple(v.strip() for v in value if isinstance(v, str) and v.strip())
    if len(items) != len(value):
        raise ConfigError(f"{path}: {key} must be a list of non-empty strings")
    if required and not items:
        raise ConfigError(f"{path}: {key} needs at least one line")
    if key == "greetings_by_name":
        for line in items:
            try:
                line.format(name="Theo")
            except (KeyError, IndexError, ValueError):
                raise ConfigError(
                    f"{path}: {key}: {line!r} may only use the placeholder {{name}}"
                ) from None
    return items


def _validate(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    for key in data:
        if key not in _FIELDS:
            close = difflib.get_close_matches(key, list(_FIELDS), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{path}: unknown persona setting {key!r}{hint}")
    out: dict[str, Any] = {}
    for key, (kind, required) in _FIELDS.items():
        if key not in data:
            if required:
                raise ConfigError(f"{path}: missing {key!r}")
            continue
        value = data[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            noun = {str: "text", int: "a whole number", list: "a list of strings"}[kind]
            raise ConfigError(f"{path}: {key} = {value!r} is not allowed; expected {noun}")
        if isinstance(value, list):
            out[key] = _text_list(path, key, value, required)
        elif isinstance(value, str):
            if required and not value.strip():
                raise ConfigError(f"{path}: {key} must not be empty")
            out[key] = value.strip()
        else:
            out[key] = value
    engines = RULES["voice.engine"].choices
    if "engine" in out and out["engine"] not in engines:
        raise ConfigError(
            f"{path}: engine = {out['engine']!r} is not allowed; expected "
            f"{RULES['voice.engine'].allowed()}"
        )
    rate = RULES["voice.rate_wpm"]
    if "rate_wpm" in out and not (rate.low or 0) <= out["rate_wpm"] <= (rate.high or 0):
        raise ConfigError(
            f"{path}: rate_wpm = {out['rate_wpm']} is not allowed; expected {rate.allowed()}"
        )
    return out


def load_persona(name_or_path: str) -> Persona:
    """Load a shipped persona by name (e.g. "samantha") or a persona file by path.

    Raises:
        ConfigError: one line naming the file and what is wrong, or the available personas.
    """
    if not name_or_path.strip():
        raise ConfigError(f"persona name is empty; available: {', '.join(available_personas())}")
    path = _locate(name_or_path.strip())
    fields = _validate(path, read_toml(path))
    logger.debug("persona %s loaded from %s", fields["name"], path)
    return Persona(
        name=fields["name"],
        introduction=fields["introduction"],
        character=fields.get("character", ""),
        style=fields.get("style", ""),
        voice=fields.get("voice", ""),
        rate_wpm=fields.get("rate_wpm", DEFAULT_RATE_WPM),
        greetings=fields["greetings"],
        greetings_by_name=fields.get("greetings_by_name", ()),
        farewells=fields["farewells"],
        system_prompt=fields["system_prompt"],
        engine=fields.get("engine", ""),
    )
