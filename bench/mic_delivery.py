"""How soon the microphone's chunks reach the asyncio loop after they were captured.

Run (with the lab up: `bash scripts/audiolab.sh start`):
    .venv/bin/python -m bench.mic_delivery [--seconds 20]

For PortAudio block sizes of 32 ms (one block per chunk) and 10 ms (gathered into 32 ms
chunks, the default), it reads the lab's microphone through the real MicSource and prints
two figures per chunk:
- the wait: how much later a chunk arrived than the quickest chunk of the run did, against
  a steady 32 ms beat fitted to the arrivals (so PortAudio's reported capture times play no
  part in it; blocks handed over in bursts wait);
- the age: arrival less the capture time PortAudio reported for the chunk's last sample.
Every decision made on the microphone (the user's onset over her voice, the end of a turn)
waits on these.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lab import PrivateLab  # noqa: E402

from bench.stats import header, summary  # noqa: E402
from voiceos.audio.mic import MicSource  # noqa: E402

RATE = 16000


async def _arrivals(block_ms: int, seconds: float) -> tuple[list[float], list[float]]:
    """(arrival time, capture time of the chunk's end) per chunk, after the first second."""
    arrived: list[float] = []
    ends: list[float] = []
    async with MicSource("", block_ms=block_ms) as mic:
        async for chunk in mic.chunks():
            arrived.append(time.monotonic())
            ends.append(chunk.timestamp_s + chunk.samples.size / RATE)
            if arrived[-1] - arrived[0] >= seconds + 1:
                break
    skip = sum(1 for t in arrived if t - arrived[0] < 1)
    return arrived[skip:], ends[skip:]


def waits_ms(arrived: list[float], chunk_s: float) -> list[float]:
    """How much later than the quickest chunk each arrived, on a steady beat fitted to
    the arrivals (the sound server's clock may run a little off the monotonic one)."""
    beat = np.arange(len(arrived)) * chunk_s
    late = np.asarray(arrived) - beat
    slope, offset = np.polyfit(beat, late, 1)
    left = late - (slope * beat + offset)
    return list((left - left.min()) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    rows = []
    with PrivateLab() as lab:
        os.environ.update(lab.env)  # before PortAudio starts: the private devices
        for block_ms in (32, 10):
            arrived, ends = asyncio.run(_arrivals(block_ms, args.seconds))
            ages = [(a - e) * 1000 for a, e in zip(arrived, ends, strict=True)]
            label = f"{block_ms} ms PortAudio blocks"
            rows.append(
                summary(f"{label}: wait beyond the quickest chunk", waits_ms(arrived, 0.032))
            )
            rows.append(summary(f"{label}: arrival less reported capture end", ages))
    print(header())
    print("\n".join(rows))


if __name__ == "__main__":
    main()
