"""How late her echo may come for each canceller to find it, and what the echo stage's
moved reference gives back beyond that (no devices).

Run:
    .venv/bin/python -m bench.echo_reach

Real recorded speech through a dry echo path at -6 dB, delayed 0-1000 ms behind the
reference the canceller is handed. First each backend alone (ERLE over the second half,
once it has settled); then the whole echo stage with the delay tracker, which moves the
canceller's reference where her echo comes once the delay is beyond `reach_samples`,
against the same stage handing the reference as the clocks place it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from echo_paths import EchoPath, mic_signal, run_stage  # noqa: E402
from speech_data import clip  # noqa: E402

from voiceos.audio.delay import EchoDelayTracker  # noqa: E402
from voiceos.audio.echo import EchoError, level_db, open_canceller, open_detector  # noqa: E402
from voiceos.audio.echostage import EchoStage  # noqa: E402
from voiceos.audio.reference import ReferenceTap  # noqa: E402

RATE = 16000
SPEECH = ("LJ050-0131", "sense_and_sensibility_01_austen_64kb-0870", "another_engineer")
DELAYS_MS = (0, 100, 200, 300, 400, 500, 550, 600, 800, 1000)


def _erle(mic: np.ndarray, out: np.ndarray, start: int) -> float:
    end = min(len(mic), len(out))
    return level_db(mic[start:end]) - level_db(out[start:end])


def alone(backend: str, far: np.ndarray, mic: np.ndarray) -> float:
    """ERLE of the backend handed the reference with no delay taken off."""
    canceller = open_canceller(backend)
    n = canceller.frame_samples
    out = np.concatenate(
        [canceller.process(mic[i : i + n], far[i : i + n]) for i in range(0, len(far) - n, n)]
    )
    canceller.close()
    return _erle(mic, out, len(out) // 2)


def staged(far: np.ndarray, mic: np.ndarray, moved: bool) -> float:
    """ERLE of the echo stage (AEC3, detector, tracker) after its first 3 s."""
    tap = ReferenceTap()
    stage = EchoStage(
        open_canceller("webrtc"), tap, detector=open_detector("speex"), tracker=EchoDelayTracker()
    )
    if not moved:
        stage._canceller_reference = lambda first, reference: reference  # type: ignore[method-assign]
    return _erle(mic, run_stage(stage, tap, far, mic), 3 * RATE)


def main() -> None:
    far = np.concatenate([clip(name).samples() for name in SPEECH])
    print(f"{len(far) / RATE:.1f} s of real speech; echo at -6 dB, dry\n")
    print("| delay | AEC3 alone | speexdsp alone | stage, reference as placed | stage, moved |")
    print("|---|---|---|---|---|")
    for delay_ms in DELAYS_MS:
        mic = mic_signal(far, EchoPath(f"{delay_ms} ms", delay_ms, -6, 0))
        row = [f"{delay_ms} ms"]
        for backend in ("webrtc", "speex"):
            try:
                row.append(f"{alone(backend, far, mic):.1f} dB")
            except EchoError as exc:
                row.append(f"({exc})")
        row += [f"{staged(far, mic, moved):.1f} dB" for moved in (False, True)]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
