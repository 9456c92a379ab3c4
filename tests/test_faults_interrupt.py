"""Ctrl-C (SIGINT) at each phase of a turn, in text and voice mode, through the real CLI.

While voiceos thinks or speaks, Ctrl-C stops that reply and the conversation goes on; while
it waits for the person (the prompt, listening, transcribing), Ctrl-C leaves, cleanly.
A language server that accepts the request and never answers holds the thinking phase open.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import numpy as np
import pytest
from faultkit import SAID_TIME, SilentServer, assert_no_crash, wait_exit
from lab import PrivateLab, SpeakerRecorder
from voiceproc import VoiceosProcess, synthesize_clip

RATE = 16000
TIME_ANSWER = rf"^Samantha: .*({SAID_TIME})"
STOPPED_WITHIN_S = 10.0
"""A stopped turn must end long before the server's 60 s first-word timeout."""


@pytest.fixture(autouse=True)
def stacks_on_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """voiceos prints every thread's stack on SIGABRT, which wait_exit sends if it hangs."""
    monkeypatch.setenv("PYTHONFAULTHANDLER", "1")


def exit_code(vo: VoiceosProcess, timeout_s: float = 20) -> int:
    """Wait for voiceos to leave on its own (its input still open)."""
    return wait_exit(vo, timeout_s)


def quiet_tail(samples: np.ndarray, seconds: float = 0.5, level: int = 300) -> bool:
    tail = samples[-int(RATE * seconds) :].astype(np.int32)
    return bool(tail.size) and int(np.abs(tail).max()) < level


# --- text mode ---------------------------------------------------------------------------


def test_ctrl_c_at_the_prompt_leaves_cleanly(isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "PULSE_SERVER": "unix:/nonexistent/pulse/native"}
    with VoiceosProcess(["--text", "--mute"], env) as vo:
        vo.wait_for("^Samantha: ")
        vo.interrupt()
        assert exit_code(vo) == 0
    assert_no_crash("\n".join(vo.err))


def test_goodbye_while_input_is_still_open_leaves_cleanly(isolated_env: dict[str, str]) -> None:
    """The line reader is still waiting on stdin when the conversation ends."""
    env = {**isolated_env, "PULSE_SERVER": "unix:/nonexistent/pulse/native"}
    with VoiceosProcess(["--text", "--mute"], env) as vo:
        vo.wait_for("^Samantha: ")
        vo.send("goodbye")
        assert exit_code(vo) == 0, vo.err  # was SIGABRT: "could not acquire lock for <stdin>"
    assert_no_crash("\n".join(vo.err))


def test_ctrl_c_while_thinking_ends_the_turn_at_once(isolated_env: dict[str, str]) -> None:
    env = {**isolated_env, "PULSE_SERVER": "unix:/nonexistent/pulse/native"}
    with SilentServer() as server:
        env.update(
            OPENAI_API_KEY="sk-test-not-a-real-key-000000",
            VOICEOS_LLM_BASE_URL=server.base_url,
            VOICEOS_LLM_FIRST_TOKEN_TIMEOUT_S="60",
        )
        with VoiceosProcess(["--text", "--mute"], env) as vo:
            vo.wait_for("^Samantha: ")
            vo.send("tell me a long story about the sea")
            server.wait_for_request()
            stopped = time.monotonic()
            vo.interrupt()
            vo.send("what time is it")
            vo.wait_for(TIME_ANSWER, after=1, timeout_s=STOPPED_WITHIN_S)
            assert time.monotonic() - stopped < STOPPED_WITHIN_S
            assert vo.close() == 0
    assert_no_crash("\n".join(vo.err))
    assert len(vo.replies()) == 2, vo.out  # the greeting and the time; the story never came


def stop_speech(vo: VoiceosProcess, rec: SpeakerRecorder, after: int = 0) -> int:
    """Once voiceos has spoken for a second (from sample `after`), Ctrl-C; check that it
    goes quiet within a second. Returns the sample count when Ctrl-C was sent."""
    start = rec.wait_for_sound(after, timeout_s=60)
    rec.wait_for_samples(start + RATE)
    vo.interrupt()
    stopped_at = rec.sample_count()
    rec.wait_for_samples(stopped_at + RATE)
    assert quiet_tail(rec.snapshot()), "still speaking a second after Ctrl-C"
    return stopped_at


@pytest.mark.audio
def test_ctrl_c_while_speaking_stops_the_speech_and_goes_on(
    private_lab: PrivateLab, isolated_env: dict[str, str]
) -> None:
    env = {**isolated_env, **private_lab.env}
    with private_lab.recorder() as rec, VoiceosProcess(["--text"], env) as vo:
        vo.wait_for("^Samantha: ", timeout_s=60)
        stopped_at = stop_speech(vo, rec, rec.sample_count())  # the greeting
        assert vo.running
        vo.send("what can you do?")  # about 15 s of speech
        stop_speech(vo, rec, stopped_at + RATE)
        index, _ = vo.wait_for(r"\[interrupted\]$", after=1, timeout_s=STOPPED_WITHIN_S)
        vo.send("what time is it")
        vo.wait_for(TIME_ANSWER, after=index + 1, timeout_s=30)
        assert vo.close() == 0
    assert_no_crash("\n".join(vo.err))


