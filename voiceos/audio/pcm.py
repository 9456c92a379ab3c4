"""PCM helpers: sample format conversion, mono mix-down, resampling and WAV files.

Everything here is numpy only. The resampler is a Kaiser-windowed sinc in polyphase form,
usable in one shot (`resample`) or on a stream of blocks (`Resampler`) without seams.
"""

from __future__ import annotations

import logging
import math
import struct
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceos.types import PCM16

logger = logging.getLogger(__name__)

Float32 = npt.NDArray[np.float32]

_ZERO_CROSSINGS = 16
"""Sinc lobes kept on each side of the centre tap: more is sharper and slower."""
_KAISER_BETA = 8.6
"""About 80 dB of stop-band rejection."""
_ROLLOFF = 0.94
"""Cut-off as a fraction of the lower Nyquist frequency, leaving room for the transition."""
_BLOCK_OUT = 8192
"""Output samples computed per numpy gather, to bound memory."""


class AudioFormatError(Exception):
    """A recording that cannot be read as audio. The message names the file and the fault."""


def to_float32(pcm16: npt.NDArray[np.int16]) -> Float32:
    """int16 samples to float32 in [-1, 1)."""
    return np.asarray(pcm16, dtype=np.float32) / np.float32(32768.0)


def to_int16(samples: npt.NDArray[np.floating]) -> PCM16:
    """float samples in [-1, 1] to int16, rounded and clipped."""
    scaled = np.rint(np.asarray(samples, dtype=np.float32) * np.float32(32768.0))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def to_mono(samples: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """Average the channels of a (frames, channels) array; 1-D input is returned as is."""
    array = np.asarray(samples)
    if array.ndim == 1:
        return array
    if array.ndim != 2:
        raise ValueError(f"expected (frames, channels) audio, got shape {array.shape}")
    if array.shape[1] == 1:
        return array[:, 0]
    mixed = array.astype(np.float32).mean(axis=1)
    if np.issubdtype(array.dtype, np.integer):
        return np.rint(mixed).astype(array.dtype)
    return mixed.astype(np.float32)


def _kaiser(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Continuous Kaiser window on x in [-1, 1], zero outside."""
    inside = np.clip(1.0 - x * x, 0.0, None)
    window = np.i0(_KAISER_BETA * np.sqrt(inside)) / np.i0(_KAISER_BETA)
    return np.where(np.abs(x) <= 1.0, window, 0.0)


class Resampler:
    """Streaming resampler between two integer rates.

    Feed blocks with `process()`; call `flush()` once at the end for the last samples,
    which wait on the filter's look-ahead of `_ZERO_CROSSINGS` input periods.
    """

    def __init__(self, from_hz: int, to_hz: int) -> None:
        if from_hz <= 0 or to_hz <= 0:
            raise ValueError(f"sample rates must be positive, got {from_hz} -> {to_hz}")
        self.from_hz = from_hz
        self.to_hz = to_hz
        self._bank: Float32 | None = None
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0
        self._next_out = 0
        self._total_in = 0
        self._left = 0

    def _design(self) -> Float32:
        g = math.gcd(self.from_hz, self.to_hz)
        self._up, self._down = self.to_hz // g, self.from_hz // g
        cutoff = min(1.0, self._up / self._down) * _ROLLOFF  # of the input Nyquist
        half = math.ceil(_ZERO_CROSSINGS / cutoff)
        self._left = half - 1  # taps before the centre: offsets -left .. +half
        offsets = np.arange(-self._left, half + 1, dtype=np.float64)
        phases = np.arange(self._up, dtype=np.float64)[:, None] / self._up
        distance = phases - offsets[None, :]  # output time minus input sample time
        taps = cutoff * np.sinc(cutoff * distance) * _kaiser(distance / (half + 1))
        taps /= taps.sum(axis=1, keepdims=True)  # exact unity gain at DC for every phase
        # Taps run over inputs base-left .. base+half; prime the history with zeros.
        self._buffer = np.zeros(self._left, dtype=np.float32)
        self._buffer_start = -self._left
        return taps.astype(np.float32)

    def process(self, samples: npt.NDArray[np.floating]) -> Float32:
        """Resample the next block of float samples; returns what is ready so far."""
        block = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self.from_hz == self.to_hz:
            return block.copy()
        if self._bank is None:
            self._bank = self._design()
        self._total_in += block.size
        self._buffer = np.concatenate([self._buffer, block])
        return self._emit(self._buffer_start + self._buffer.size)

    def flush(self) -> Float32:
        """The remaining samples, computed with silence after the last input."""
        if self.from_hz == self.to_hz or self._bank is None:
            return np.zeros(0, dtype=np.float32)
        width = self._bank.shape[1]
        self._buffer = np.concatenate([self._buffer, np.zeros(width, dtype=np.float32)])
        wanted = -(-self._total_in * self._up // self._down)
        return self._emit(self._buffer_start + self._buffer.size, limit=wanted)

    def _emit(self, available_end: int, limit: int | None = None) -> Float32:
        assert self._bank is not None
        width = self._bank.shape[1]
        # Output n needs inputs up to floor(n*down/up) + width - left - 1 < available_end.
        last_base = available_end - (width - self._left)
        stop = (last_base * self._up) // self._down + 1 if last_base >= 0 else 0
        if limit is not None:
            stop = min(stop, limit)
        pieces = []
        for first in range(self._next_out, stop, _BLOCK_OUT):
            n = np.arange(first, min(first + _BLOCK_OUT, stop), dtype=np.int64)
            base = (n * self._down) // self._up
            phase = (n * self._down) % self._up
            index = (base - self._left - self._buffer_start)[:, None] + np.arange(width)
            pieces.append(np.einsum("ij,ij->i", self._buffer[index], self._bank[phase]))
        self._next_out = max(self._next_out, stop)
        # Keep only the history the next output still needs.
        keep_from = (self._next_out * self._down) // self._up - self._left
        drop = max(0, keep_from - self._buffer_start)
        if drop:
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop
        if not pieces:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(pieces).astype(np.float32, copy=False)


def resample(samples: npt.NDArray[np.generic], from_hz: int, to_hz: int) -> npt.NDArray[np.generic]:
    """Resample 1-D audio. int16 in gives int16 out; anything else gives float32."""
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"resample takes mono 1-D audio, got shape {array.shape}")
    is_int16 = array.dtype == np.int16
    if from_hz == to_hz:
        return array.copy() if is_int16 else array.astype(np.float32)
    resampler = Resampler(from_hz, to_hz)
    floats = to_float32(array) if is_int16 else array.astype(np.float32)
    out = np.concatenate([resampler.process(floats), resampler.flush()])
    return to_int16(out) if is_int16 else out


_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_SIZE_UNKNOWN = (0, 0xFFFFFFFF, 0x7FFFFFFF)
"""data sizes streaming writers leave when they cannot seek back: read to the end."""


def _decode(raw: bytes, fmt: int, bits: int, channels: int) -> Float32:
    width = bits // 8
    frames = len(raw) // (width * channels)
    raw = raw[: frames * width * channels]
    if fmt == _FLOAT and bits in (32, 64):
        data = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8").astype(np.float32)
    elif fmt == _PCM and bits == 8:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt == _PCM and bits == 16:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif fmt == _PCM and bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        data = value.astype(np.float32) / float(1 << 23)
    elif fmt == _PCM and bits == 32:
        data = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    else:
        kind = "float" if fmt == _FLOAT else "integer PCM"
        raise ValueError(f"{bits}-bit {kind} samples are not supported")
    return data.reshape(-1, channels)


def read_wav(path: str | Path) -> tuple[PCM16, int]:
    """Read a WAV file as mono int16 at its own rate.

    Handles 8/16/24/32-bit integer and 32/64-bit float PCM, any channel count and rate.

    Raises:
        AudioFormatError: missing, not a WAV, corrupt, truncated or an unsupported encoding.
    """
    name = str(path)
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"{name}: cannot read the file ({exc.strerror})") from None
    if len(blob) < 12 or blob[:4] not in (b"RIFF", b"RIFX") or blob[8:12] != b"WAVE":
        raise AudioFormatError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    if blob[:4] == b"RIFX":
        raise AudioFormatError(f"{name}: big-endian (RIFX) WAV files are not supported")
    fmt_chunk: bytes | None = None
    data: bytes | None = None
    pos = 12
    while pos + 8 <= len(blob):
        chunk_id, size = blob[pos : pos + 4], struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        body_start = pos + 8
        if chunk_id == b"data":
            available = len(blob) - body_start
            if size in _SIZE_UNKNOWN:
                size = available
            if size > available:
                raise AudioFormatError(
                    f"{name}: truncated: the header promises {size} bytes of audio "
                    f"but only {available} are there"
                )
            data = blob[body_start : body_start + size]
            break
        if chunk_id == b"fmt ":
            fmt_chunk = blob[body_start : body_start + size]
        pos = body_start + size + (size & 1)
    if fmt_chunk is None or len(fmt_chunk) < 16:
        raise AudioFormatError(f"{name}: corrupt WAV: no valid 'fmt ' chunk")
    if data is None:
        raise AudioFormatError(f"{name}: corrupt or truncated WAV: no 'data' chunk")
    fmt, channels, rate, _, align, bits = struct.unpack("<HHIIHH", fmt_chunk[:16])
    if fmt == _EXTENSIBLE and len(fmt_chunk) >= 26:
        fmt = struct.unpack("<H", fmt_chunk[24:26])[0]
    if channels < 1 or rate < 1 or bits % 8 or align != channels * bits // 8:
        raise AudioFormatError(
            f"{name}: corrupt WAV header ({channels} channels, {rate} Hz, {bits} bits)"
        )
    if fmt not in (_PCM, _FLOAT):
        raise AudioFormatError(f"{name}: compressed WAV (format tag {fmt:#x}) is not supported")
    try:
        frames = _decode(data, fmt, bits, channels)
    except ValueError as exc:
        raise AudioFormatError(f"{name}: {exc}") from None
    mono = frames.mean(axis=1) if channels > 1 else frames[:, 0]
    logger.debug("read %s: %d Hz, %d ch, %d-bit, %d frames", name, rate, channels, bits, len(mono))
    return to_int16(mono), rate


def write_wav(path: str | Path, samples: npt.NDArray[np.int16], rate: int) -> None:
    """Write mono int16 samples as a 16-bit PCM WAV."""
    pcm = np.asarray(samples, dtype=np.int16).reshape(-1)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(int(rate))
        handle.writeframes(pcm.astype("<i2").tobytes())
