"""Echo cancellers compared on real recorded speech through synthetic echo paths (no devices).

Run:
    .venv/bin/python -m bench.echo_cancel

For each backend and echo path (tests/echo_paths.py): ERLE on echo alone (after the first
3 s, when the filters have settled), ERLE in double talk, the near-end word error rate of
Whisper tiny.en on the user's sentences spoken over her echo, and CPU per second of audio.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from echo_paths import PATHS, EchoPath, mic_signal, run_stage  # noqa: E402
from speech_data import clip  # noqa: E402

from voiceos.audio.echo import EchoError, erle_db, open_canceller  # noqa: E402
from voiceos.audio.echostage import EchoStage  # noqa: E402
from voiceos.audio.reference import ReferenceTap  # noqa: E402
from voiceos.stt.wer import word_errors  # noqa: E402
from voiceos.stt.whisper import WhisperTranscriber  # noqa: E402

RATE = 16000
SETTLE = 3 * RATE
FAR = ("LJ050-0131", "sense_and_sensibility_01_austen_64kb-0870", "another_engineer")
NEAR = (
    "testing_routine",
    "2830-3980-0043",
    "8455-210777-0068",
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0930",
    "goforward",
)


def _run(backend: str, far: np.ndarray, mic: np.ndarray) -> tuple[np.ndarray, float]:
    tap = ReferenceTap()
    stage = EchoStage(open_canceller(backend), tap)
    started = time.process_time()
    out = run_stage(stage, tap, far, mic)
    return out, (time.process_time() - started) / (len(mic) / RATE)


def near_wer(
    backend: str | None, path: EchoPath, far: np.ndarray, whisper: WhisperTranscriber
) -> tuple[float, float]:
    """Word error rate on near sentences over the echo, and the double-talk ERLE."""
    errors = words = 0
    erles = []
    for i, name in enumerate(NEAR):
        near = clip(name).samples()
        at_s = 4.0 + i * 0.7
        mic = mic_signal(far, path, near, at_s)
        if backend is None:
            out = mic
        else:
            out, _ = _run(backend, far, mic)
            erles.append(erle_db(mic[SETTLE:], out[SETTLE:], far[SETTLE : len(out)]))
        start = int(at_s * RATE)
        segment = out[max(0, start - 4000) : start + len(near) + 4000]
        text = whisper.transcribe(segment, RATE).text
        e, n = word_errors(clip(name).transcript, text)
        errors, words = errors + e, words + n
    return errors / words, float(np.median(erles)) if erles else 0.0


def main() -> None:
    far = np.concatenate([clip(n).samples() for n in FAR])
    whisper = WhisperTranscriber()
    whisper.start()
    print(f"far end: {len(far) / RATE:.1f} s of real speech; near end: {len(NEAR)} sentences")
    print("| backend | echo path | ERLE echo only | ERLE double talk | near WER | CPU per s |")
    print("|---|---|---|---|---|---|")
    for path in PATHS:
        wer, _ = near_wer(None, path, far, whisper)
        print(f"| none | {path.name} | | | {wer:.0%} | |")
        for backend in ("speex", "webrtc"):
            try:
                mic = mic_signal(far, path)
                out, cpu = _run(backend, far, mic)
            except EchoError as exc:
                print(f"| {backend} | {path.name} | unavailable: {exc} |")
                continue
            erle = erle_db(mic[SETTLE:], out[SETTLE:], far[SETTLE : len(out)])
            wer, dt_erle = near_wer(backend, path, far, whisper)
            print(
                f"| {backend} | {path.name} | {erle:.1f} dB | {dt_erle:.1f} dB | {wer:.0%} "
                f"| {cpu * 1000:.1f} ms |"
            )


if __name__ == "__main__":
    main()
