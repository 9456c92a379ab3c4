"""The voice settings in use: validated, persisted to the user's file, safe across threads.

Changes made by the CLI, by a spoken command or by `voiceos say --save` all go through
`VoiceState.update`, and the speaker reads `current()` before each sentence, so a change
is heard from the next sentence on.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from voiceos import config as config_mod
from voiceos.config import Config, ConfigError
from voiceos.speak.voices import ACCENTS, resolve_voice, split_variant
from voiceos.types import VoiceSettings

logger = logging.getLogger(__name__)

ORIGIN = "voice settings"


def settings_from_config(config: Config) -> VoiceSettings:
    """The voice settings as merged from every config layer."""
    return VoiceSettings(
        voice=str(config["voice.voice"]),
        rate_wpm=int(config["voice.rate_wpm"]),
        volume=float(config["voice.volume"]),
        engine=str(config["voice.engine"]),
    )


def with_persona(
    config: Config, settings: VoiceSettings, preferred: dict[str, object]
) -> VoiceSettings:
    """`settings` with a persona's preferred engine, voice and rate where the user set none.

    Args:
        preferred: the persona's preferences by setting name ("engine", "voice", "rate_wpm");
            empty values are ignored.
    """
    changes = {
        name: value
        for name, value in preferred.items()
        if value and f"voice.{name}" not in config.user_set
    }
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def _piper_problem(piper_model: str) -> str | None:
    from voiceos.speak.piper_synth import problem

    return problem(piper_model)


def _real_variants() -> list[str]:
    from voiceos.speak.voices import list_variants

    return list_variants()


def unknown_voice_message(
    query: str, available: Sequence[str], variants: Sequence[str] | None = None
) -> str:
    """One line for a voice nobody has, with a did-you-mean when one is close."""
    base, variant = split_variant(query.strip())
    if variant is not None and base.lower() in available and variants:
        close = difflib.get_close_matches(variant, variants, n=1, cutoff=0.5)
        hint = f" (did you mean {base.lower()}+{close[0]}?)" if close else ""
        return f"unknown voice variant {variant!r} in {query!r}{hint}; try f1-f5 or m1-m7"
    words = query.strip().lower()
    close = difflib.get_close_matches(words, [*available, *ACCENTS], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown voice {query!r}{hint}; `voiceos voices` lists them"


class VoiceState:
    """Implements types.VoiceControl over the user's config file."""

    def __init__(
        self,
        user_file: Path,
        initial: VoiceSettings,
        available: Callable[[], list[str]],
        variants: Callable[[], list[str]] = _real_variants,
        piper_model: str = "",
        engine_problem: Callable[[str], str | None] = _piper_problem,
    ) -> None:
        self.user_file = user_file
        self.piper_model = piper_model
        self.engine_problem = engine_problem
        """Why the Piper engine cannot be used (None: it can); the session points it at
        the speaker's engines once they exist, so a broken voice is found at once."""
        self._settings = initial
        self._available = available
        self._variants = variants
        self._ids: list[str] | None = None
        self._variant_names: list[str] | None = None
        self._lock = threading.Lock()

    def current(self) -> VoiceSettings:
        with self._lock:
            return self._settings

    def voice_ids(self) -> list[str]:
        """The voice ids espeak-ng has, listed once."""
        with self._lock:
            return list(self._ids_locked())

    def _ids_locked(self) -> list[str]:
        if self._ids is None:
            self._ids = sorted(self._available())
        return self._ids

    def resolve(self, query: str) -> str:
        """The voice id `query` means; ConfigError when there is none."""
        with self._lock:
            return self._resolve_locked(query)

    def _resolve_locked(self, query: str) -> str:
        ids = self._ids_locked()
        if self._variant_names is None and "+" in query:
            self._variant_names = self._variants()
        found = resolve_voice(query, ids, variants=self._variant_names)
        if found is None:
            message = unknown_voice_message(query, ids, self._variant_names)
            raise ConfigError(f"{ORIGIN}: {message}")
        return found

    def update(
        self,
        *,
        voice: str | None = None,
        rate_wpm: int | None = None,
        volume: float | None = None,
        engine: str | None = None,
    ) -> VoiceSettings:
        """Validate, persist and apply the given settings; returns the new settings.

        Every given setting is written to the user's file, even when it equals the value
        in use (which may come from a flag or the environment).

        Raises:
            ConfigError: a value is out of range, the voice is unknown, or the file
                cannot be written. Nothing changes then.
        """
        with self._lock:
            old = self._settings
            changes: dict[str, object] = {}
            if voice is not None:
                changes["voice"] = self._resolve_locked(voice)
            if rate_wpm is not None:
                changes["rate_wpm"] = config_mod.check("voice.rate_wpm", rate_wpm, ORIGIN)
            if volume is not None:
                changes["volume"] = config_mod.check("voice.volume", volume, ORIGIN)
            if engine is not None:
                changes["engine"] = config_mod.check("voice.engine", engine, ORIGIN)
                why = self.engine_problem(self.piper_model) if engine == "piper" else None
                if why:
                    raise ConfigError(f"{ORIGIN}: {why}")
            new = dataclasses.replace(old, **changes)  # type: ignore[arg-type]
            for name, value in changes.items():
                self._persist(f"voice.{name}", value)
            self._settings = new
            logger.debug("voice settings now %s", new)
            return new

    def _persist(self, key: str, value: object) -> None:
        try:
            config_mod.set_value(self.user_file, key, str(value))
        except OSError as exc:
            raise ConfigError(
                f"{self.user_file}: cannot save {key} ({exc.strerror or exc})"
            ) from None
