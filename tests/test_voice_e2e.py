"""Spoken conversations end to end: voiceos runs as a subprocess on the virtual devices.

Questions are fed into the virtual microphone; what voiceos says is recorded from the
virtual speaker and transcribed back. File mode runs the same pipeline with no devices.

Where a test transcribes what voiceos said, voiceos speaks with Piper (`--engine piper`):
tiny.en mishears espeak-ng badly and differently on each CPU (a whole "Right now it's 3:10
in the afternoon." came back empty), and these tests are about the replies being played,
not about espeak-ng, whose audio tests/test_speaker_audio.py checks by its envelope.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from lab import PrivateLab
from marks import silent_from
from voiceproc import BARGE_IN_LOGGERS, VoiceosProcess, natural_clip, synthesize_clip

from voiceos.audio.pcm import read_wav, write_wav
from voiceos.dialogue.skills.basics import speak_time
from voiceos.stt.wer import normalise_words
from voiceos.stt.whisper import WhisperTranscriber

RATE = 16000


@pytest.fixture(scope="module")
def whisper() -> Iterator[WhisperTranscriber]:
    transcriber = WhisperTranscriber()
    transcriber.start()
    yield transcriber


def transcribe(
    whisper: WhisperTranscriber, samples: np.ndarray, rate: int = RATE, pause_ms: int = 400
) -> str:
    """What a recording says, utterance by utterance.

    One decode of several replies with silences between them can lose the first ones
    (tiny.en did, on a 10 s recording of three replies), so each stretch of sound between
    pauses of `pause_ms` or more is transcribed on its own.
    """
    parts = sounding_parts(samples, rate, pause_ms)
    texts = [whisper.transcribe(part, rate).text for part in parts]
    return " ".join(t.strip() for t in texts if t.strip()).lower()


def sounding_parts(
    samples: np.ndarray, rate: int = RATE, pause_ms: int = 400, level: int = 200
) -> list[np.ndarray]:
    """The stretches of `samples` with sound, split at pauses of `pause_ms` or longer."""
    frame = rate // 50  # 20 ms
    count = samples.size // frame
    loud = np.abs(samples[: count * frame].astype(np.int32)).reshape(count, frame).max(1) > level
    parts, begin, quiet = [], None, 0
    for i, is_loud in enumerate(loud):
        if is_loud:
            begin = i if begin is None else begin
            quiet = 0
        elif begin is not None:
            quiet += 1
            if quiet * 20 >= pause_ms:
                parts.append((begin, i - quiet + 1))
                begin, quiet = None, 0
    if begin is not None:
        parts.append((begin, count - quiet))
    margin = 5  # frames (100 ms) of context either side
    return [
        samples[max(0, (b - margin) * frame) : min(samples.size, (e + margin) * frame)].astype(
            np.int16
        )
        for b, e in parts
    ]


def _listening(vo: VoiceosProcess, after: int = 0) -> int:
    index, _ = vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=120)
    return index


def ask(lab: PrivateLab, vo: VoiceosProcess, text: str, timeout_s: float = 60) -> str:
    """Speak `text` into the mic (Piper's voice: tiny.en mishears espeak-ng's now and then);
    return voiceos's reply once it has been fully spoken."""
    replies_before = len(vo.replies())
    out_before = len(vo.out)
    err_before = len(vo.err)
    lab.feed_mic(natural_clip(text))
    vo.wait_for(r"^Samantha: .*\S", after=out_before, timeout_s=timeout_s)
    _listening(vo, after=err_before)  # back to listening: the reply has been played
    replies = vo.replies()
    # With --debug, the log says why a reply was cut short or an extra turn was taken.
    assert len(replies) == replies_before + 1, f"{vo.out}\n{vo.log_of(*BARGE_IN_LOGGERS)}"
    return replies[-1]


