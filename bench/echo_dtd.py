"""Double-talk detectors for barge-in, compared offline on real speech (no devices).

Run:
    nice -n 10 .venv/bin/python -m bench.echo_dtd

Her reply is real recorded speech through the synthetic echo paths of tests/echo_paths.py
(plus one whose delay jumps by 50 ms mid-reply, as an underrun does on a busy machine);
the user is a real recorded word or sentence added at the microphone while she plays, at
its own level and 6 dB quieter. Every run goes through the real stage (AEC3) and each
candidate reads its levels chunk by chunk:

- aec3: today's signal, AEC3's output against the microphone (`Residue`, leak, armed at
  12 dB of echo reduction);
- speex-linear: speexdsp's linear filter run alongside AEC3 for detection only, its output
  against the microphone (same `Residue` figures), and against its own running ERLE;
- envelope: the raw microphone's band energies against the echo predicted from the
  reference's (per-band echo-path gain learned while she plays, max over the tail).

A detection is `onset_chunks` (2) unexplained chunks in a row, as in BargeInPolicy. For
each candidate: detection delay from the user's onset (p50/p95/max), missed onsets, and
false detections per minute of her echo alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from echo_paths import PATHS, T0, EchoPath, mic_signal, run_stage  # noqa: E402
from speech_data import clip, clips, single_words  # noqa: E402

from voiceos.audio.delay import EchoDelayTracker  # noqa: E402
from voiceos.audio.echo import level_db, open_canceller, open_detector  # noqa: E402
from voiceos.audio.echostage import (  # noqa: E402
    FAR_ACTIVE_DB,
    REFIT_SAMPLES,
    EchoFrame,
    EchoStage,
    Residue,
)
from voiceos.audio.reference import ReferenceTap  # noqa: E402
from voiceos.listen.bargein import residue_for  # noqa: E402

RATE = 16000
CHUNK = 512
SETTLE_S = 3.0
FAR = ("LJ050-0131", "sense_and_sensibility_01_austen_64kb-0870", "another_engineer")
NEAR_SENTENCES = ("testing_routine", "2830-3980-0043", "goforward", "8455-210777-0068")
ONSETS_S = (6.6, 9.0, 11.0, 15.2)
"""Inside her speech (the far end pauses at 5.9-6.4 s and 14.4-15.0 s)."""
GAINS_DB = (0.0, -10.0)
AEC3_RESIDUE = residue_for("webrtc")
"""What the policy now reads AEC3's output against."""


@dataclass(frozen=True)
class JumpPath:
    """An echo path whose delay grows by `jump_ms` at `at_s` (the player underran)."""

    base: EchoPath
    jump_ms: float
    at_s: float

    @property
    def name(self) -> str:
        return f"{self.base.name.split(':')[0]} + {self.jump_ms:.0f} ms jump at {self.at_s:.0f} s"

    def apply(self, far: np.ndarray) -> np.ndarray:
        before = self.base.apply(far)
        shift = int(self.jump_ms * RATE / 1000)
        after = np.concatenate([np.zeros(shift), self.base.apply(far)])[: len(far)]
        cut = int(self.at_s * RATE)
        return np.concatenate([before[:cut], after[cut:]])


