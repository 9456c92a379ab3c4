"""Smart Turn v3.2: how finished an utterance sounds, from its audio alone.

The model (BSD-2-Clause, by Daily; see licenses/smart-turn.txt) is an ONNX file shipped in
the `pipecat-ai` wheel. setup.sh installs that wheel without its dependencies, only for
this file: it is found with importlib's spec lookup, and pipecat itself is never imported.

Input: the last 8 s of 16 kHz audio (zero-padded in front), normalised to zero mean and
unit variance, as Whisper's 80-bin log-mel features (faster-whisper's own extractor).
Output: P(the utterance is finished).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceos.types import PCM16

logger = logging.getLogger(__name__)

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
MODEL_PACKAGE = "pipecat"
MODEL_DIR = ("audio", "turn", "smart_turn", "data")
WINDOW_S = 8
SAMPLE_RATE_HZ = 16000
WINDOW_SAMPLES = WINDOW_S * SAMPLE_RATE_HZ


class SmartTurnError(Exception):
    """The end-of-turn model cannot be used. The message says why, in one line."""


def bundled_model() -> Path:
    """Where the pipecat-ai wheel put the model, without importing pipecat.

    Raises:
        SmartTurnError: the package or the file is missing.
    """
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        path = Path(root).joinpath(*MODEL_DIR, MODEL_FILE)
        if path.is_file():
            return path
    if not roots:
        raise SmartTurnError(
            "the Smart Turn model is not installed "
            "(`pip install --no-deps pipecat-ai==1.14.0` puts it in place)"
        )
    raise SmartTurnError(
        f"the Smart Turn model is missing: the pipecat-ai package has no {MODEL_FILE}"
    )


def features(audio: PCM16, extractor: Any = None) -> npt.NDArray[np.float32]:
    """Smart Turn's input for `audio`: (80, 800) log-mel of its last 8 s."""
    if extractor is None:
        from faster_whisper.feature_extractor import FeatureExtractor

        extractor = FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)
    x = np.asarray(audio, dtype=np.float32).reshape(-1)[-WINDOW_SAMPLES:] / np.float32(32768.0)
    x = np.pad(x, (WINDOW_SAMPLES - x.size, 0))
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(1e-7))
    mel = extractor(x.astype(np.float32), padding=0)
    return np.asarray(mel, dtype=np.float32)


class SmartTurn:
    """The end-of-turn model on one CPU thread. Implements turns.Completion.

    Args:
        path: the ONNX file; None means the one from the pipecat-ai wheel.
        threads: onnxruntime intra-op threads.
    """

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        self.path = path
        self.threads = threads
        self._session: Any = None
        self._extractor: Any = None

    def start(self) -> None:
        """Find and load the model and check it answers; SmartTurnError if not."""
        if self._session is not None:
            return
        path = self.path or bundled_model()
        try:
            import onnxruntime as ort
            from faster_whisper.feature_extractor import FeatureExtractor
        except ImportError as exc:
            raise SmartTurnError(f"the end-of-turn model needs onnxruntime ({exc})") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 4  # its own errors come back as exceptions
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._extractor = FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)
            self.probability(np.zeros(SAMPLE_RATE_HZ, dtype=np.int16))
        except Exception as exc:  # onnxruntime raises its own exception types
            self._session = None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SmartTurnError(
                f"the Smart Turn model at {path} cannot be used: {first}"
            ) from None
        logger.debug("Smart Turn loaded from %s", path)

    def probability(self, audio: PCM16) -> float:
        """P(finished) for the utterance ending at the end of `audio` (16 kHz int16)."""
        if self._session is None:
            self.start()
        mel = features(audio, self._extractor)[np.newaxis]
        out = self._session.run(None, {"input_features": mel})
        return float(np.asarray(out[0]).reshape(-1)[0])
