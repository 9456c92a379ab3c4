"""The real speech clips in tests/data/speech, with their reference transcripts. Not tests."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceos.audio.pcm import read_wav

SPEECH_DIR = Path(__file__).resolve().parent / "data" / "speech"
SENTENCE_MIN_S = 1.05
"""Clips longer than this are phrases or sentences; the rest are single keywords."""


@dataclass(frozen=True)
class Clip:
    path: Path
    transcript: str
    duration_s: float

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def is_sentence(self) -> bool:
        return self.duration_s > SENTENCE_MIN_S

    def samples(self) -> npt.NDArray[np.int16]:
        """16 kHz mono int16 (every clip in the corpus is stored that way)."""
        pcm, rate = read_wav(self.path)
        assert rate == 16000, f"{self.path} is {rate} Hz"
        return pcm


@cache
def clips() -> tuple[Clip, ...]:
    with (SPEECH_DIR / "manifest.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return tuple(
        Clip(SPEECH_DIR / row["file"], row["transcript"], float(row["duration_s"])) for row in rows
    )


def clip(name: str) -> Clip:
    """A clip by its file stem, e.g. "another_engineer"."""
    for item in clips():
        if item.name == name:
            return item
    raise KeyError(name)
