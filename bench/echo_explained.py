"""Is a request to stop heard while she was held her own echo? Measured on the lab's echo path.

Run:
    nice -n 5 .venv/bin/python -m bench.echo_explained [RECORDING.npz ...]

A recording is what `python -m bench.echo_record OUT.npz` saves: the lab's microphone and
the reference the voiceos clocks aligned with it, where her echo's delay steps by 5-15 ms
every few seconds. Without arguments, the test fixture tests/data/lab_echo_steps.npz.

For each recording, `Hindsight.unexplained_db` (dBFS) over the 0.86 s a held request is
judged on:
- her echo alone, every 0.1 s: how loud what her voice, fitted afresh, leaves of it is
  (the largest must stay below the threshold);
- a real word said over her (every one-word recording of the corpus) every 3.1 s, at its
  own level and 6 and 12 dB quieter: how loud it stays (the smallest should stay above);
- and how long one reading takes.
The threshold is `BargeInSettings.heard_db`, the level at which the policy hears sound.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from speech_data import single_words  # noqa: E402

from bench.stats import percentile  # noqa: E402
from voiceos.audio.hindsight import Hindsight  # noqa: E402
from voiceos.listen.bargein import BargeInSettings  # noqa: E402

RATE = 16000
HELD = int(0.86 * RATE)
MAX_LAG = RATE * 300 // 1000
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "lab_echo_steps.npz"


def unexplained(mic: np.ndarray, reference: np.ndarray, end: int) -> tuple[float | None, float]:
    """The reading over the `HELD` samples up to `end`, and the seconds it took."""
    hindsight = Hindsight()
    hindsight.add(mic[:end], reference[:end])
    started = time.perf_counter()
    value = hindsight.unexplained_db(HELD, MAX_LAG)
    return value, time.perf_counter() - started


def measure(path: Path) -> None:
    with np.load(path) as recording:
        mic = recording["mic"].astype(np.int16)
        reference = recording["reference"].astype(np.int16)
    first = HELD + MAX_LAG + RATE // 10
    echo, took = [], []
    for end in range(first, len(mic) + 1, RATE // 10):
        value, seconds = unexplained(mic, reference, end)
        took.append(seconds * 1000)
        if value is not None:
            echo.append(value)
    print(f"\n{path.name}: {len(mic) / RATE:.1f} s")
    print(
        f"  her echo alone: {len(echo)} readings, largest {max(echo):.1f} dB, "
        f"p99 {percentile(echo, 99):.1f}, median {percentile(echo, 50):.1f}"
    )
    print(f"  one reading: p50 {percentile(took, 50):.0f} ms, max {max(took):.0f} ms")
    for gain_db in (0.0, -6.0, -12.0):
        kept = []
        for samples in single_words().values():
            for at_s in np.arange(first / RATE, len(mic) / RATE - 0.7, 3.1):
                at = int(at_s * RATE)
                heard = mic.astype(np.float64)
                part = samples[: len(heard) - at].astype(np.float64)
                heard[at : at + len(part)] += part * 10 ** (gain_db / 20)
                heard = np.clip(np.rint(heard), -32768, 32767).astype(np.int16)
                value, _ = unexplained(heard, reference, at + int(0.6 * RATE))
                if value is not None:
                    kept.append(value)
        print(
            f"  a word over her at {gain_db:+.0f} dB: {len(kept)} readings, smallest "
            f"{min(kept):.1f} dB, p5 {percentile(kept, 5):.1f}, median {percentile(kept, 50):.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recordings", nargs="*", type=Path, default=[FIXTURE])
    args = parser.parse_args()
    print(f"threshold (BargeInSettings.heard_db): {BargeInSettings().heard_db} dBFS")
    for path in args.recordings:
        measure(path)


if __name__ == "__main__":
    main()
