"""Synthetic echo paths on real recorded speech, and a stage run without devices. Not tests.

An echo path is a delay, a gain and an exponentially decaying reverb tail (a fixed random
impulse response), applied to what the player played; the microphone hears that plus any
near-end speech. `run_stage` plays the far end through a ReferenceTap at the player's rate
with device times, and feeds the microphone in 32 ms chunks with capture times, exactly
as the live stage receives them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from speech_data import clip

from voiceos.audio.delay import EchoDelayTracker
from voiceos.audio.echo import EchoCanceller, open_canceller, open_detector
from voiceos.audio.echostage import REFIT_SAMPLES, EchoFrame, EchoStage, Residue
from voiceos.audio.pcm import resample
from voiceos.audio.reference import ReferenceTap
from voiceos.interrupting import Interrupter
from voiceos.listen.bargein import BargeInPolicy, BargeInSettings, residue_for
from voiceos.types import AudioChunk

RATE = 16000
PLAYER_RATE = 22050
T0 = 1000.0
"""Monotonic time of the first played sample in a simulation."""

Int16Array = npt.NDArray[np.int16]


@dataclass(frozen=True)
class EchoPath:
    name: str
    delay_ms: float
    gain_db: float
    reverb_ms: float
    """Time for the tail to decay by 60 dB; 0 = a single reflection."""

    def impulse(self) -> npt.NDArray[np.float64]:
        delay = int(self.delay_ms * RATE / 1000)
        length = delay + max(1, int(self.reverb_ms * RATE / 1000))
        ir = np.zeros(length)
        ir[delay] = 1.0
        if self.reverb_ms:
            n = np.arange(length - delay)
            decay = np.exp(-6.9 * n / (self.reverb_ms * RATE / 1000))
            ir[delay:] += np.random.default_rng(7).standard_normal(n.size) * 0.08 * decay
        return ir * 10 ** (self.gain_db / 20)

    def apply(self, far: Int16Array) -> npt.NDArray[np.float64]:
        return np.convolve(far.astype(np.float64), self.impulse())[: len(far)]


def direct_and_reflected(far: Int16Array) -> npt.NDArray[np.float64]:
    """Her echo through the bench's harder path (bench/echo_bargein.py): the direct sound
    60 ms late, and a reflection at half its level 150 ms after it."""
    echo = np.zeros(len(far))
    echo[DIRECT:] += far[:-DIRECT]
    echo[REFLECTED:] += 0.5 * far[:-REFLECTED]
    return echo


DIRECT, REFLECTED = RATE * 60 // 1000, RATE * 210 // 1000
"""Samples by which the direct sound and the reflection of `direct_and_reflected` lag."""

LAB_LIKE = EchoPath("lab-like: 45 ms, -3 dB, dry", 45, -3, 0)
HARD = EchoPath("hard: 150 ms, 0 dB, 250 ms reverb", 150, 0, 250)
PATHS = (LAB_LIKE, HARD)


class Handed:
    """A canceller that keeps each frame it is handed: what the stage gave it to work on."""

    def __init__(self, inner: EchoCanceller) -> None:
        self.inner = inner
        self.name = inner.name
        self.frame_samples = inner.frame_samples
        self.latency_samples = inner.latency_samples
        self.reach_samples = inner.reach_samples
        self.mic: list[Int16Array] = []
        self.reference: list[Int16Array] = []

    def process(self, mic: Int16Array, reference: Int16Array) -> Int16Array:
        self.mic.append(mic.copy())
        self.reference.append(reference.copy())
        return self.inner.process(mic, reference)

    def close(self) -> None:
        self.inner.close()


def her_reply(seconds: float = 12.0) -> Int16Array:
    """Real recorded speech for her side: two corpus readers, `seconds` of them."""
    both = [clip("LJ050-0131"), clip("sense_and_sensibility_01_austen_64kb-0870")]
    return np.concatenate([c.samples() for c in both])[: int(seconds * RATE)]


def as_int16(signal: npt.NDArray[np.float64]) -> Int16Array:
    """A simulated microphone's samples, rounded and clipped as a device would."""
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


def mic_signal(
    far: Int16Array, path: EchoPath, near: Int16Array | None = None, near_at_s: float = 0.0
) -> Int16Array:
    """What the microphone captures: the echo of `far`, plus `near` from `near_at_s`."""
    mic = path.apply(far)
    if near is not None:
        at = int(near_at_s * RATE)
        end = min(len(mic), at + len(near))
        mic[at:end] += near[: end - at]
    return np.clip(np.rint(mic), -32768, 32767).astype(np.int16)


