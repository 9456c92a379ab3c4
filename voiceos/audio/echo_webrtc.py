"""WebRTC's AEC3 echo canceller through `pywebrtc-audio`.

AEC3 estimates the echo delay itself, so the timing jumps of a busy machine (underruns)
cost it little. It attenuates the near talker in double talk (BENCHMARKS.md); barge-in
holds the reply within about 100 ms, after which the user speaks alone.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from voiceos.audio.echo import EchoError
from voiceos.types import PCM16

logger = logging.getLogger(__name__)

FRAME_SAMPLES = 160
"""AEC3 works on 10 ms frames."""


class WebrtcCanceller:
    """AEC3 on 10 ms frames of 16 kHz mono int16."""

    name = "webrtc"
    frame_samples = FRAME_SAMPLES
    latency_samples = 128
    """AEC3's output lags its input by 8 ms (measured)."""
    reach_samples = 6400
    """400 ms: AEC3 took out 39-64 dB of a speech recording's copy up to 500 ms behind
    the reference, and 1-3 dB from 550 ms on (its delay estimator's range;
    bench/echo_reach.py)."""

    def __init__(self, aec: Any) -> None:
        self._aec = aec

    @classmethod
    def open(cls, sample_rate_hz: int) -> WebrtcCanceller:
        """Create AEC3. Raises EchoError when pywebrtc-audio is not installed."""
        try:
            from pywebrtc_audio import EchoCanceller
        except ImportError as exc:
            raise EchoError(
                f"the webrtc echo canceller needs pywebrtc-audio ({exc}); "
                "install it with `pip install pywebrtc-audio==0.2.0`"
            ) from None
        return cls(EchoCanceller(sample_rate=sample_rate_hz, num_channels=1))

    def process(self, mic: PCM16, reference: PCM16) -> PCM16:
        near = np.ascontiguousarray(mic, dtype=np.int16)
        far = np.ascontiguousarray(reference, dtype=np.int16)
        if near.size != FRAME_SAMPLES or far.size != FRAME_SAMPLES:
            raise ValueError(f"AEC3 frames are {FRAME_SAMPLES} samples, got {near.size}")
        return np.asarray(self._aec.process(near, far), dtype=np.int16).reshape(-1)

    def close(self) -> None:
        self._aec = None