# --- voice mode --------------------------------------------------------------------------


def _listening_after(vo: VoiceosProcess, after: int, timeout_s: float = 60) -> int:
    index, _ = vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=timeout_s)
    return index


@pytest.mark.audio
def test_ctrl_c_while_speaking_thinking_and_listening(
    private_lab: PrivateLab, isolated_env: dict[str, str]
) -> None:
    """One voice session: Ctrl-C stops a reply being spoken, then one being thought of
    (the server never answers), and finally, while listening, leaves."""
    with SilentServer() as server:
        env = {
            **isolated_env,
            **private_lab.env,
            "OPENAI_API_KEY": "sk-test-not-a-real-key-000000",
            "VOICEOS_LLM_BASE_URL": server.base_url,
            "VOICEOS_LLM_FIRST_TOKEN_TIMEOUT_S": "60",
        }
        with private_lab.recorder() as rec, VoiceosProcess([], env) as vo:
            listening = _listening_after(vo, 0, timeout_s=120)

            # speaking: a skill's long answer
            private_lab.feed_mic(synthesize_clip("What can you do?"))
            err_mark = len(vo.err)
            stop_speech(vo, rec, rec.sample_count())
            vo.wait_for(r"\[interrupted\]$", timeout_s=STOPPED_WITHIN_S)
            listening = _listening_after(vo, err_mark, timeout_s=STOPPED_WITHIN_S)

            # thinking: an open question goes to the server, which never answers
            private_lab.feed_mic(synthesize_clip("Tell me a story about the sea."))
            thinking, _ = vo.wait_for(r"\[thinking\]", stream="err", after=listening)
            server.wait_for_request()
            stopped = time.monotonic()
            vo.interrupt()
            listening = _listening_after(vo, thinking, timeout_s=STOPPED_WITHIN_S)
            assert time.monotonic() - stopped < STOPPED_WITHIN_S

            # still listening, and answering aloud
            out_mark = len(vo.out)
            private_lab.feed_mic(synthesize_clip("What can you do?"))
            stop_speech(vo, rec, rec.sample_count())
            vo.wait_for(r"\[interrupted\]$", after=out_mark, timeout_s=STOPPED_WITHIN_S)
            _listening_after(vo, listening + 1, timeout_s=STOPPED_WITHIN_S)

            # listening: Ctrl-C leaves
            vo.interrupt()
            assert exit_code(vo) == 0
    assert_no_crash("\n".join(vo.err))


@pytest.mark.audio
def test_ctrl_c_while_transcribing_leaves_cleanly(
    private_lab: PrivateLab, isolated_env: dict[str, str]
) -> None:
    """Transcription may finish just as Ctrl-C lands; then that turn is what stops, and a
    second Ctrl-C (now listening) leaves. Either way: exit code 0, no traceback."""
    env = {**isolated_env, **private_lab.env}
    question = (
        "I was wondering what the weather is going to be like in Lisbon this weekend, "
        "because my sister and I would like to walk along the river."
    )
    with VoiceosProcess(["--mute"], env) as vo:
        listening = _listening_after(vo, 0, timeout_s=120)
        private_lab.feed_mic(synthesize_clip(question), wait=False)
        index, _ = vo.wait_for(r"\[transcribing\]", stream="err", after=listening, timeout_s=60)
        vo.interrupt()
        try:
            assert vo._proc is not None
            code = vo._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _listening_after(vo, index)
            vo.interrupt()
            code = exit_code(vo)
        assert code == 0
    assert_no_crash("\n".join(vo.err))


async def test_a_cancellation_landing_with_a_microphone_chunk_is_not_lost() -> None:
    """Ctrl-C while listening cancels the task reading the microphone. It lands in the same
    loop iteration as a chunk now and then (one comes every 32 ms); asyncio.wait_for on
    Python 3.11 then drops the cancellation, and voiceos kept listening."""
    from collections import deque

    from voiceos.audio.mic import MicSource

    for _ in range(20):
        mic = MicSource()
        mic._loop = asyncio.get_running_loop()
        mic._queue = deque(maxlen=10)
        mic._wakeup = asyncio.Event()
        mic.rate_hz = RATE
        reader = asyncio.create_task(_drain(mic))
        await asyncio.sleep(0)  # the reader now waits for audio
        mic._deliver(np.zeros(512, np.int16), 0.0, False)
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(reader, timeout=2)


async def _drain(mic: object) -> None:
    async for _ in mic.chunks():  # type: ignore[attr-defined]
        pass