def run_stage(
    stage: EchoStage,
    tap: ReferenceTap | None,
    far: Int16Array,
    mic: Int16Array,
    reference_late_s: float = 0.0,
    frames: list[EchoFrame | None] | None = None,
    after: Callable[[], None] | None = None,
    outputs: list[AudioChunk | None] | None = None,
) -> Int16Array:
    """Cleaned microphone from `stage`, with `far` published as a player would publish it.

    `reference_late_s` publishes each played block that much after the microphone chunk
    that already holds its echo (a stalled player thread). `frames` collects the stage's
    levels after each chunk, and `outputs` what it returned (gated); `after` is called
    after each chunk too (a policy reading them).
    """
    played = resample(far, RATE, PLAYER_RATE)
    block = 512
    blocks = [
        (i, played[i : i + block], T0 + i / PLAYER_RATE) for i in range(0, len(played), block)
    ]
    out: list[Int16Array] = []
    chunk = 512
    for start in range(0, len(mic), chunk):
        captured_s = T0 + start / RATE
        while tap is not None and blocks and blocks[0][2] <= captured_s + 0.06 - reference_late_s:
            _, samples, device_s = blocks.pop(0)
            tap.publish(samples.astype(np.int16), PLAYER_RATE, device_s)
        cleaned = stage.process(AudioChunk(mic[start : start + chunk], RATE, captured_s))
        if cleaned is not None:
            out.append(cleaned.samples)
        if outputs is not None:
            outputs.append(cleaned)
        if frames is not None:
            frames.append(stage.last)
        if after is not None:
            after()
    cleaned = np.concatenate(out) if out else np.zeros(0, dtype=np.int16)
    lag = stage.latency_samples
    return np.concatenate([cleaned[lag:], np.zeros(lag, dtype=np.int16)])  # aligned with mic


def stepped_echo(
    sentences: list[Int16Array], path: EchoPath, steps: list[int], gap: int = RATE // 2
) -> tuple[Int16Array, Int16Array, list[int]]:
    """Sentences with `gap` samples of silence after each, and their echo through `path`
    with the delay moved by `steps[k - 1]` samples more at sentence k: on PulseAudio each
    restarted output stream steps the clocks the stage aligns by (bench/echo_record.py).

    Returns the far end, the microphone and where each sentence starts.
    """
    starts, at = [], 0
    for samples in sentences:
        starts.append(at)
        at += len(samples) + gap
    far = np.zeros(at, dtype=np.int16)
    echo = np.zeros(at)
    moved = 0
    for k, (start, samples) in enumerate(zip(starts, sentences, strict=True)):
        far[start : start + len(samples)] = samples
        moved += steps[k - 1] if k else 0
        part = path.apply(np.concatenate([samples, np.zeros(gap, dtype=np.int16)]))
        begin = start + moved
        echo[begin : begin + len(part)] += part[: max(0, at - begin)]
    return far, np.clip(np.rint(echo), -32768, 32767).astype(np.int16), starts


def drifting(echo: npt.NDArray[np.float64], ppm: float) -> npt.NDArray[np.float64]:
    """`echo` arriving later and later by `ppm` millionths of the time elapsed: the lab's
    loopback resamples to keep its latency, and her echo's delay drifts by about 40 ppm
    there (0.7 samples a second, seen on recordings of its speaker and microphone)."""
    n = np.arange(len(echo), dtype=np.float64)
    return np.interp(n * (1 - ppm * 1e-6), n, echo)


def barge_in_rig(look_back: bool = True) -> tuple[ReferenceTap, EchoStage, Interrupter[str]]:
    """The stage (AEC3, the speexdsp detector, the delay tracker) and the Interrupter as
    voiceos builds them, with no player to hold; without `look_back` the stage fits her
    echo path neither at a hold nor while she plays (as before it could)."""
    tap = ReferenceTap()
    stage = EchoStage(
        open_canceller("webrtc"),
        tap,
        gate=Residue(),
        detector=open_detector("speex"),
        tracker=EchoDelayTracker(),
        refit_samples=REFIT_SAMPLES if look_back else None,
    )
    if not look_back:
        stage.look_back = lambda: False  # type: ignore[method-assign]
    policy = BargeInPolicy(BargeInSettings(residue=residue_for("webrtc")))
    return tap, stage, Interrupter(stage, policy, lambda _: None, lambda: None)
