"""The speech engines of one session, chosen per sentence by `VoiceSettings.engine`.

espeak-ng (through pyttsx3) is always there; Piper is loaded the first time it is asked
for. A Piper voice that cannot be used (the extra missing, a missing, broken or
wrong-format model) leaves one line in `fallback` and espeak-ng speaks for the rest of the
session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Protocol

from voiceos.speak.piper_synth import PiperSynth, PiperUnavailable
from voiceos.speak.synth import Pyttsx3Synth, Utterance
from voiceos.types import VoiceSettings

logger = logging.getLogger(__name__)

ENGINES = ("pyttsx3", "piper")


class Synth(Protocol):
    """Blocking text to PCM, used from the speech worker's one thread."""

    def start(self) -> None: ...

    def check_voice(self, voice: str) -> None: ...

    def synthesize(self, text: str, settings: VoiceSettings) -> Utterance: ...

    def close(self) -> None: ...


class Engines:
    """Implements Synth over espeak-ng and Piper; also streams a sentence phrase by phrase."""

    def __init__(
        self,
        piper_model: str = "",
        espeak: Pyttsx3Synth | None = None,
        piper: PiperSynth | None = None,
    ) -> None:
        self.espeak = espeak or Pyttsx3Synth()
        self.piper = piper or PiperSynth(piper_model)
        self.first_engine = "pyttsx3"
        """Started by start(), so its problems show before the conversation begins."""
        self.fallback: str | None = None
        """Why Piper was given up for this session (one line), else None."""
        self._loading = threading.Lock()

    def start(self) -> None:
        """Start espeak-ng, and Piper too when it is the first engine wanted."""
        self.espeak.start()
        if self.first_engine == "piper":
            self._piper()

    def _piper(self) -> PiperSynth | None:
        with self._loading:  # the worker thread and a voice request may both ask
            if self.fallback is not None:
                return None
            try:
                self.piper.start()
            except PiperUnavailable as exc:
                self.fallback = f"{exc}; speaking with espeak-ng for this session"
                logger.info("%s", self.fallback)  # the session shows it as a notice
                return None
            return self.piper

    def piper_problem(self, piper_model: str = "") -> str | None:
        """Load Piper now if need be; why it cannot speak, or None when it can.

        For VoiceState: a switch to Piper by voice is refused, not silently spoken by
        espeak-ng, when the voice turns out to be unusable.
        """
        return None if self._piper() is not None else self.fallback

    def engine_for(self, settings: VoiceSettings) -> str:
        """The engine that will really speak with `settings`."""
        if settings.engine == "piper" and self._piper() is not None:
            return "piper"
        return "pyttsx3"

    def check_voice(self, voice: str) -> None:
        self.espeak.check_voice(voice)

    def synthesize(self, text: str, settings: VoiceSettings) -> Utterance:
        if self.engine_for(settings) == "piper":
            return self.piper.synthesize(text, settings)
        return self.espeak.synthesize(text, settings)

    def stream(self, text: str, settings: VoiceSettings) -> Iterator[tuple[str, Utterance]]:
        """`text` as (phrase, audio) pairs, made one at a time (espeak-ng: one pair)."""
        if self.engine_for(settings) == "piper":
            yield from self.piper.stream(text, settings)
        else:
            yield text, self.espeak.synthesize(text, settings)

    def close(self) -> None:
        self.piper.close()
        self.espeak.close()
