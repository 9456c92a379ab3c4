"""Record the lab's echo path as the echo stage sees it, for offline study.

Run (with the lab up: `bash scripts/audiolab.sh start`):
    .venv/bin/python -m bench.echo_record OUT.npz [--seconds 28]

Then it prints the echo's delay as the stage saw it (mic against aligned reference, per
half second where she plays): on the lab the loopback itself holds its delay within
0.3 ms, so a delay that moves is the voiceos clocks' doing.

Real recorded speech is played through the real player, looped back into the mic
(`PrivateLab.echo_path(30)`) and read by the real MicSource and EchoStage. What the
stage's double-talk detector is handed, frame by frame (the microphone and the reference
it aligned with it), is saved as `mic` and `reference` (16 kHz int16), so that
`python -m bench.echo_dtd --recorded OUT.npz` can mix users into a real echo path: one
whose delay the voiceos clocks see move, unlike the synthetic ones. The stage runs
without its delay tracker, so `reference` is aligned by the clocks alone, as the tracker
receives it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from echo_paths import Handed  # noqa: E402
from lab import PrivateLab  # noqa: E402
from speech_data import clip  # noqa: E402

from voiceos.audio.echo import level_db, open_canceller, open_detector  # noqa: E402
from voiceos.audio.echostage import EchoStage  # noqa: E402
from voiceos.audio.matching import sliding_match  # noqa: E402
from voiceos.audio.mic import MicSource  # noqa: E402
from voiceos.audio.pcm import resample  # noqa: E402
from voiceos.audio.player import Player  # noqa: E402
from voiceos.audio.reference import ReferenceTap  # noqa: E402

RATE = 16000
PLAYER_RATE = 22050
FAR = ("another_engineer", "testing_routine", "8455-210777-0068", "2830-3980-0043")
GAP_S = 0.5
"""Between sentences: the player goes idle and restarts its stream, as between replies."""


async def _play_and_listen(seconds: float, recording: Handed) -> None:
    tap = ReferenceTap()
    player = Player("", rate_hz=PLAYER_RATE)
    player.tap = tap
    stage = EchoStage(open_canceller("auto"), tap, detector=recording)
    sentences = [resample(clip(n).samples(), RATE, PLAYER_RATE).astype(np.int16) for n in FAR]
    player.start()
    try:
        async with MicSource("") as mic:
            reader = asyncio.create_task(_drain(stage, mic))
            played = 0.0
            while played < seconds:
                for samples in sentences:
                    await player.play(samples, PLAYER_RATE)
                    await asyncio.sleep(GAP_S)
                    played += len(samples) / PLAYER_RATE + GAP_S
                    if played >= seconds:
                        break
            reader.cancel()
    finally:
        player.close()


async def _drain(stage: EchoStage, mic: MicSource) -> None:
    async for _ in stage.chunks(mic.chunks()):
        pass


def lag_track(mic: np.ndarray, reference: np.ndarray, max_lag: int = 4800) -> list[str]:
    """The echo's delay behind the aligned reference, per half second where she plays."""
    window = RATE // 2
    lines = []
    for start in range(max_lag, len(mic) - window, window):
        if level_db(reference[start : start + window]) < -40:
            continue
        score = sliding_match(
            mic[start : start + window], reference[start - max_lag : start + window]
        )
        k = int(np.argmax(np.abs(score)))
        lines.append(f"{start / RATE:5.1f} s: {(max_lag - k) * 1000 / RATE:6.2f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=28.0)
    args = parser.parse_args()
    detector = open_detector("speex")
    if detector is None:
        raise SystemExit("libspeexdsp is needed")
    recording = Handed(detector)
    with PrivateLab() as lab:
        lab.echo_path(30)
        os.environ.update(lab.env)  # before PortAudio starts: the private devices
        asyncio.run(_play_and_listen(args.seconds, recording))
    mic = np.concatenate(recording.mic)
    reference = np.concatenate(recording.reference)
    np.savez_compressed(args.out, mic=mic, reference=reference)
    print(f"saved {len(mic) / RATE:.1f} s of microphone and reference to {args.out}")
    print("echo delay behind the aligned reference:")
    print("\n".join(lag_track(mic, reference)))


if __name__ == "__main__":
    main()
