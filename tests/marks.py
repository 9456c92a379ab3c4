"""Marks in recorded lab audio: where a fed clip landed, where sound starts and stops.

Stop latency on the lab is read on two recordings: the user's onset on the microphone's,
where the clip landed (`locate`), and her falling silent on the speaker's, which holds her
voice alone. The two are lined up by finding a stretch of her voice from the speaker in
the microphone's recording, where it arrives as her echo (bench/echo_bargein.py).
"""

from __future__ import annotations

import numpy as np

from voiceos.audio.matching import sliding_match

RATE = 16000


def onset(samples: np.ndarray, over_floor_db: float = 12.0, level_db: float = -40.0) -> int:
    """Where speech begins: the first 10 ms whose level is `over_floor_db` above the clip's
    noise floor (its quietest tenth) and at least `level_db` dBFS; 0 when none is. A
    recording's hiss is not its onset: one corpus clip has 380 ms of it at -38 dBFS,
    peaking over -30 dBFS, before its first word."""
    size = RATE // 100
    frames = samples[: len(samples) // size * size].astype(np.float64).reshape(-1, size)
    if not frames.size:
        return 0
    power = np.mean(frames**2, axis=1) / 32768.0**2
    floor = np.percentile(power, 10)
    loud = np.flatnonzero(power >= max(floor * 10 ** (over_floor_db / 10), 10 ** (level_db / 10)))
    return int(loud[0]) * size if loud.size else 0


def silent_from(samples: np.ndarray, start: int, quiet_ms: int = 400, level: int = 200) -> int:
    """First sample at or after `start` that begins `quiet_ms` with no sample above `level`;
    -1 when the sound never stops that long."""
    need = RATE * quiet_ms // 1000
    loud = np.flatnonzero(np.abs(samples[start:].astype(np.int32)) > level) + start
    edges = np.concatenate([[start], loud, [len(samples)]])
    gaps = np.flatnonzero(np.diff(edges) >= need)
    return int(edges[gaps[0]]) if gaps.size else -1


def locate(clip: np.ndarray, recording: np.ndarray, start: int = 0) -> tuple[int, float]:
    """Where `clip` lies in `recording` at or after `start`: (first sample, match 0-1).

    The match is the normalised correlation at that place; a clip mixed with other sound
    still matches well above 0.5 when it is the louder part.
    """
    score = sliding_match(clip, recording[start:], min_energy=0.0)
    if not score.size:
        return -1, 0.0
    best = int(np.argmax(score))
    return start + best, float(score[best])
