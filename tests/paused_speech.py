"""Real recorded sentences with pauses put in mid-sentence. A test helper, not tests.

Each sentence is cut at word boundaries that Whisper's word timestamps give, after a
word that does not end a thought ("toward the ... door"), and 0.6–1.2 s of the
recording's own room tone is put back in the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
from speech_data import clip

RATE = 16000
After = tuple[str, int]
"""A place to pause: after the n-th (from 1) occurrence of a word in the sentence."""

SENTENCES: dict[str, tuple[tuple[After, ...], ...]] = {
    # clip name -> its paused versions, each a list of the words to pause after; the same
    # place twice gets two different pause lengths
    "sense_and_sensibility_01_austen_64kb-0890": ((("to", 2),), (("to", 2),)),
    "sense_and_sensibility_01_austen_64kb-0920": ((("than", 1),), (("than", 1),), (("than", 1),)),
    "testing_routine": ((("of", 1),), (("your", 1),), (("of", 1), ("your", 1))),
    "another_engineer": (
        (("the", 1),),
        (("to", 1),),
        (("the", 1), ("to", 1)),
        (("the", 1),),
        (("to", 1),),
    ),
    "cards_005": (
        (("of", 1),),
        (("of", 2),),
        (("of", 3),),
        (("of", 1), ("of", 2)),
        (("of", 2), ("of", 3)),
        (("of", 1), ("of", 3)),
        (("of", 1), ("of", 2), ("of", 3)),
    ),
}
"""20 paused sentences by three speakers (a LibriVox reader, the card caller of the
pocketsphinx tests, an Arm kit voice). They
pause after words that do not end a thought ("the", "of", "your", "and"), as people do
mid-sentence. Clips with long natural pauses of their own (LJ050-0131, 0870) are left
out: their readers stop at clause ends that sound finished. So are places where tiny.en
cannot hear the cut part end on its word ("He was not an" comes back "He was not"), as
the test would then measure the cut, not voiceos."""


@dataclass(frozen=True)
class Paused:
    name: str
    transcript: str
    samples: npt.NDArray[np.int16]
    pauses: tuple[tuple[float, float], ...]
    """(start_s, length_s) of each inserted pause in `samples`."""
    halves: tuple[str, ...]
    """The reference words of each part, between the pauses."""


def room_tone(speech: npt.NDArray[np.int16], seconds: float, seed: int) -> npt.NDArray[np.int16]:
    """`seconds` of the recording's quietest 100 ms, tiled from random offsets with fades."""
    frames = speech[: speech.size // 160 * 160].astype(np.float64).reshape(-1, 160)
    rms = np.sqrt((frames**2).mean(axis=1))
    level = np.convolve(rms, np.ones(10), "valid")
    start = int(np.argmin(level)) * 160
    tone = speech[start : start + 1600].astype(np.float64)
    rng = np.random.default_rng(seed)
    need = int(seconds * RATE)
    fade = np.hanning(2 * 160)
    out = np.zeros(need + 1600)
    pos = 0
    while pos < need:
        piece = np.roll(tone, int(rng.integers(0, tone.size)))
        piece[:160] *= fade[:160]
        piece[-160:] *= fade[160:]
        out[pos : pos + piece.size] += piece
        pos += piece.size - 160
    return np.clip(out[:need], -32768, 32767).astype(np.int16)


@cache
def _model() -> object:
    from faster_whisper import WhisperModel

    from voiceos.stt.whisper import bundled_model_path

    return WhisperModel(str(bundled_model_path()), device="cpu", compute_type="int8")


def _transcribe(audio: npt.NDArray[np.int16], **options: object) -> list[object]:
    model = _model()
    samples = audio.astype(np.float32) / 32768
    segments, _ = model.transcribe(samples, beam_size=1, language="en", **options)  # type: ignore[attr-defined]
    return list(segments)


@cache
def _words(name: str) -> tuple[tuple[str, float, float], ...]:
    segments = _transcribe(clip(name).samples(), word_timestamps=True)
    return tuple((w.word.strip(), w.start, w.end) for s in segments for w in s.words or [])  # type: ignore[attr-defined]


def _last_word(audio: npt.NDArray[np.int16]) -> str:
    text = " ".join(s.text for s in _transcribe(audio)).split()  # type: ignore[attr-defined]
    return text[-1].lower().strip(".,?!") if text else ""


def _cut_points(
    words: tuple[tuple[str, float, float], ...], places: tuple[After, ...]
) -> list[int]:
    """Indices of the words to pause after."""
    plain = [w.lower().strip(".,?!") for w, _, _ in words]
    cuts = []
    for word, nth in places:
        found = [i for i, w in enumerate(plain) if w == word]
        assert len(found) >= nth, f"{word!r} #{nth} not heard in {plain}"
        cuts.append(found[nth - 1])
    return sorted(cuts)


def _gap(speech: npt.NDArray[np.int16], word: str, lo_s: float, hi_s: float) -> int:
    """A quiet point near the boundary after `word` that really falls after it.

    Word timestamps are approximate: the quiet 50 ms stretches within 250 ms are tried,
    quietest first, until the speech before one ends on `word` when transcribed (else the
    quietest is taken).
    """
    middle = int((lo_s + hi_s) / 2 * RATE)
    lo, hi = max(0, middle - 4000), min(speech.size, middle + 4000)
    frames = speech[lo : lo + (hi - lo) // 160 * 160].astype(np.float64).reshape(-1, 160)
    level = np.convolve((frames**2).mean(axis=1), np.ones(5), "same")
    tried: list[int] = []
    for index in np.argsort(level):
        if any(abs(int(index) - t) < 4 for t in tried):
            continue
        tried.append(int(index))
        at = lo + int(index) * 160 + 80
        if _last_word(speech[:at]) == word:
            return at
        if len(tried) >= 14:
            break
    return lo + tried[0] * 160 + 80  # none heard cleanly: the quietest place


def build(name: str, places: tuple[After, ...], variant: int, seed: int) -> Paused:
    speech = clip(name).samples()
    words = _words(name)
    cuts = _cut_points(words, places)
    rng = np.random.default_rng(seed)
    parts, spans, halves = [], [], []
    previous, previous_word, position = 0, 0, 0
    for index in cuts:
        word = words[index][0].lower().strip(".,?!")
        at = _gap(speech, word, words[index][2], words[index + 1][1])
        parts.append(speech[previous:at])
        position += at - previous
        gap = float(rng.uniform(0.6, 1.2))
        parts.append(room_tone(speech, gap, seed + index))
        spans.append((position / RATE, gap))
        position += int(gap * RATE)
        halves.append(" ".join(w for w, _, _ in words[previous_word : index + 1]))
        previous, previous_word = at, index + 1
    parts.append(speech[previous:])
    halves.append(" ".join(w for w, _, _ in words[previous_word:]))
    label = f"{name}#{variant}"
    return Paused(label, clip(name).transcript, np.concatenate(parts), tuple(spans), tuple(halves))


@cache
def paused_clips() -> tuple[Paused, ...]:
    """The paused versions of SENTENCES, each with its own pause lengths (0.6-1.2 s)."""
    out: list[Paused] = []
    for number, (name, versions) in enumerate(SENTENCES.items()):
        for variant, places in enumerate(versions):
            out.append(build(name, places, variant, number * 10 + variant))
    return tuple(out)
