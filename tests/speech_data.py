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


def non_speech(seconds: float = 3.0) -> dict[str, npt.NDArray[np.int16]]:
    """Sounds that must never count as speech, as 16 kHz int16."""
    rng = np.random.default_rng(5)
    t = np.arange(int(16000 * seconds)) / 16000
    clicks = np.zeros(t.size)
    clicks[::4000] = 30000  # a sharp click every 250 ms
    clicks[1::4000] = -30000
    sounds = {
        "silence": np.zeros(t.size),
        "room noise": rng.normal(0, 100, t.size),
        "white noise": rng.normal(0, 3000, t.size),
        "loud white noise": rng.normal(0, 10000, t.size),
        "440 Hz tone": 16000 * np.sin(2 * np.pi * 440 * t),
        "clicks": clicks,
    }
    return {name: np.clip(s, -32768, 32767).astype(np.int16) for name, s in sounds.items()}


WORD_CUTS = {
    "kws_right_left_up": (("right", 0.0, 1.1), ("left", 1.1, 2.0), ("up", 2.0, 3.0)),
    "kws_yes_no_go_stop": (("yes", 0.0, 0.75), ("no", 0.75, 1.9), ("go", 1.9, 3.04)),
}
"""Single words cut from the recorded keyword sequences, at the silences between them
(measured once by energy); "stop" is cut below, to its end."""


@cache
def word_cuts() -> dict[str, npt.NDArray[np.int16]]:
    """Real recorded single words cut from the keyword clips, by word."""
    cuts = {
        word: clip(name).samples()[int(start * 16000) : int(end * 16000)]
        for name, parts in WORD_CUTS.items()
        for word, start, end in parts
    }
    cuts["stop"] = clip("kws_yes_no_go_stop").samples()[int(3.04 * 16000) :]
    return cuts


SAID_WORDS = {
    "yes": ("kws_yes_no_go_stop", 0.32, 0.77),
    "no": ("kws_yes_no_go_stop", 1.05, 1.41),
    "stop": ("kws_yes_no_go_stop", 3.14, 3.68),
    "right": ("kws_right_left_up", 0.34, 0.83),
}
"""Where each word is heard in its keyword clip (seconds, by energy)."""


def said_word(word: str) -> npt.NDArray[np.int16]:
    """A real recorded word as someone says it over her: the word with 0.12 s before it
    and 0.15 s after (`word_cuts` keep the keyword clips' long silences)."""
    name, start_s, end_s = SAID_WORDS[word]
    return clip(name).samples()[int(max(0.0, start_s - 0.12) * 16000) : int((end_s + 0.15) * 16000)]


def single_words() -> dict[str, npt.NDArray[np.int16]]:
    """Every real one-word recording: the corpus's keyword clips and the cuts, labelled
    "word (source)"; the word is the label's first part."""
    words = {
        f"{c.transcript} ({c.name})": c.samples()
        for c in clips()
        if not c.is_sentence and len(c.transcript.split()) == 1
    }
    words.update({f"{w} (cut)": pcm for w, pcm in word_cuts().items()})
    return words
