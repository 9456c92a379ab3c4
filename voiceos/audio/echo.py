"""Acoustic echo cancellation: the canceller protocol, its backends, and one-shot helpers.

A canceller takes the microphone and the far-end reference (what the speaker played, aligned
to the capture) frame by frame, and returns the microphone with the echo removed. Backends
import their native library lazily, so `import voiceos` stays light; they are chosen by
name from the `[echo]` settings.
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

import numpy as np
import numpy.typing as npt

from voiceos.types import PCM16

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
FAR_ACTIVE_DB = -50.0
"""Reference louder than this (dBFS) counts as her speaking."""
BACKENDS = ("auto", "webrtc", "speex")


class EchoError(Exception):
    """A canceller backend cannot run here. The message says how to fix it."""


class EchoCanceller(Protocol):
    """Removes the echo of `reference` from `mic`, one frame of `frame_samples` at a time."""

    name: str
    """The backend ("webrtc", "speex"): what it leaves of her echo differs."""
    frame_samples: int
    latency_samples: int
    """How far the output lags the input (look-ahead of the backend's filters)."""
    reach_samples: int
    """How late her echo may come after the reference it is given for the backend to
    find it by itself; the echo stage moves the reference later when it comes later."""

    def process(self, mic: PCM16, reference: PCM16) -> PCM16: ...

    def close(self) -> None: ...


def open_canceller(backend: str, tail_ms: int = 300) -> EchoCanceller:
    """A started canceller of the named backend at 16 kHz.

    "auto" is WebRTC's AEC3 when pywebrtc-audio is installed, else speexdsp: on the lab's
    echo path (with the timing jumps of a busy machine) AEC3 kept 20-70 dB where speex
    kept 1-40 dB while it re-converged (BENCHMARKS.md).

    Raises:
        EchoError: unknown backend, or its library is missing.
    """
    if backend == "auto":
        try:
            return open_canceller("webrtc", tail_ms)
        except EchoError as exc:
            logger.info("%s; using speexdsp", exc)
            return open_canceller("speex", tail_ms)
    if backend == "speex":
        from voiceos.audio.echo_speex import SpeexCanceller

        return SpeexCanceller.open(SAMPLE_RATE_HZ, tail_ms)
    if backend == "webrtc":
        from voiceos.audio.echo_webrtc import WebrtcCanceller

        return WebrtcCanceller.open(SAMPLE_RATE_HZ)
    raise EchoError(f"unknown echo canceller {backend!r}; use one of {', '.join(BACKENDS)}")


DETECTORS = ("auto", "speex", "none")


def open_detector(name: str, tail_ms: int = 300) -> EchoCanceller | None:
    """The double-talk detector's canceller: speexdsp's linear filter alone, or None.

    "auto" is speex when libspeexdsp is installed, else none (barge-in then reads AEC3's
    output alone). It runs on 16 ms frames: on AEC3's 10 ms ones it let more of her echo
    through on a reverberant path (bench/echo_dtd.py).

    Raises:
        EchoError: unknown name, or "speex" without libspeexdsp.
    """
    if name not in DETECTORS:
        raise EchoError(f"unknown double-talk detector {name!r}; use one of {', '.join(DETECTORS)}")
    if name == "none":
        return None
    from voiceos.audio.echo_speex import SpeexCanceller

    try:
        return SpeexCanceller.open(SAMPLE_RATE_HZ, tail_ms, suppress=False)
    except EchoError as exc:
        if name == "speex":
            raise
        logger.info("%s; barge-in reads the canceller's output alone", exc)
        return None


def level_db(samples: npt.ArrayLike) -> float:
    """Mean power of int16 samples in dB relative to full scale (-120 for silence)."""
    data = np.asarray(samples, dtype=np.float64).reshape(-1)
    if data.size == 0:
        return -120.0
    power = float(np.mean(data * data)) / (32768.0 * 32768.0)
    return 10.0 * math.log10(power) if power > 1e-12 else -120.0


def window_levels_db(
    samples: npt.ArrayLike, window: int, hop: int | None = None, partial: bool = False
) -> np.ndarray:
    """`level_db` of each `window` of `samples`, one every `hop` (default: `window`, no
    overlap). With `partial`, a shorter last window counts too (without overlap only)."""
    data = np.asarray(samples, dtype=np.float64).reshape(-1)
    step = hop or window
    starts = range(0, len(data) - (1 if partial else window) + 1, step)
    if not len(starts):
        return np.zeros(0)
    if step == window and not partial:
        power = (data[: len(starts) * window] ** 2).reshape(-1, window).mean(axis=1)
    else:
        power = np.array([np.mean(data[i : i + window] ** 2) for i in starts])
    power = power / (32768.0 * 32768.0)
    return np.where(power > 1e-12, 10.0 * np.log10(np.maximum(power, 1e-30)), -120.0)


def loudest_db(samples: npt.ArrayLike, window: int = 512, hop: int | None = None) -> float:
    """The level of the loudest `window` of `samples` (one every `hop`, as in
    `window_levels_db`); `level_db` of them all when they are shorter than a window."""
    levels = window_levels_db(samples, window, hop)
    return float(levels.max()) if levels.size else level_db(samples)


def cancel_arrays(canceller: EchoCanceller, mic: PCM16, reference: PCM16) -> PCM16:
    """Run a whole recording through `canceller` (reference already aligned, same length)."""
    n = canceller.frame_samples
    mic = np.asarray(mic, dtype=np.int16).reshape(-1)
    ref = np.zeros(len(mic), dtype=np.int16)
    ref[: min(len(mic), len(reference))] = np.asarray(reference, dtype=np.int16)[: len(mic)]
    out = np.zeros(len(mic), dtype=np.int16)
    whole = len(mic) // n * n
    for start in range(0, whole, n):
        out[start : start + n] = canceller.process(mic[start : start + n], ref[start : start + n])
    out[whole:] = mic[whole:]
    return out  # lags `mic` by canceller.latency_samples


def erle_db(mic: PCM16, cleaned: PCM16, reference: PCM16, floor_db: float = -50.0) -> float:
    """Echo return loss enhancement over the frames where the reference plays.

    Only 32 ms frames whose reference is above `floor_db` count, so silences in the far
    end do not flatter the figure.
    """
    n = 512
    count = min(len(mic), len(cleaned), len(reference)) // n
    mic_power = cleaned_power = 0.0
    for i in range(count):
        part = slice(i * n, (i + 1) * n)
        if level_db(reference[part]) < floor_db:
            continue
        mic_power += float(np.sum(np.asarray(mic[part], dtype=np.float64) ** 2))
        cleaned_power += float(np.sum(np.asarray(cleaned[part], dtype=np.float64) ** 2))
    if mic_power <= 0.0:
        return 0.0
    return 10.0 * math.log10(mic_power / max(cleaned_power, 1e-3))
