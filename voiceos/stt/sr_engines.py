"""Other engines through the `speech_recognition` package: sphinx, openai and google.

- sphinx: offline through pocketsphinx (the `sphinx` extra); weaker than Whisper.
- openai: any OpenAI-compatible transcription endpoint; the key comes from OPENAI_API_KEY.
- google: Google's free web speech endpoint; needs the internet.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from voiceos.audio.pcm import resample
from voiceos.stt.base import TranscriberError, clean_transcript
from voiceos.types import PCM16, Transcript

logger = logging.getLogger(__name__)

Engine = Literal["sphinx", "openai", "google"]
ENGINES: tuple[Engine, ...] = ("sphinx", "openai", "google")
SPHINX_RATE_HZ = 16000


class SpeechRecognitionTranscriber:
    """One `speech_recognition` engine behind the Transcriber protocol.

    Args:
        engine: "sphinx", "openai" or "google".
        model: transcription model name for "openai".
        base_url: OpenAI-compatible endpoint for "openai"; "" for OPENAI_BASE_URL or OpenAI.
        timeout_s: network timeout for "openai" and "google".
    """

    def __init__(
        self, engine: Engine, model: str = "whisper-1", base_url: str = "", timeout_s: float = 15.0
    ) -> None:
        self.engine = engine
        self.model = model
        self.base_url = base_url
        self.timeout_s = timeout_s
        self._sr: Any = None
        self._recognizer: Any = None
        self._openai: Any = None

    @property
    def name(self) -> str:
        return self.engine

    def start(self) -> None:
        """Check the engine can run: imports, offline model, API key. No network is used."""
        if self._recognizer is not None:
            return
        if self.engine not in ENGINES:
            raise TranscriberError(f"unknown speech engine {self.engine!r}; use one of {ENGINES}")
        try:
            import speech_recognition as sr
        except ImportError as exc:
            raise TranscriberError(
                f"the {self.engine} engine needs speechrecognition ({exc}); "
                "`pip install speechrecognition`"
            ) from None
        self._sr = sr
        self._recognizer = sr.Recognizer()
        self._recognizer.operation_timeout = self.timeout_s
        if self.engine == "sphinx":
            self._start_sphinx()
        elif self.engine == "openai":
            self._start_openai()

    def _start_sphinx(self) -> None:
        try:
            import pocketsphinx  # noqa: F401  (speech_recognition imports it per call)
        except ImportError:
            self._recognizer = None
            raise TranscriberError(
                "the sphinx engine needs pocketsphinx; `pip install 'voiceos[sphinx]'`"
            ) from None
        # Decode a moment of silence once, so a broken model shows now and not mid-talk.
        self._recognize(np.zeros(SPHINX_RATE_HZ // 4, dtype=np.int16), SPHINX_RATE_HZ)

    def _start_openai(self) -> None:
        key = os.environ.get("OPENAI_API_KEY", "")
        if not key and not (self.base_url or os.environ.get("OPENAI_BASE_URL")):
            self._recognizer = None
            raise TranscriberError(
                "the openai engine needs OPENAI_API_KEY in the environment "
                "(or [stt.openai] base_url for a local server)"
            )
        import openai
        from speech_recognition.recognizers.whisper_api.base import OpenAICompatibleRecognizer

        client = openai.OpenAI(
            api_key=key or "not-needed",  # local servers accept any key
            base_url=self.base_url or None,
            timeout=self.timeout_s,
            max_retries=0,  # a turn must not hang on retries; the caller falls back
        )
        self._openai = OpenAICompatibleRecognizer(client)

    def _recognize(self, pcm16: PCM16, sample_rate_hz: int) -> str:
        sr = self._sr
        audio = sr.AudioData(pcm16.astype("<i2").tobytes(), sample_rate_hz, 2)
        try:
            if self.engine == "sphinx":
                return str(self._recognizer.recognize_sphinx(audio, language="en-US"))
            if self.engine == "google":
                return str(self._recognizer.recognize_google(audio, language="en-US"))
            return str(self._openai.recognize(audio, self.model, language="en"))
        except sr.UnknownValueError:
            return ""  # the engine heard no words
        except sr.RequestError as exc:
            raise TranscriberError(f"{self.engine} speech recognition failed: {exc}") from None
        except Exception as exc:
            raise TranscriberError(_describe(self.engine, exc)) from None

    def transcribe(
        self, pcm16: PCM16, sample_rate_hz: int, expect: Mapping[str, float] | None = None
    ) -> Transcript:
        """Text of one utterance; "" when nothing was recognised. Blocking. These engines
        give one text and no scores: `expect` changes nothing."""
        if self._recognizer is None:
            self.start()
        started = time.perf_counter()
        samples = np.asarray(pcm16, dtype=np.int16).reshape(-1)
        if self.engine == "sphinx" and sample_rate_hz != SPHINX_RATE_HZ:
            samples = np.asarray(resample(samples, sample_rate_hz, SPHINX_RATE_HZ), np.int16)
            sample_rate_hz = SPHINX_RATE_HZ
        text = clean_transcript(self._recognize(samples, sample_rate_hz)) if samples.size else ""
        elapsed = time.perf_counter() - started
        logger.debug(
            "%s: %.2f s in %.2f s: %r", self.engine, samples.size / sample_rate_hz, elapsed, text
        )
        return Transcript(text=text, audio_s=samples.size / sample_rate_hz, elapsed_s=elapsed)


def _describe(engine: str, exc: Exception) -> str:
    """One line for an engine failure, without echoing request details such as keys."""
    kind = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if kind == "AuthenticationError":
        return f"{engine} speech recognition: the API key was refused (401); check OPENAI_API_KEY"
    if kind in ("APIConnectionError", "APITimeoutError"):
        return f"{engine} speech recognition: cannot reach the server ({kind})"
    if status is not None:
        return f"{engine} speech recognition: the server answered HTTP {status}"
    return f"{engine} speech recognition failed: {kind}: {exc}"
