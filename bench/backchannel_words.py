"""Backchannel or interruption, by the words alone: the lab bench's clips, transcribed clean.

Run:
    nice -n 5 .venv/bin/python -m bench.backchannel_words

Each clip of `bench.echo_bargein` (the real words and sentences, and the espeak-ng words in
several voices) is transcribed by the bundled tiny.en as voiceos transcribes an utterance
said over her, and judged by `BargeInPolicy.transcript` as a confirmed short utterance is:
with the transcriber's doubt and each of its decodes (as shipped), and on the chosen words
alone (as before session 21). No echo and no devices: this isolates what the words decide;
the live bench (`bench.echo_bargein`) measures the whole path.

Each clip is transcribed twice: expecting the requests to stop (`STOP_PHRASES`, as voiceos
does over her since session 22), and expecting backchannels too (`BACKCHANNEL_PHRASES`, an
idea measured here, not shipped).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench.echo_bargein import _clips  # noqa: E402
from voiceos.listen.bargein import STOP_PHRASES, BargeInPolicy, Phase, Verdict  # noqa: E402
from voiceos.stt.expected import LIKELY_ABOVE  # noqa: E402
from voiceos.stt.whisper import WhisperTranscriber  # noqa: E402
from voiceos.types import Transcript  # noqa: E402

RATE = 16000
BACKCHANNEL_PHRASES = ("Mm-hmm.", "Yeah.", "Right.", "Okay.")
"""Backchannels to score as expected phrases besides the requests to stop (not shipped)."""


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
    rules = {
        "as shipped": STOP_PHRASES,
        "backchannels expected too": {
            **STOP_PHRASES,
            **dict.fromkeys(BACKCHANNEL_PHRASES, LIKELY_ABOVE),
        },
    }
    wrong = {rule: [0, 0] for rule in (*rules, "chosen words alone")}
    """rule -> [interruptions let pass, backchannels that stopped her]"""
    for kind, clips, wanted in (
        ("stop", stops, Verdict.INTERRUPT),
        ("back", backs, Verdict.RESUME),
    ):
        for label, samples in clips:
            got = {}
            for rule, expect in rules.items():
                heard = stt.transcribe(samples, RATE, expect=expect)
                got[rule] = heard, verdict(heard, evidence=True)
            shipped = got["as shipped"][0]
            got["chosen words alone"] = shipped, verdict(shipped, evidence=False)
            for rule, (_, judged) in got.items():
                wrong[rule][kind == "back"] += judged is not wanted
            (heard, judged), (other, other_judged) = (
                got["as shipped"],
                got["backchannels expected too"],
            )
            print(
                f"  {kind} {label:40s} {heard.text!r:24s} sure={heard.sure!s:5s} "
                f"decodes={list(heard.readings)} -> {judged.value}"
                f" (words alone: {got['chosen words alone'][1].value};"
                f" backchannels expected: {other.text!r} -> {other_judged.value})",
                flush=True,
            )
    for rule, (missed, false_stops) in wrong.items():
        print(
            f"{rule}: {missed} of {len(stops)} interruptions let pass, "
            f"{false_stops} of {len(backs)} backchannels stopped her"
        )


if __name__ == "__main__":
    main()
