"""Backchannel or interruption, by the words alone: the lab bench's clips, transcribed clean.

Run:
    nice -n 5 .venv/bin/python -m bench.backchannel_words

Each clip of `bench.echo_bargein` (the real words and sentences, and the espeak-ng words in
several voices) is transcribed by the bundled tiny.en as voiceos transcribes an utterance
said over her, and judged by `BargeInPolicy.transcript` as a confirmed short utterance is:
with the transcriber's doubt and each of its decodes (as shipped), and on the chosen words
alone (as before session 21). No echo and no devices: this isolates what the words decide;
the live bench (`bench.echo_bargein`) measures the whole path.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench.echo_bargein import _clips  # noqa: E402
from voiceos.listen.bargein import BargeInPolicy, Phase, Verdict  # noqa: E402
from voiceos.stt.whisper import WhisperTranscriber  # noqa: E402
from voiceos.types import Transcript  # noqa: E402

RATE = 16000


def verdict(heard: Transcript, evidence: bool) -> Verdict:
    """What the policy makes of a confirmed short utterance heard as `heard`; without
    `evidence`, of its chosen words alone."""
    policy = BargeInPolicy()
    policy.phase = Phase.DECIDING  # confirmed: the user went on with her silent
    if evidence:
        return policy.transcript(heard.text, readings=heard.readings, sure=heard.sure)[0]
    return policy.transcript(heard.text)[0]


def main() -> None:
    stops, backs = _clips(20, 21)
    stt = WhisperTranscriber()
    stt.start()
    wrong = {True: [0, 0], False: [0, 0]}
    """evidence -> [interruptions let pass, backchannels that stopped her]"""
    for kind, clips, wanted in (
        ("stop", stops, Verdict.INTERRUPT),
        ("back", backs, Verdict.RESUME),
    ):
        for label, samples in clips:
            heard = stt.transcribe(samples, RATE)
            verdicts = {evidence: verdict(heard, evidence) for evidence in (True, False)}
            for evidence, got in verdicts.items():
                wrong[evidence][kind == "back"] += got is not wanted
            print(
                f"  {kind} {label:40s} {heard.text!r:24s} sure={heard.sure!s:5s} "
                f"decodes={list(heard.readings)} -> {verdicts[True].value}"
                f" (words alone: {verdicts[False].value})",
                flush=True,
            )
    for evidence, name in ((True, "as shipped"), (False, "chosen words alone")):
        missed, false_stops = wrong[evidence]
        print(
            f"{name}: {missed} of {len(stops)} interruptions let pass, "
            f"{false_stops} of {len(backs)} backchannels stopped her"
        )


if __name__ == "__main__":
    main()
