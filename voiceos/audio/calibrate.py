"""Measure the echo path: play a probe on the speaker, record the mic, find delay and ERLE.

The delay is the lag between the reference, as the player's timestamps place it on the
capture clock, and its echo in the microphone: what is left after the latencies PortAudio
reports. It becomes the echo stage's starting estimate (`[echo] delay_ms`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np

from voiceos.audio.echo import EchoCanceller, cancel_arrays, erle_db, level_db
from voiceos.audio.reference import RATE_HZ, ReferenceTap, ReferenceTimeline
from voiceos.types import PCM16, AudioChunk

logger = logging.getLogger(__name__)

MAX_DELAY_S = 0.5


@dataclass(frozen=True)
class EchoMeasurement:
    delay_ms: float
    """Echo delay beyond the reported device latencies."""
    echo_db: float
    """Level of the echo at the microphone relative to what was played (negative: quieter)."""
    erle_db: float
    """Echo reduction the canceller reached on the recording (after it settled)."""
    peak: float
    """Normalised correlation at the delay: near 1 for a clean path, low when nothing came back."""


def chirp(seconds: float = 1.0, rate_hz: int = 22050, level: float = 0.5) -> PCM16:
    """A logarithmic sweep from 200 Hz to 6 kHz, faded in and out."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    f0, f1 = 200.0, 6000.0
    k = np.log(f1 / f0) / seconds
    wave = np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.02)
    return np.rint(wave * fade * level * 32767).astype(np.int16)


def find_delay(mic: PCM16, reference: PCM16, max_lag: int | None = None) -> tuple[int, float]:
    """Lag (samples, 0..max_lag, MAX_DELAY_S by default) by which `mic` echoes
    `reference`, and its peak."""
    a = np.asarray(mic, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    spectrum = np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n))
    # PHAT weighting: a sharp peak whatever the room's colouring.
    corr = np.fft.irfft(spectrum / np.maximum(np.abs(spectrum), 1e-9), n)
    limit = int(MAX_DELAY_S * RATE_HZ) if max_lag is None else max_lag
    lag = int(np.argmax(corr[:limit]))
    shifted = a[lag : lag + len(b)]
    m = min(len(shifted), len(b))
    denom = float(np.sqrt(np.sum(shifted[:m] ** 2) * np.sum(b[:m] ** 2)))
    peak = float(np.dot(shifted[:m], b[:m]) / denom) if denom > 0 else 0.0
    return lag, abs(peak)


def measure(
    mic_chunks: list[AudioChunk],
    played: ReferenceTap,
    canceller: EchoCanceller,
) -> EchoMeasurement:
    """Delay, echo level and ERLE from a recording of the probe and what the player played."""
    timeline = ReferenceTimeline(history_s=30.0)
    for block in played.drain():
        timeline.add(block)
    stamped = [c for c in mic_chunks if c.timestamp_s]
    if not stamped:
        raise ValueError("the microphone gave no timestamped audio")
    mic = np.concatenate([c.samples for c in stamped]).astype(np.int16)
    # Device timestamps of a busy machine can place the reference late as well as early:
    # search delays of -MAX_DELAY_S..+MAX_DELAY_S. The reference is read from MAX_DELAY_S
    # before the recording and the mic padded by twice that, so every lag is positive.
    span = int(MAX_DELAY_S * RATE_HZ)
    wide, _ = timeline.read(timeline.index(stamped[0].timestamp_s) - span, len(mic) + span)
    padded = np.concatenate([np.zeros(2 * span, np.int16), mic])
    shift, peak = find_delay(padded, wide, max_lag=2 * span)
    lag = shift - span
    # aligned[i]: what was playing `lag` samples before mic[i] was captured.
    start = 2 * span - shift
    aligned = np.concatenate([np.zeros(max(0, -start), np.int16), wide[max(0, start) :]])
    aligned = np.concatenate([aligned, np.zeros(len(mic), np.int16)])[: len(mic)]
    cleaned = cancel_arrays(canceller, mic, aligned)
    latency = canceller.latency_samples
    cleaned = np.concatenate([cleaned[latency:], np.zeros(latency, np.int16)])
    settle = len(mic) // 2
    return EchoMeasurement(
        delay_ms=lag * 1000 / RATE_HZ,
        echo_db=level_db(mic) - level_db(aligned),
        erle_db=erle_db(mic[settle:], cleaned[settle:], aligned[settle:]),
        peak=peak,
    )


async def record_probe(
    mic_source: object, player: object, probe: PCM16, rate_hz: int
) -> list[AudioChunk]:
    """Play `probe` on `player` while collecting `mic_source`'s chunks, plus 0.5 s after."""
    chunks: list[AudioChunk] = []
    done = asyncio.Event()

    async def collect() -> None:
        async for chunk in mic_source.chunks():  # type: ignore[attr-defined]
            chunks.append(chunk)
            if done.is_set():
                return

    task = asyncio.create_task(collect())
    try:
        await asyncio.sleep(0.3)  # room noise first; also lets both streams settle
        await player.play(probe, rate_hz)  # type: ignore[attr-defined]
        await asyncio.sleep(0.6)  # the echo's tail
        done.set()
        async with asyncio.timeout(2.0):
            await task
    finally:
        task.cancel()
    return chunks
