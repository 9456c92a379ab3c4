"""Short words said over her: whether and how soon they hold her, and what the endpointer
is given from the hold, with and without the fits of her echo path (at the hold, and
while she plays: voiceos/audio/hindsight.py). No devices.

Run:
    nice -n 10 .venv/bin/python -m bench.echo_hindsight [--recorded REC.npz]

Her reply is real recorded speech. Each real word cut from the corpus's keyword clips is
said over her, 10 dB quieter than recorded, at several onsets. The real stage (AEC3, the
speexdsp detector, the delay tracker) and Interrupter run chunk by chunk, as voiceos
builds them; at the first hold the bench takes the onset chunks, then what `heard` gives
of each chunk for 0.8 s, and transcribes that with the bundled tiny.en. A word counts as
heard when the transcript's first word is the word said.

- Synthetic (default): the lab-like path of tests/echo_paths.py with her echo's delay
  drifting by 40 ppm (the lab's loopback) and by 100 ppm, and the reverberant hard path.
  The player falls silent 50 ms after the hold, as it does live (a first pass finds it).
- Holds on her echo alone (stutters) over the whole recording, with `--recorded`, and
  how long after each word's onset it held her (its first sample above 1000).
- `--recorded`: the lab's real echo as the stage saw it (bench/echo_record.py), its delay
  moved by the voiceos clocks. A recording cannot be paused: her echo goes on over the
  rest of the word, and the fit must follow it, which is harder than live.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from echo_paths import HARD, LAB_LIKE, T0, barge_in_rig, drifting, run_stage  # noqa: E402
from speech_data import clip, word_cuts  # noqa: E402

from voiceos.stt.whisper import WhisperTranscriber  # noqa: E402
from voiceos.types import AudioChunk  # noqa: E402

RATE = 16000
WORDS = ("stop", "no", "go", "yes", "right", "left", "up")
GAIN_DB = -10.0
AFTER_S = 0.8
"""How long after the hold the endpointer's input is kept."""
LEAD_S = 6.0
"""Of a recording, this much before each word is run (the canceller and tracker learn)."""

Mic = Callable[[np.ndarray], np.ndarray]
"""The microphone for what the player played."""


def holds_on_her_echo(far: np.ndarray, mic: np.ndarray, look_back: bool) -> int:
    """Holds over a stretch of her echo alone (each is a stutter in her reply)."""
    tap, stage, interrupter = barge_in_rig(look_back)
    holds = 0

    def after() -> None:
        nonlocal holds
        holds += interrupter.on_chunk(True)  # True when she has just been held

    run_stage(stage, tap, far, mic, after=after)
    return holds


def heard_from_hold(
    far: np.ndarray, mic: np.ndarray, look_back: bool
) -> tuple[float | None, np.ndarray, bool]:
    """The first hold's capture time, what the endpointer got from it, and whether a fit
    of her echo path was used."""
    tap, stage, interrupter = barge_in_rig(look_back)
    outputs: list[AudioChunk | None] = []
    heard: list[np.ndarray] = []
    hold: list[float] = []
    fitted: list[bool] = []

    def after() -> None:
        frame = stage.last
        if interrupter.on_chunk(True) and not hold and frame is not None:
            hold.append(frame.captured_s)
            fitted.append(stage.hindsight() is not None)
            heard.extend(c.samples for c in interrupter.onset)
        elif hold and frame is not None and frame.captured_s < hold[0] + AFTER_S:
            chunk = outputs[-1]
            if chunk is not None:
                heard.append(interrupter.heard(chunk).samples)

    run_stage(stage, tap, far, mic, after=after, outputs=outputs)
    if not hold:
        return None, np.zeros(0, dtype=np.int16), False
    return hold[0] - T0, np.concatenate(heard), fitted[0]


def first_word(text: str) -> str:
    words = "".join(c if c.isalpha() or c == " " else " " for c in text.lower()).split()
    return words[0] if words else ""


