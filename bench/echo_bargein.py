"""Barge-in on loudspeakers, measured on the virtual devices with an acoustic echo path.

Run (with the lab up: `bash scripts/audiolab.sh start`):
    .venv/bin/python -m bench.echo_bargein [--replies 6] [--stops 20] [--backchannels 21]

Two echo paths: the lab's loopback (30 ms), and a harder one (a direct path at 60 ms plus a
reflection 150 ms later at half level). For each: self-interruptions per 10 minutes of reply
audio with cancellation (the default) and without it (`--barge-in` with `[echo] cancel =
false`, the old behaviour); then, on the lab path, stop latency (speech onset → speaker
silent), false stops on backchannels and missed stops on real interruptions.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lab import PrivateLab, SpeakerRecorder  # noqa: E402
from marks import locate, onset, silent_from  # noqa: E402
from speech_data import clip, said_word  # noqa: E402
from voiceproc import VoiceosProcess, said_stop, synthesize_clip  # noqa: E402

from bench.stats import percentile, summary  # noqa: E402

RATE = 16000
HELP = "What can you do?"
# (latency ms, gain dB) of each loopback; "half level" is half the amplitude.
PATHS: dict[str, list[tuple[int, float]]] = {
    "lab loopback 30 ms": [(30, 0.0)],
    "hard: 60 ms + reflection at 210 ms, half level": [(60, 0.0), (210, -6.0)],
}


def _env(tmp: str, lab: PrivateLab, cancel: bool) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(Path(tmp) / name.lower())
    env.update(lab.env)
    env["VOICEOS_ECHO_CANCEL"] = "true" if cancel else "false"
    return env


def _voiced_s(samples: np.ndarray, level: int = 300) -> float:
    """Seconds of 32 ms windows with sound above `level`: her reply audio."""
    n = len(samples) // 512
    windows = np.abs(samples[: n * 512].astype(np.int32)).reshape(n, 512).max(axis=1)
    return float(np.sum(windows > level)) * 512 / RATE


def _wait_listening(vo: VoiceosProcess, after: int = 0, timeout_s: float = 240) -> None:
    vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=timeout_s)


def self_interruptions(path: list[tuple[int, float]], cancel: bool, replies: int) -> str:
    with tempfile.TemporaryDirectory() as tmp, PrivateLab() as lab:
        for latency, gain_db in path:
            lab.echo_path(latency, gain_db)
        args = ["--debug"] if cancel else ["--debug", "--barge-in"]
        with lab.recorder() as rec, VoiceosProcess(args, _env(tmp, lab, cancel)) as vo:
            _wait_listening(vo)
            start = rec.sample_count()
            for _ in range(replies):
                out_before, err_before = len(vo.out), len(vo.err)
                lab.feed_mic(synthesize_clip(HELP))
                try:
                    vo.wait_for(r"^Samantha: ", after=out_before, timeout_s=120)
                    _wait_listening(vo, after=err_before, timeout_s=60)
                except AssertionError:
                    break  # it is talking to itself: count what happened
            audio = rec.snapshot()[start:]
            vo.close()
    spoken_s = _voiced_s(audio)
    stops = sum(1 for r in vo.replies()[1:] if r.endswith("[interrupted]"))
    own_turns = sum(1 for h in vo.heard() if h.lower() != HELP.lower())
    held = hold_lengths_s(vo.err)
    per10 = 600 / max(spoken_s, 1e-9)
    return (
        f"{stops} stops, {own_turns} self-transcribed turns, {len(held)} brief pauses in "
        f"{spoken_s:.0f} s of reply audio = {stops * per10:.1f} self-interruptions and "
        f"{len(held) * per10:.1f} pauses per 10 min; each {percentile(held, 50):.2f} s "
        f"(p50), {percentile(held, 90):.2f} s (p90), {sum(held):.0f} s in all"
    )


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _stamped(line: str) -> datetime | None:
    found = _STAMP.match(line)
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f") if found else None


def hold_lengths_s(err: list[str]) -> list[float]:
    """How long each hold of her reply lasted by voiceos's `--debug` log: from her voice
    stopping at the speaker to the verdict that let her go on (or stopped her), seconds."""
    lengths: list[float] = []
    held: datetime | None = None
    for line in err:
        if "held: her voice stops at the speaker" in line:
            held = _stamped(line)
        elif held is not None and ("going on" in line or "stopping the reply" in line):
            at = _stamped(line)
            if at is not None:
                lengths.append((at - held).total_seconds())
            held = None
    return lengths


def _during_replies(
    lab: PrivateLab,
    vo: VoiceosProcess,
    rec: SpeakerRecorder,
    clips: list[np.ndarray],
    per_reply: int,
    on_clip: Callable[[np.ndarray, int, int], bool],
    offsets: list[float] | None = None,
) -> None:
    """Feed `clips`, `per_reply` at a time, into replies to HELP, 2 s apart. The first of
    each reply lands 2 s after her voice began, or at the next of `offsets` (seconds, in
    turn): at 2 s her first sentence ("I can tell you the time or the date.") is ending.

    `on_clip` returns True when the clip stopped her (then it is a turn of its own, and no
    more clips go into that reply). Each round waits until every turn has been answered
    and she listens again, so the next question never lands on an answer still playing.
    """
    for round_, first in enumerate(range(0, len(clips), per_reply)):
        out_before, heard_before = len(vo.out), len(vo.heard())
        lab.feed_mic(synthesize_clip(HELP))
        vo.wait_heard(heard_before + 1, timeout_s=120)
        after_s = offsets[round_ % len(offsets)] if offsets else 2.0
        began = rec.wait_for_sound(rec.sample_count(), threshold=1000, timeout_s=120)
        at = began + int(after_s * RATE)
        turns = 1
        for samples in clips[first : first + per_reply]:
            rec.wait_for_samples(at, timeout_s=60)
            if len(vo.replies()) > len([ln for ln in vo.out[:out_before] if "Samantha" in ln]):
                break  # her reply is over: a clip now would be a turn of its own
            fed_at = rec.sample_count()
            lab.feed_mic(samples)
            if on_clip(samples, fed_at, out_before):
                turns += 1
                break
            at = rec.sample_count() + 2 * RATE
        if turns > 1:
            try:
                vo.wait_heard(heard_before + turns, timeout_s=30)
            except AssertionError:
                print("  an interruption stopped her but was not heard as words", flush=True)
        vo.wait_until(
            lambda: vo.settled(silent=said_stop), "all turns answered, back to listening", 120
        )
        # Nothing playing for a second: an answer still to come would swallow the next HELP.
        rec.wait_quiet()


LOOPBACK_MS = 30
"""The lab echo path's configured latency: her echo reaches the mic this long after the
speaker played it."""
QUICKEST_STOP_MS = 32
"""No hold comes sooner after the user's onset than one chunk of the microphone's (32 ms):
a reply falling silent sooner was ending anyway (a stop landed at its sentence's end)."""


def _clips(
    stops: int,
    backchannels: int,
    only: str = "",
    repeat: int = 1,
    offsets: list[float] | None = None,
) -> tuple[list[tuple[str, np.ndarray]], ...]:
    """Labelled interruptions (real sentences and words first) and backchannels; with
    `only`, the interruptions whose label it matches (a regular expression), each fed
    `repeat` times; with `offsets`, each label says where in her reply it lands."""
    voices = ["en-us", "en-gb", "en-us+f3", "en-029", "en-gb-x-rp", "en-us+m3", "en-gb-scotland"]
    words = ["yeah", "mm hmm", "okay", "uh huh", "right"]
    backs = [
        ("real 'yes'", said_word("yes")),
        ("real 'right'", said_word("right")),
    ]
    i = 0
    while len(backs) < backchannels:
        word, voice = words[i % len(words)], voices[i % len(voices)]
        backs.append((f"espeak {voice} '{word}'", synthesize_clip(word, voice, 160)))
        i += 1
    names = ("another_engineer", "testing_routine", "8455-210777-0068", "2830-3980-0043")
    real = [(f"real sentence {n}", clip(n).samples()) for n in names]
    real += [
        ("real 'stop'", said_word("stop")),
        ("real 'no'", said_word("no")),
    ]
    phrases = ["wait", "stop", "hold on", "no", "what time is it?"]
    i = 0
    while len(real) < stops:
        phrase, voice = phrases[i % len(phrases)], voices[i % len(voices)]
        real.append((f"espeak {voice} '{phrase}'", synthesize_clip(phrase, voice, 160)))
        i += 1
    if only:
        real = [(label, s) for label, s in real if re.search(only, label)]
    real = [(label, s.copy()) for label, s in real for _ in range(repeat)]
    if offsets:
        real = [(f"{lb} at {offsets[i % len(offsets)]:g} s", s) for i, (lb, s) in enumerate(real)]
    return real, backs


def _stop_ms(
    mic: np.ndarray, spk: np.ndarray, samples: np.ndarray, mic_at: int, spk_at: int
) -> float | None:
    """Milliseconds from the user's onset to her echo falling silent at the microphone;
    None when the clip or her voice cannot be found in the recordings.

    The onset is read on the microphone's recording, where the clip landed; the silence on
    the speaker's, which holds her voice alone. (Subtracting the clip from the microphone
    left enough of a long sentence to hide her silence until the sentence's first pause.)
    `mic_at` and `spk_at` are the two recorders' sample counts at one moment: a first
    guess at how they line up, refined on her voice."""
    at, match = locate(samples, mic, max(0, mic_at - RATE // 2))
    if match < 0.5:
        return None
    start = at + onset(samples)
    heard = max(0, start - RATE // 4 - RATE)  # 1 s of her voice before the user's
    said = heard + spk_at - mic_at - LOOPBACK_MS * RATE // 1000
    piece = spk[said : said + RATE]
    if said < 0 or not np.any(piece):
        return None
    found, match = locate(piece, mic[: start + RATE // 10], max(0, heard - RATE // 5))
    if match < 0.5:
        return None
    to_spk = said - found  # speaker sample heard at the microphone at mic sample t: t + to_spk
    quiet = silent_from(spk, start + to_spk, quiet_ms=300, level=300)
    return None if quiet == -1 else (quiet - to_spk - start) * 1000 / RATE


def _logged_ms(lines: list[str], pattern: str) -> list[float]:
    """The numbers `pattern` captures in `lines` (voiceos's `--debug` log), in ms."""
    found = (re.search(pattern, line) for line in lines)
    return [float(m.group(1)) for m in found if m]


def interruptions(
    stops: int,
    backchannels: int,
    log: Path | None = None,
    only: str = "",
    repeat: int = 1,
    offsets: list[float] | None = None,
) -> list[str]:
    stops_clips, backs = _clips(stops, backchannels, only, repeat, offsets)
    latencies: list[float] = []
    missed: list[str] = []
    in_silence: list[str] = []
    """Stops whose clip landed while her echo was already silent (between sentences)."""
    false_stops = 0
    false_labels: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, PrivateLab() as lab:
        lab.echo_path(LOOPBACK_MS)
        with (
            lab.recorder() as rec,
            lab.mic_recorder() as mic,
            VoiceosProcess(["--debug"], _env(tmp, lab, True)) as vo,
        ):
            try:
                _wait_listening(vo)
                lab.feed_mic(synthesize_clip(HELP))  # a first reply: the canceller learns
                vo.wait_for(r"^Samantha: ", after=1, timeout_s=120)
                _wait_listening(vo, after=len(vo.err) - 1)
                labels = {id(samples): label for label, samples in stops_clips + backs}

                def measure_stop(samples: np.ndarray, fed_at: int, out_before: int) -> bool:
                    label = f"{labels[id(samples)]} (fed by {datetime.now():%H:%M:%S.%f})"
                    mic_at = mic.sample_count() - (rec.sample_count() - fed_at)
                    try:
                        vo.wait_for(r"\[interrupted\]", after=out_before, timeout_s=30)
                    except AssertionError:
                        missed.append(label)
                        print(f"  missed: {label}", flush=True)
                        return False
                    mic.wait_for_samples(mic_at + len(samples) + 2 * RATE, timeout_s=30)
                    ms = _stop_ms(mic.snapshot(), rec.snapshot(), samples, mic_at, fed_at)
                    if ms is not None and ms - LOOPBACK_MS < QUICKEST_STOP_MS:
                        # She was already silent, or falling silent at her sentence's end:
                        # no hold can come that soon after the onset. Nothing here to time.
                        in_silence.append(label)
                    elif ms is not None:
                        latencies.append(ms - LOOPBACK_MS)
                    print(f"  stopped: {label}: echo silent after {ms} ms", flush=True)
                    return True

                _during_replies(lab, vo, rec, [s for _, s in stops_clips], 1, measure_stop, offsets)
                before = sum(1 for r in vo.replies() if r.endswith("[interrupted]"))
                fed: list[tuple[datetime, str]] = []

                def note_fed(samples: np.ndarray, *_: int) -> bool:
                    fed.append((datetime.now(), labels[id(samples)]))
                    return False

                stops_logged = len(_stops_logged(vo.err))
                _during_replies(lab, vo, rec, [s for _, s in backs], 3, note_fed)
                false_stops = sum(1 for r in vo.replies() if r.endswith("[interrupted]")) - before
                stopping = _stops_logged(vo.err)[stops_logged:]
                false_labels = [_fed_before(fed, at) for at in stopping]
            finally:
                vo.close()
                if log is not None:
                    log.write_text("\n".join(vo.err) + "\n", encoding="utf-8")
    return [
        summary(
            f"barge-in stop: speech onset → speaker silent (her echo silent at the mic, "
            f"less the loopback's {LOOPBACK_MS} ms)",
            latencies,
        ),
        summary(
            "of which: end of the capture of the chunk that held her → hold (every hold)",
            _logged_ms(vo.err, r"held: (\d+) ms after the sound that held her"),
        ),
        summary(
            "of which: hold → her voice stops at the device (every hold)",
            _logged_ms(vo.err, r"her voice stops at the speaker (\d+) ms after the hold"),
        ),
        f"missed stops: {len(missed)} of {len(stops_clips)} interruptions "
        f"({', '.join(missed) or 'none'})",
        f"not timed: {len(in_silence)} stops landed while she was already silent or "
        f"falling silent (her echo gone within {QUICKEST_STOP_MS} ms of the onset) "
        f"({', '.join(in_silence) or 'none'})",
        f"false stops: {false_stops} of {len(backs)} backchannels "
        f"(2 real words, the rest espeak-ng), fed 3 per reply "
        f"({', '.join(false_labels) or 'none'})",
        f"real recordings alone: {_real(missed)} of {_real(stops_clips)} interruptions "
        f"missed, {_real(false_labels)} of {_real(backs)} backchannels stopped her",
    ]


def _stops_logged(err: list[str]) -> list[datetime]:
    """When voiceos's log says it stopped a reply for the user."""
    stamps = (_stamped(line) for line in err if "barge-in: stopping the reply" in line)
    return [at for at in stamps if at is not None]


def _fed_before(fed: list[tuple[datetime, str]], at: datetime) -> str:
    """The label of the latest clip fed before `at`: what a stop logged then answered."""
    earlier = [label for when, label in fed if when <= at]
    return earlier[-1] if earlier else "?"


def _real(labelled: list[str] | list[tuple[str, np.ndarray]]) -> int:
    """How many of `labelled` (labels, or clips with their labels) are real recordings."""
    labels = [x if isinstance(x, str) else x[0] for x in labelled]
    return sum(1 for label in labels if label.startswith("real "))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=6)
    parser.add_argument("--stops", type=int, default=20)
    parser.add_argument("--backchannels", type=int, default=21)
    parser.add_argument("--skip-paths", action="store_true")
    parser.add_argument("--log", type=Path, help="keep voiceos's debug log of the stop run here")
    parser.add_argument("--only", default="", help="interruptions whose label matches (regex)")
    parser.add_argument("--repeat", type=int, default=1, help="feed each interruption N times")
    parser.add_argument(
        "--offsets",
        default="",
        help="seconds into her reply where interruptions land, in turn (default: 2)",
    )
    args = parser.parse_args()
    offsets = [float(x) for x in args.offsets.split(",") if x.strip()] or None
    if not args.skip_paths:
        for name, path in PATHS.items():
            for cancel in (True, False):
                label = "AEC + policy" if cancel else "no cancellation, --barge-in"
                print(f"{name}, {label}: {self_interruptions(path, cancel, args.replies)}")
                sys.stdout.flush()
    lines = interruptions(args.stops, args.backchannels, args.log, args.only, args.repeat, offsets)
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