def said_aloud(replies: list[str], spoken: str) -> bool:
    """Whether the recording's transcript holds the replies' words: at least 40% of their
    distinct words of four letters or more.

    tiny.en mishears espeak-ng's voice often ("Your name is David." came back as "your
    name it", "You're David." as "see you next time"), and on some CPUs a whole sentence
    ("Right now it's 1:07 in the afternoon.") came back empty; so no single word is proof,
    and neither is a word error rate. Silence scores 0; another reply shares few words.
    """
    wanted = {w for w in normalise_words(" ".join(replies)) if len(w) >= 4}
    heard = set(normalise_words(spoken))
    return bool(wanted) and len(wanted & heard) >= 0.4 * len(wanted)


def told_name(heard: str) -> str:
    """The name in a transcript of "... my name is NAME." as it was heard."""
    return heard.rstrip(".!").split("name is ", 1)[1].strip(" ,")


def _minutes(first: datetime, last: datetime) -> list[datetime]:
    """Every clock minute from `first` to `last`: the reply may be read in any of them."""
    start = first.replace(second=0, microsecond=0)
    return [
        start + timedelta(minutes=m) for m in range(int((last - start).total_seconds()) // 60 + 1)
    ]


@pytest.fixture
def voice_env(private_lab: PrivateLab, isolated_env: dict[str, str]) -> dict[str, str]:
    """Isolated settings, with this test run's own virtual speaker and microphone."""
    return {**isolated_env, **private_lab.env}


pytestmark = pytest.mark.audio


def test_spoken_questions_are_answered_aloud(
    private_lab: PrivateLab, voice_env: dict[str, str], whisper: WhisperTranscriber
) -> None:
    with (
        private_lab.recorder() as rec,
        VoiceosProcess(["--engine", "piper", "--debug"], voice_env) as vo,
    ):
        _listening(vo)
        start = rec.sample_count()
        before = datetime.now()
        reply = ask(private_lab, vo, "What time is it?")
        after = datetime.now()
        assert "time" in vo.heard()[-1].lower(), vo.heard()
        assert any(speak_time(t) in reply for t in _minutes(before, after)), (before, reply)
        hour = before.strftime("%I").lstrip("0")
        spoken = transcribe(whisper, rec.snapshot()[start:])
        # Whisper may write the time in words ("two forty-nine"): check the words
        # around the number too, which only the time reply contains.
        said_time = hour in spoken or before.strftime("%H") in spoken
        assert said_time or re.search(r"morning|afternoon|evening|night|noon", spoken), spoken

        start = rec.sample_count()
        greeting = ask(private_lab, vo, "My name is David.")
        heard = vo.heard()[-1]
        if "name is " not in heard.lower():
            # Misheard ("name as David." in a CI run: its first word lost, or misheard):
            # voiceos rightly takes no name from that, and a user would say it again. Say
            # so, with what voiceos logged, and say it again once.
            warnings.warn(
                f"'My name is David.' was heard as {heard!r}; said again\n"
                f"{vo.log_of(*BARGE_IN_LOGGERS, last=30)}",
                stacklevel=1,
            )
            greeting = ask(private_lab, vo, "My name is David.")
            heard = vo.heard()[-1]
        # The name as Whisper heard it on this CPU (int8 decoding differs between CPUs).
        assert "name is " in heard.lower(), f"{heard!r}\n{vo.log_of(*BARGE_IN_LOGGERS)}"
        name = told_name(heard)
        reply = ask(private_lab, vo, "What is my name?")
        assert name in reply, (name, reply)
        spoken = transcribe(whisper, rec.snapshot()[start:])
        assert said_aloud([greeting, reply], spoken), (greeting, reply, spoken)
        assert vo.close() == 0


def test_barge_in_stops_speech(private_lab: PrivateLab, voice_env: dict[str, str]) -> None:
    with (
        private_lab.recorder() as rec,
        VoiceosProcess(["--barge-in", "--debug"], voice_env) as vo,
    ):
        _listening(vo)
        out_before = len(vo.out)
        private_lab.feed_mic(synthesize_clip("What can you do?"))
        # The reply line is printed whole only when it ends, so watch the speaker instead.
        speaking_from = rec.wait_for_sound(rec.sample_count(), timeout_s=60)
        rec.wait_for_samples(speaking_from + RATE)  # it has been talking for a second
        interrupt_at = rec.sample_count()
        private_lab.feed_mic(synthesize_clip("Wait a second."))
        try:
            vo.wait_for(r"\[interrupted\]", after=out_before, timeout_s=30)
        except AssertionError as missed:
            raise AssertionError(f"{missed}\n{vo.log_of(*BARGE_IN_LOGGERS)}") from None
        rec.wait_for_samples(interrupt_at + 3 * RATE)
        audio = rec.snapshot()
    onset = interrupt_at + RATE // 2  # synthesize_clip pads with 0.5 s of silence
    quiet = silent_from(audio, interrupt_at)
    assert quiet != -1, "speech never stopped"
    stop_ms = (quiet - onset) * 1000 / RATE
    # The whole help reply lasts about 15 s; stopping means silence within about a second.
    assert stop_ms < 1000, stop_ms
    assert len(vo.heard()) == 2, vo.heard()  # the interruption became the next turn


@pytest.mark.parametrize(
    "loop_ms",
    [
        pytest.param(30, id="direct"),
        # Her echo 600 ms behind what the clocks say: a slow Bluetooth speaker (the delay
        # tracker searches up to a second).
        pytest.param(600, id="slow"),
    ],
)
def test_it_does_not_hear_itself(
    private_lab: PrivateLab, voice_env: dict[str, str], loop_ms: int
) -> None:
    """With the speaker looped back into the mic, its own voice never becomes a turn."""
    # An acoustic echo path: whatever the speaker plays comes back into the mic `loop_ms`
    # later. PulseAudio's loopback holds that delay, as air does. (A `pacat -r | pacat -p`
    # pipe does not: starved of CPU, its backlog grows in the pipe and shrinks at overruns,
    # and in CI her echo jumped from 150 ms to a second late within a sentence; no speaker
    # does that.)
    private_lab.echo_path(loop_ms)
    with private_lab.recorder() as rec, VoiceosProcess(["--debug"], voice_env) as vo:
        _listening(vo)
        start = rec.sample_count()
        reply = ask(private_lab, vo, "What can you do?", timeout_s=90)
        why = vo.log_of(*BARGE_IN_LOGGERS)
        assert "[interrupted]" not in "\n".join(vo.out), why
        assert reply
        assert np.abs(rec.snapshot()[start:].astype(np.int32)).max() > 1000  # it spoke
        # Its own speech reached the mic; cancelled, or heard as speech and ignored, it
        # never became a turn (issue 10: barge-in is on by default with a speaker).
        assert any("echo cancelled" in line for line in vo.err)
        assert len(vo.heard()) == 1, vo.heard()


def test_file_mode_needs_no_devices(
    isolated_env: dict[str, str], tmp_path: Path, whisper: WhisperTranscriber
) -> None:
    gap = np.zeros(RATE, np.int16)
    clips = [
        synthesize_clip(t) for t in ("What time is it?", "My name is David.", "What is my name?")
    ]
    recording = tmp_path / "in.wav"
    write_wav(recording, np.concatenate([np.concatenate([c, gap]) for c in clips]), RATE)
    answer = tmp_path / "out.wav"
    env = dict(isolated_env, PULSE_SERVER="unix:/nonexistent/socket")
    args = ["--engine", "piper", "--input-wav", str(recording), "--output-wav", str(answer)]
    with VoiceosProcess(args, env) as vo:
        assert vo.close(timeout_s=120) == 0
    heard = [h.lower() for h in vo.heard()]
    assert len(heard) == 3 and "time" in heard[0] and "my name" in heard[2], heard
    name = told_name(vo.heard()[1])
    assert name in vo.replies()[-1], (name, vo.replies())
    samples, rate = read_wav(answer)
    assert len(samples) / rate > 2.0
    # File mode writes the sentences back to back (180-280 ms apart with Piper): one
    # decode of them all can stop after the first sentence (tiny.en did in a CI run, on
    # "It's 8:13 in the evening right now." and two more replies), and a decode of each
    # sentence alone can miss a word cut at a pause inside it. Both are read.
    heard_back = " ".join(transcribe(whisper, samples, rate, ms) for ms in (400, 160))
    assert said_aloud(vo.replies(), heard_back), (vo.replies(), heard_back)
