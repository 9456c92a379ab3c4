"""Barge-in's last step: from `Player.hold(True)` to her voice gone from the speaker.

Run with the virtual devices up (scripts/audiolab.sh start):
    .venv/bin/python -m bench.hold_silence [--trials 12] [--keep-queued]

A 440 Hz tone plays through the real Player on the lab's speaker; at a point that moves
by 50 ms from trial to trial, the player is held. Recorded from the speaker's monitor,
the figure is the last loud sample (over 300) after the hold, counted in recorded
samples from where the recorder stood as hold() was called. A hold drops what the device
had queued (a restart of the stream); `--keep-queued` measures the player as it was
before, whose queued audio (its 30 ms buffer) played on.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lab import SpeakerRecorder  # noqa: E402

from bench.stats import summary  # noqa: E402
from voiceos.audio.player import Player  # noqa: E402

RATE = 16000
"""The recorder's rate."""
PLAY_RATE = 22050


async def trials(count: int, keep_queued: bool) -> list[float]:
    player = Player()
    if keep_queued:
        player._drop_queued = lambda: None  # type: ignore[method-assign]
    player.start()
    tone = (np.sin(np.arange(PLAY_RATE * 3) * 2 * np.pi * 440 / PLAY_RATE) * 8000).astype(np.int16)
    after_ms: list[float] = []
    try:
        with SpeakerRecorder() as rec:
            for trial in range(count):
                playing = asyncio.ensure_future(player.play(tone, PLAY_RATE))
                await asyncio.sleep(0)  # a yield: play() hands the tone over
                began = rec.wait_for_sound(rec.sample_count(), threshold=1000, timeout_s=10)
                rec.wait_for_samples(began + RATE // 2 + trial * RATE // 20, timeout_s=10)
                at = rec.sample_count()
                player.hold(True)
                rec.wait_for_samples(at + RATE // 2, timeout_s=10)
                heard = np.abs(rec.snapshot()[at : at + RATE // 2].astype(np.int32))
                loud = np.flatnonzero(heard > 300)
                after_ms.append((int(loud[-1]) + 1 if len(loud) else 0) * 1000 / RATE)
                player.stop()
                player.hold(False)
                await playing
                rec.wait_quiet(0.3)
    finally:
        player.close()
    return after_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--keep-queued", action="store_true", help="the player as it was")
    args = parser.parse_args()
    after_ms = asyncio.run(trials(args.trials, args.keep_queued))
    label = "queued audio kept" if args.keep_queued else "queued audio dropped"
    print(summary(f"hold() → her voice gone at the speaker's monitor ({label})", after_ms))


if __name__ == "__main__":
    main()