class Envelope:
    """Candidate 2: band energies of the raw microphone against the echo the reference
    predicts (per-band gain learned while she plays and nothing else is flagged)."""

    EDGES_HZ = (100, 300, 600, 1000, 1500, 2200, 3200, 4500, 6500, 8000)

    def __init__(self, tail_ms: float = 400.0, margin_db: float = 6.0) -> None:
        self._window = np.hanning(CHUNK)
        freqs = np.fft.rfftfreq(CHUNK, 1 / RATE)
        self._bands = [
            (freqs >= lo) & (freqs < hi)
            for lo, hi in zip(self.EDGES_HZ, self.EDGES_HZ[1:], strict=False)
        ]
        self._history: deque[np.ndarray] = deque(maxlen=int(tail_ms / 32) + 1)
        self._gain: np.ndarray | None = None
        self._margin = 10 ** (margin_db / 10)
        self._flagged = False
        self._learned = 0

    def _powers(self, samples: np.ndarray) -> np.ndarray:
        spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * self._window)) ** 2
        return np.array([spectrum[b].sum() for b in self._bands]) + 1e-3

    def process(self, mic: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
        """(excess level dB re the mic's, excess dBFS-like level) for one chunk."""
        m = self._powers(mic)
        self._history.append(self._powers(reference))
        peak = np.max(np.array(self._history), axis=0)
        ratio = np.log(m / peak)
        if level_db(reference) > FAR_ACTIVE_DB and level_db(mic) > FAR_ACTIVE_DB:
            if self._gain is None:
                self._gain = ratio
            else:  # tracks the upper part of the ratio; only downwards while flagged
                rate = np.where(ratio > self._gain, 0.0 if self._flagged else 0.1, 0.02)
                self._gain = self._gain + rate * (ratio - self._gain)
            self._learned += 1
        if self._gain is None or self._learned < 60:
            return -120.0, -120.0
        predicted = np.exp(self._gain) * peak * self._margin
        excess = float(np.sum(np.maximum(0.0, m - predicted)))
        rel = 10 * np.log10(excess / float(m.sum()) + 1e-12)
        scale = float(np.sum(self._window**2)) * CHUNK * 32768.0**2
        self._flagged = rel > -10
        return rel, 10 * np.log10(excess / scale + 1e-12)


@dataclass
class Trace:
    """Per-chunk figures of one run: the stage's frames and the envelope candidate's."""

    frames: list[EchoFrame]
    envelope: list[tuple[float, float]]

    @property
    def times(self) -> np.ndarray:
        return np.array([f.captured_s - T0 for f in self.frames])


def trace(far: np.ndarray, mic: np.ndarray, tail_ms: int, track: bool = True) -> Trace:
    """The stage's frames over `mic`; `track`: its detector follows the echo's delay."""
    tap = ReferenceTap()
    detector = open_detector("speex", tail_ms)
    tracker = EchoDelayTracker(RATE * tail_ms // 1000) if track else None
    stage = EchoStage(open_canceller("webrtc"), tap, detector=detector, tracker=tracker)
    frames: list[EchoFrame | None] = []
    run_stage(stage, tap, far, mic, frames=frames)
    envelope = Envelope()
    env = [
        envelope.process(mic[i : i + CHUNK], far[i : i + CHUNK])
        for i in range(0, len(mic) - CHUNK + 1, CHUNK)
    ]
    pairs = [(f, e) for f, e in zip(frames, env, strict=False) if f is not None]
    return Trace([f for f, _ in pairs], [e for _, e in pairs])


Rule = Callable[[Trace], np.ndarray]
"""Unexplained (True) per chunk."""


def _running_erle(values: list[tuple[float, float, float]]) -> np.ndarray:
    """The stage's running echo reduction (median of the last 60 chunks she played)."""
    history: list[float] = []
    out = []
    for far_db, mic_db, out_db in values:
        if far_db > FAR_ACTIVE_DB:
            history.append(60.0 if mic_db <= FAR_ACTIVE_DB else mic_db - out_db)
        recent = history[-60:]
        out.append(statistics.median(recent) if len(recent) >= 10 else -1.0)
    return np.array(out)


def _armed(t: Trace) -> np.ndarray:
    """Per chunk: AEC3 has reached 12 dB of echo reduction at least once (barge-in armed)."""
    armed = _running_erle([(f.far_db, f.mic_db, f.out_db) for f in t.frames]) >= 12.0
    return np.maximum.accumulate(armed)


def speex_residue(ratio_db: float, floor_db: float = -48.0, max_leak: float = 1.0) -> Rule:
    residue = Residue(ratio_db, floor_db)

    def rule(t: Trace) -> np.ndarray:
        armed = _running_erle([(f.far_db, f.mic_db, f.near_db or -120.0) for f in t.frames])
        armed = np.maximum.accumulate(armed >= 12.0)
        flags = []
        for f in t.frames:
            near = EchoFrame(f.mic_db, f.near_db or -120.0, f.far_db, 0.0, 0, f.recent_far_db)
            flags.append(
                near.out_db >= floor_db and not near.explained(residue) and f.near_leak < max_leak
            )
        return np.array(flags) & armed

    rule.__name__ = f"speex-linear, residue {ratio_db:+.0f} dB / floor {floor_db:.0f}"
    if max_leak < 1.0:
        rule.__name__ += f" / leak < {max_leak:.2f}"
    return rule


def either(first: Rule, second: Rule) -> Rule:
    def rule(t: Trace) -> np.ndarray:
        return first(t) | second(t)

    rule.__name__ = f"either {first.__name__} or {second.__name__}"
    return rule


def shipped(detector_erle_db: float, residue: Residue | None = None) -> Rule:
    """What BargeInPolicy reads: either output, AEC3's against `residue` (by default the
    gate's), the detector's against the gate's while its own echo reduction is at least
    `detector_erle_db`."""
    aec3_residue = residue or Residue()

    def rule(t: Trace) -> np.ndarray:
        flags = [f.unexplained(aec3_residue, 0.45, detector_erle_db, Residue()) for f in t.frames]
        return np.array(flags) & _armed(t)

    rule.__name__ = (
        f"aec3 ({aec3_residue.ratio_db:+.0f} dB / {aec3_residue.floor_db:.0f}) or speex-linear "
        f"(-10 dB / -48, leak < 0.45, its ERLE >= {detector_erle_db:.0f} dB)"
    )
    return rule


def aec3_only(residue: Residue, name: str = "") -> Rule:
    """AEC3's output alone against `residue` (leak < 0.45, armed at 12 dB)."""

    def rule(t: Trace) -> np.ndarray:
        flags = [
            f.out_db >= residue.floor_db and not f.explained(residue) and f.leak < 0.45
            for f in t.frames
        ]
        return np.array(flags) & _armed(t)

    rule.__name__ = name or f"aec3 alone ({residue.ratio_db:+.0f} dB / {residue.floor_db:.0f})"
    return rule


aec3 = aec3_only(Residue(), "aec3")
"""Today's signal before session 16: AEC3's output against the gate's residue."""


def speex_excess(margin_db: float, floor_db: float = -48.0) -> Rule:
    """Linear residue above what the filter leaves of her echo (mic minus its running ERLE)."""

    def rule(t: Trace) -> np.ndarray:
        erle = _running_erle([(f.far_db, f.mic_db, f.near_db or -120.0) for f in t.frames])
        flags = []
        for f, e in zip(t.frames, erle, strict=True):
            near = f.near_db or -120.0
            if e < 12.0:
                flags.append(False)
            elif f.recent_far_db <= FAR_ACTIVE_DB:
                flags.append(near >= floor_db)
            else:
                flags.append(near >= floor_db and near - (f.mic_db - e) >= margin_db)
        return np.array(flags)

    rule.__name__ = f"speex-linear, {margin_db:.0f} dB over its ERLE / floor {floor_db:.0f}"
    return rule


def envelope(ratio_db: float, floor_db: float = -48.0) -> Rule:
    def rule(t: Trace) -> np.ndarray:
        return np.array(
            [
                rel >= ratio_db and lvl >= floor_db
                for (rel, lvl), f in zip(t.envelope, t.frames, strict=True)
            ]
        )

    rule.__name__ = f"envelope, excess {ratio_db:+.0f} dB / floor {floor_db:.0f}"
    return rule


def detections(flags: np.ndarray, times: np.ndarray, run: int = 2, refractory_s: float = 0.5):
    found, count, last = [], 0, -1e9
    for flag, t in zip(flags, times, strict=True):
        count = count + 1 if flag else 0
        if count >= run and t - last > refractory_s:
            found.append(t)
            last = t
    return found


def cpu_per_second(far: np.ndarray, detector: bool, fits: bool = True) -> float:
    """CPU seconds per second of audio for the whole stage, with or without the detector
    (and with it, as shipped: the delay tracker, and the fits of her echo path unless
    `fits` is False)."""
    mic = mic_signal(far, PATHS[0])
    tap = ReferenceTap()
    stage = EchoStage(
        open_canceller("webrtc"),
        tap,
        detector=open_detector("speex") if detector else None,
        tracker=EchoDelayTracker(RATE * 300 // 1000) if detector else None,
        refit_samples=REFIT_SAMPLES if fits else None,
    )
    started = time.process_time()
    run_stage(stage, tap, far, mic)
    return (time.process_time() - started) / (len(mic) / RATE)


def _inside_her_speech(reference: np.ndarray, around_s: tuple[float, ...]) -> list[float]:
    """For each time, the first moment from it where she is playing (reference loud)."""
    onsets = []
    for t in around_s:
        at = int(t * RATE)
        while at + RATE < len(reference) and level_db(reference[at : at + RATE // 4]) < -35:
            at += CHUNK
        onsets.append(at / RATE)
    return onsets


def recorded(
    path: Path, rules: list[Rule], tail_ms: int, gains: tuple[float, ...], track: bool = True
) -> None:
    """The rules on a recording of the lab's echo path (bench/echo_record.py), with the
    users mixed into its microphone at their onsets."""
    data = np.load(path)
    mic, reference = data["mic"], data["reference"]
    alone = trace(reference, mic, tail_ms, track)
    minutes = float(np.sum(alone.times >= SETTLE_S)) * CHUNK / RATE / 60
    near = dict(single_words())
    near.update({n: clip(n).samples() for n in NEAR_SENTENCES})
    onsets = _inside_her_speech(reference, (5.0, 10.0, 15.0, 20.0))
    delays: dict[str, list[float]] = {r.__name__: [] for r in rules}
    missed: dict[str, int] = {r.__name__: 0 for r in rules}
    for samples in near.values():
        loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 1000)
        if not loud.size:
            continue
        for at_s in onsets:
            for gain in gains:
                end = min(len(mic), int((at_s + len(samples) / RATE + 1.0) * RATE))
                mixed = mic[:end].astype(np.int32)
                start = int(at_s * RATE)
                user = np.rint(samples * 10 ** (gain / 20)).astype(np.int32)[: end - start]
                mixed[start : start + len(user)] += user
                t = trace(
                    reference[:end],
                    np.clip(mixed, -32768, 32767).astype(np.int16),
                    tail_ms,
                    track,
                )
                onset, stop = at_s + loud[0] / RATE, at_s + loud[-1] / RATE + 0.3
                for rule in rules:
                    hit = [d for d in detections(rule(t), t.times) if onset - 0.05 <= d <= stop]
                    if hit:
                        delays[rule.__name__].append(hit[0] - onset)
                    else:
                        missed[rule.__name__] += 1
    print(f"\n### recorded lab path ({path.name}): {minutes:.1f} min of echo alone")
    print(f"onsets at {', '.join(f'{t:.1f}' for t in onsets)} s, gains {gains} dB")
    print("| candidate | hold delay p50 ms | p95 ms | missed | false per min (alone) |")
    print("|---|---|---|---|---|")
    for rule in rules:
        k = rule.__name__
        false = detections(rule(alone), alone.times)
        per_min = sum(1 for d in false if d >= SETTLE_S) / minutes
        d = np.array(delays[k]) * 1000
        total = len(d) + missed[k]
        stats = f"{np.percentile(d, 50):.0f} | {np.percentile(d, 95):.0f}" if len(d) else "- | -"
        print(f"| {k} | {stats} | {missed[k]}/{total} | {per_min:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tail-ms", type=int, default=300)
    parser.add_argument("--path", type=int, help="only this path (0 lab-like, 1 hard, 2 jump)")
    parser.add_argument("--quick", action="store_true", help="one onset, one gain")
    parser.add_argument(
        "--recorded", type=Path, help="only this recording of the lab (bench/echo_record.py)"
    )
    parser.add_argument(
        "--no-track", action="store_true", help="the detector without the delay tracker"
    )
    args = parser.parse_args()
    if args.recorded is not None:
        rules_now: list[Rule] = [
            aec3,
            aec3_only(AEC3_RESIDUE),
            shipped(15.0),
            shipped(15.0, AEC3_RESIDUE),
            shipped(20.0, AEC3_RESIDUE),
        ]
        gains = GAINS_DB[:1] if args.quick else GAINS_DB
        recorded(args.recorded, rules_now, args.tail_ms, gains, not args.no_track)
        return
    far = np.concatenate([clip(n).samples() for n in FAR])
    long_far = np.concatenate(
        [far] + [c.samples() for c in clips() if c.is_sentence and c.name not in FAR]
    )
    paths = (*PATHS, JumpPath(PATHS[0], 50, 7.0))
    if args.path is not None:
        paths = (paths[args.path],)
    rules: list[Rule] = [
        aec3,
        speex_residue(-10),
        speex_residue(-10, max_leak=0.45),
        speex_residue(-15, max_leak=0.45),
        speex_excess(10),
        envelope(-10),
        envelope(-6),
        shipped(12.0),
        shipped(15.0),
        shipped(18.0),
        aec3_only(AEC3_RESIDUE),
        shipped(15.0, AEC3_RESIDUE),
        shipped(20.0, AEC3_RESIDUE),
    ]
    near = {k: v for k, v in single_words().items()}
    near.update({n: clip(n).samples() for n in NEAR_SENTENCES})
    onsets = ONSETS_S[:1] if args.quick else ONSETS_S
    gains = GAINS_DB[:1] if args.quick else GAINS_DB
    started = time.process_time()
    print(f"far end {len(far) / RATE:.0f} s (echo alone {len(long_far) / RATE:.0f} s)")
    print(f"near: {len(near)} clips x {len(onsets)} onsets x gains {gains} dB")
    print(
        f"stage CPU per s of audio: {cpu_per_second(far, False) * 1000:.1f} ms without the "
        f"detector, {cpu_per_second(far, True) * 1000:.1f} ms with it as shipped (tracker, "
        f"fits of her echo path), {cpu_per_second(far, True, False) * 1000:.1f} ms without "
        "the fits made while she plays"
    )
    for path in paths:
        echo = np.clip(np.rint(path.apply(long_far)), -32768, 32767).astype(np.int16)
        alone = trace(long_far, echo, args.tail_ms, not args.no_track)
        settle = alone.times >= SETTLE_S
        minutes = float(np.sum(settle)) * CHUNK / RATE / 60
        delays: dict[str, list[float]] = {r.__name__: [] for r in rules}
        missed: dict[str, list[str]] = {r.__name__: [] for r in rules}
        early: dict[str, int] = {r.__name__: 0 for r in rules}
        slow: dict[str, list[str]] = {r.__name__: [] for r in rules}
        for name, samples in near.items():
            loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 1000)
            if not loud.size:
                continue
            first, last = loud[0], loud[-1]
            for at_s in onsets:
                for gain in gains:
                    user = np.rint(samples * 10 ** (gain / 20)).astype(np.int16)
                    end = int((at_s + len(samples) / RATE + 1.0) * RATE)
                    mic = mic_signal(far[:end], path, user, at_s)
                    t = trace(far[:end], mic, args.tail_ms, not args.no_track)
                    onset = at_s + first / RATE
                    stop = at_s + last / RATE + 0.3
                    for rule in rules:
                        found = detections(rule(t), t.times)
                        before = [d for d in found if SETTLE_S <= d < onset - 0.05]
                        early[rule.__name__] += len(before)
                        hit = [d for d in found if onset - 0.05 <= d <= stop]
                        if hit:
                            delays[rule.__name__].append(hit[0] - onset)
                            if hit[0] - onset > 0.4:
                                slow[rule.__name__].append(
                                    f"{name}@{at_s}/{gain:+.0f}: {(hit[0] - onset) * 1000:.0f}"
                                )
                        else:
                            missed[rule.__name__].append(f"{name}@{at_s}/{gain:+.0f}")
        print(f"\n### {path.name}: {minutes:.1f} min of echo alone")
        print(
            "| candidate | hold delay p50 ms | p95 ms | max ms | missed "
            "| false per min (alone) | false before onsets |"
        )
        print("|---|---|---|---|---|---|---|")
        for rule in rules:
            k = rule.__name__
            false = detections(rule(alone), alone.times)
            per_min = sum(1 for d in false if d >= SETTLE_S) / minutes
            d = np.array(delays[k]) * 1000
            total = len(d) + len(missed[k])
            stats = (
                f"{np.percentile(d, 50):.0f} | {np.percentile(d, 95):.0f} | {d.max():.0f}"
                if len(d)
                else "- | - | -"
            )
            print(f"| {k} | {stats} | {len(missed[k])}/{total} | {per_min:.1f} | {early[k]} |")
        for rule in rules:
            if missed[rule.__name__]:
                print(f"  missed by {rule.__name__}: {', '.join(missed[rule.__name__][:12])}")
        for rule in (aec3, rules[-2]):
            print(f"  over 400 ms, {rule.__name__}: {', '.join(slow[rule.__name__])}")
    print(f"\nCPU {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
