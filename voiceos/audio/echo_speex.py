"""The speexdsp echo canceller (Debian's libspeexdsp1) through ctypes.

An adaptive multi-delay filter over `tail_ms` of reference, followed by speex's
preprocessor, which suppresses the residual echo the filter leaves. Measured here it keeps
the near talker intact in double talk, which is what barge-in needs (BENCHMARKS.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

import numpy as np

from voiceos.audio.echo import EchoError
from voiceos.types import PCM16

logger = logging.getLogger(__name__)

FRAME_SAMPLES = 256
"""16 ms at 16 kHz: two frames per 32 ms microphone chunk."""
_SET_SAMPLING_RATE = 24  # SPEEX_ECHO_SET_SAMPLING_RATE
_SET_ECHO_STATE = 24  # SPEEX_PREPROCESS_SET_ECHO_STATE

_lib: Any = None


def _library() -> Any:
    global _lib
    if _lib is not None:
        return _lib
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise EchoError(
            f"echo cancellation needs libspeexdsp ({exc}); "
            "install it with `apt-get install libspeexdsp1`"
        ) from None
    vp, i = ctypes.c_void_p, ctypes.c_int
    lib.speex_echo_state_init.restype = vp
    lib.speex_echo_state_init.argtypes = [i, i]
    lib.speex_echo_state_destroy.argtypes = [vp]
    lib.speex_echo_ctl.argtypes = [vp, i, vp]
    lib.speex_echo_cancellation.argtypes = [vp, vp, vp, vp]
    lib.speex_preprocess_state_init.restype = vp
    lib.speex_preprocess_state_init.argtypes = [i, i]
    lib.speex_preprocess_state_destroy.argtypes = [vp]
    lib.speex_preprocess_ctl.argtypes = [vp, i, vp]
    lib.speex_preprocess_run.argtypes = [vp, vp]
    _lib = lib
    return lib


class SpeexCanceller:
    """speexdsp's echo canceller plus residual-echo suppression, on 16 ms frames."""

    name = "speex"
    frame_samples = FRAME_SAMPLES
    latency_samples: int
    """The preprocessor's overlap delays its output by one frame (measured); the linear
    filter alone does not."""
    reach_samples: int
    """Half the filter's length: her echo must fall inside it, with the room's tail."""

    def __init__(self, lib: Any, echo: int, pre: int | None, tail: int) -> None:
        self._lib = lib
        self._echo: int | None = echo
        self._pre = pre
        self.latency_samples = FRAME_SAMPLES if pre is not None else 0
        self.reach_samples = tail // 2

    @classmethod
    def open(cls, sample_rate_hz: int, tail_ms: int, suppress: bool = True) -> SpeexCanceller:
        """Create the native states. Raises EchoError when libspeexdsp is missing.

        `suppress=False` leaves out the residual-echo suppressor: the output is the linear
        filter's alone, which keeps the user's voice whole while she plays (no look-ahead).
        """
        lib = _library()
        tail = sample_rate_hz * tail_ms // 1000
        echo = lib.speex_echo_state_init(FRAME_SAMPLES, tail)
        rate = ctypes.c_int(sample_rate_hz)
        lib.speex_echo_ctl(echo, _SET_SAMPLING_RATE, ctypes.byref(rate))
        if not suppress:
            return cls(lib, echo, None, tail)
        pre = lib.speex_preprocess_state_init(FRAME_SAMPLES, sample_rate_hz)
        lib.speex_preprocess_ctl(pre, _SET_ECHO_STATE, ctypes.c_void_p(echo))
        return cls(lib, echo, pre, tail)

    def process(self, mic: PCM16, reference: PCM16) -> PCM16:
        """One frame of microphone minus the echo of one aligned frame of reference."""
        if self._echo is None:
            raise RuntimeError("SpeexCanceller used after close()")
        rec = np.ascontiguousarray(mic, dtype=np.int16)
        play = np.ascontiguousarray(reference, dtype=np.int16)
        if rec.size != FRAME_SAMPLES or play.size != FRAME_SAMPLES:
            raise ValueError(f"speex frames are {FRAME_SAMPLES} samples, got {rec.size}")
        out = np.empty(FRAME_SAMPLES, dtype=np.int16)
        self._lib.speex_echo_cancellation(
            self._echo, rec.ctypes.data, play.ctypes.data, out.ctypes.data
        )
        if self._pre is not None:
            self._lib.speex_preprocess_run(self._pre, out.ctypes.data)
        return out

    def close(self) -> None:
        if self._pre is not None:
            self._lib.speex_preprocess_state_destroy(self._pre)
            self._pre = None
        if self._echo is not None:
            self._lib.speex_echo_state_destroy(self._echo)
            self._echo = None