class Tally:
    """Words heard with the fit and without, and how often the fit was there to use."""

    def __init__(self) -> None:
        self.heard = {True: 0, False: 0}
        self.holds = {True: 0, False: 0}
        self.delays: dict[bool, list[float]] = {True: [], False: []}
        self.fits = self.said = 0

    def report(self, name: str) -> str:
        def median_ms(delays: list[float]) -> str:
            return f"{statistics.median(delays) * 1000:.0f} ms" if delays else "-"

        return (
            f"{name}: with the fits, {self.holds[True]}/{self.said} words held (onset to "
            f"hold p50 {median_ms(self.delays[True])}), {self.heard[True]} heard (the fit "
            f"at the hold good at {self.fits}); without, {self.holds[False]} held "
            f"(p50 {median_ms(self.delays[False])}), {self.heard[False]} heard"
        )


def run(
    far: np.ndarray,
    mic_of: Mic,
    onsets: list[float],
    pause: bool,
    stt: WhisperTranscriber,
    tally: Tally,
) -> None:
    cuts = word_cuts()
    for word in WORDS:
        said = np.rint(cuts[word] * 10 ** (GAIN_DB / 20))
        for at_s in onsets:
            at = int(at_s * RATE)

            def with_word(played: np.ndarray, at: int = at, said: np.ndarray = said) -> np.ndarray:
                mic = mic_of(played).astype(np.float64)
                mic[at : at + len(said)] += said
                return np.clip(np.rint(mic), -32768, 32767).astype(np.int16)

            line = []
            for look_back in (True, False):
                played = far
                hold_s, _, _ = heard_from_hold(far, with_word(far), look_back)
                if hold_s is not None and pause:
                    played = far.copy()
                    played[int((hold_s + 0.05) * RATE) :] = 0
                hold_s, audio, fitted = heard_from_hold(played, with_word(played), look_back)
                text = stt.transcribe(audio, RATE).text if len(audio) else "(no hold)"
                tally.heard[look_back] += first_word(text) == word
                tally.holds[look_back] += hold_s is not None
                onset_s = at_s + float(np.flatnonzero(np.abs(said) > 1000)[0]) / RATE
                if hold_s is not None and hold_s >= onset_s - 0.05:
                    tally.delays[look_back].append(hold_s - onset_s)
                if look_back:
                    tally.said += 1
                    tally.fits += fitted
                line.append(f"{'fit' if look_back else 'old'} {text!r}")
            print(f"  {word:5s} at {at_s:4.1f} s: " + " | ".join(line), flush=True)


def _recorded(mic: np.ndarray) -> Mic:
    return lambda _: mic


def _drifting(ppm: float) -> Mic:
    return lambda played: drifting(LAB_LIKE.apply(played), ppm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recorded", type=Path, help="a recording from bench/echo_record.py")
    args = parser.parse_args()
    stt = WhisperTranscriber()
    stt.start()
    if args.recorded is not None:
        data = np.load(args.recorded)
        reference, mic = data["reference"], data["mic"]
        seconds = len(mic) / RATE
        tally = Tally()
        for at_s in np.arange(LEAD_S, seconds - 2.0, 3.7):
            print(f" {at_s:.1f} s into the recording:")
            start, end = int((at_s - LEAD_S) * RATE), int((at_s + 2.0) * RATE)
            run(reference[start:end], _recorded(mic[start:end]), [LEAD_S], False, stt, tally)
        alone = [holds_on_her_echo(reference, mic, fits) for fits in (True, False)]
        minutes = len(mic) / RATE / 60
        print(tally.report(f"recorded lab echo ({args.recorded.name})"))
        print(
            f"holds on her echo alone over {minutes:.1f} min: {alone[0]} with the fits, "
            f"{alone[1]} without"
        )
        return
    far = np.concatenate(
        [clip("LJ050-0131").samples(), clip("sense_and_sensibility_01_austen_64kb-0870").samples()]
    )[: 13 * RATE]
    onsets = [5.0, 7.3, 9.0, 11.6]
    reports = []
    for ppm in (40.0, 100.0):
        tally = Tally()
        run(far, _drifting(ppm), onsets, True, stt, tally)
        reports.append(tally.report(f"lab-like, her echo's delay drifting {ppm:.0f} ppm"))
    tally = Tally()
    run(far, HARD.apply, onsets, True, stt, tally)
    reports.append(tally.report(HARD.name))
    print("\n".join(reports))


if __name__ == "__main__":
    main()
