"""Choosing and starting the speech-to-text engine from the settings, with a fallback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from voiceos.config import Config
from voiceos.stt.base import TranscriberError
from voiceos.stt.sr_engines import SpeechRecognitionTranscriber
from voiceos.stt.whisper import WhisperTranscriber
from voiceos.types import PCM16, Transcript

logger = logging.getLogger(__name__)

FALLBACK_ENGINE = "sphinx"
"""The other offline engine, tried when Whisper cannot load."""


class StartableTranscriber(Protocol):
    """A Transcriber that loads its model in start()."""

    @property
    def name(self) -> str: ...

    def start(self) -> None: ...

    def transcribe(
        self, pcm16: PCM16, sample_rate_hz: int, expect: Mapping[str, float] | None = None
    ) -> Transcript: ...


def build_transcriber(config: Config, engine: str | None = None) -> StartableTranscriber:
    """The engine named by `[stt] engine` (or `engine`), configured but not started."""
    name = engine or str(config["stt.engine"])
    if name == "whisper":
        whisper = config.section("stt.whisper")
        return WhisperTranscriber(
            model_path=str(whisper["model_path"]),
            beam_size=int(whisper["beam_size"]),
            cpu_threads=int(whisper["cpu_threads"]),
        )
    if name == "openai":
        openai = config.section("stt.openai")
        base_url = str(openai["base_url"]) or str(config["llm.base_url"])
        return SpeechRecognitionTranscriber("openai", model=str(openai["model"]), base_url=base_url)
    if name in ("sphinx", "google"):
        return SpeechRecognitionTranscriber("sphinx" if name == "sphinx" else "google")
    raise TranscriberError(f"unknown speech engine {name!r}; use whisper, sphinx, openai or google")


def start_with_fallback(config: Config) -> tuple[StartableTranscriber, str | None]:
    """Build and start the configured engine; if Whisper fails, try sphinx.

    Returns:
        The started transcriber and a notice line for the user when a fallback was taken
        (None otherwise).

    Raises:
        TranscriberError: no engine could start; the message gives each reason. The caller
            then carries on in text mode.
    """
    first = build_transcriber(config)
    try:
        first.start()
        return first, None
    except TranscriberError as exc:
        if first.name != "whisper":
            raise
        reason = str(exc)
    logger.info("whisper failed to start: %s", reason)  # the caller shows the notice
    fallback = build_transcriber(config, FALLBACK_ENGINE)
    try:
        fallback.start()
    except TranscriberError as exc:
        raise TranscriberError(
            f"no speech recognition: {reason}; and the sphinx fallback: {exc}"
        ) from None
    return fallback, f"{reason}; using the less accurate sphinx engine instead"
