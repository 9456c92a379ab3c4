"""Spoken conversations end to end: voiceos runs as a subprocess on the virtual devices.

Questions are fed into the virtual microphone; what voiceos says is recorded from the
virtual speaker and transcribed back. File mode runs the same pipeline with no devices.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from lab import SpeakerRecorder, feed_mic, lab_env
from voiceproc import VoiceosProcess, synthesize_clip

from voiceos.audio.pcm import read_wav, write_wav
from voiceos.stt.whisper import WhisperTranscriber

RATE = 16000


@pytest.fixture(scope="module")
def whisper() -> Iterator[WhisperTranscriber]:
    transcriber = WhisperTranscriber()
    transcriber.start()
    yield transcriber


def transcribe(whisper: WhisperTranscriber, samples: np.ndarray, rate: int = RATE) -> str:
    return whisper.transcribe(samples.astype(np.int16), rate).text.lower()


def _listening(vo: VoiceosProcess, after: int = 0) -> int:
    index, _ = vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=120)
    return index


def ask(vo: VoiceosProcess, text: str, timeout_s: float = 60) -> str:
    """Speak `text` into the mic; return voiceos's reply once it has been fully spoken."""
    replies_before = len(vo.replies())
    out_before = len(vo.out)
    err_before = len(vo.err)
    feed_mic(synthesize_clip(text))
    vo.wait_for(r"^Samantha: .*\S", after=out_before, timeout_s=timeout_s)
    _listening(vo, after=err_before)  # back to listening: the reply has been played
    replies = vo.replies()
    assert len(replies) == replies_before + 1, vo.out
    return replies[-1]


def silent_from(samples: np.ndarray, start: int, quiet_ms: int = 400, level: int = 200) -> int:
    """First sample at or after `start` that begins `quiet_ms` with no sample above `level`."""
    need = RATE * quiet_ms // 1000
    loud = np.flatnonzero(np.abs(samples[start:].astype(np.int32)) > level) + start
    edges = np.concatenate([[start], loud, [len(samples)]])
    gaps = np.flatnonzero(np.diff(edges) >= need)
    if not gaps.size:
        return -1
    return int(edges[gaps[0]])


@pytest.fixture
def voice_env(audio_lab: dict[str, str], isolated_env: dict[str, str]) -> dict[str, str]:
    return lab_env(isolated_env)


pytestmark = pytest.mark.audio


def test_spoken_questions_are_answered_aloud(
    voice_env: dict[str, str], whisper: WhisperTranscriber
) -> None:
    with SpeakerRecorder() as rec, VoiceosProcess([], voice_env) as vo:
        _listening(vo)
        start = rec.sample_count()
        before = datetime.now()
        reply = ask(vo, "What time is it?")
        assert vo.heard()[-1].lower().startswith("what time is it")
        hour = before.strftime("%I").lstrip("0")
        assert re.search(rf"\b{hour}:\d\d\b", reply) or before.strftime("%H:%M") in reply, reply
        spoken = transcribe(whisper, rec.snapshot()[start:])
        assert hour in spoken or before.strftime("%H") in spoken, spoken

        start = rec.sample_count()
        ask(vo, "My name is David.")
        reply = ask(vo, "What is my name?")
        assert "David" in reply
        spoken = transcribe(whisper, rec.snapshot()[start:])
        assert spoken.count("david") >= 2, spoken  # in both replies
        assert vo.close() == 0


def test_barge_in_stops_speech(voice_env: dict[str, str]) -> None:
    with SpeakerRecorder() as rec, VoiceosProcess(["--barge-in"], voice_env) as vo:
        _listening(vo)
        out_before = len(vo.out)
        feed_mic(synthesize_clip("What can you do?"))
        # The reply line is printed whole only when it ends, so watch the speaker instead.
        speaking_from = rec.wait_for_sound(rec.sample_count(), timeout_s=60)
        rec.wait_for_samples(speaking_from + RATE)  # it has been talking for a second
        interrupt_at = rec.sample_count()
        feed_mic(synthesize_clip("Wait a second."))
        vo.wait_for(r"\[interrupted\]", after=out_before, timeout_s=30)
        rec.wait_for_samples(interrupt_at + 3 * RATE)
        audio = rec.snapshot()
    onset = interrupt_at + RATE // 2  # synthesize_clip pads with 0.5 s of silence
    quiet = silent_from(audio, interrupt_at)
    assert quiet != -1, "speech never stopped"
    stop_ms = (quiet - onset) * 1000 / RATE
    # The whole help reply lasts about 15 s; stopping means silence within about a second.
    assert stop_ms < 1000, stop_ms
    assert len(vo.heard()) == 2, vo.heard()  # the interruption became the next turn


def test_it_does_not_hear_itself(voice_env: dict[str, str]) -> None:
    """With the speaker looped back into the mic, its own voice never becomes a turn."""
    module = subprocess.run(
        [
            "pactl",
            "load-module",
            "module-loopback",
            "source=vspeaker.monitor",
            "sink=vmic_in",
            "latency_msec=20",
        ],
        env=voice_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()
    try:
        with VoiceosProcess(["--debug"], voice_env) as vo:
            _listening(vo)
            reply = ask(vo, "What can you do?", timeout_s=90)
            assert "[interrupted]" not in "\n".join(vo.out)
            assert reply
            # Its own speech reached the mic and was recognised as speech, then ignored.
            vo.wait_for(r"ignored .* heard while speaking", stream="err", timeout_s=10)
            assert len(vo.heard()) == 1, vo.heard()
    finally:
        subprocess.run(["pactl", "unload-module", module], env=voice_env, timeout=10)


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
    with VoiceosProcess(["--input-wav", str(recording), "--output-wav", str(answer)], env) as vo:
        assert vo.close(timeout_s=120) == 0
    assert [h.lower()[:12] for h in vo.heard()] == ["what time is", "my name is d", "what is my n"]
    assert "David" in vo.replies()[-1]
    samples, rate = read_wav(answer)
    assert len(samples) / rate > 2.0
    assert "david" in transcribe(whisper, samples, rate)
