"""Speech through PortAudio onto a virtual speaker, captured from its monitor.

Each test process plays to a private virtual speaker (lab.PrivateLab), so other test runs
sharing the lab cannot leak into the captures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from lab import RECORD_RATE_HZ, PrivateLab, SpeakerRecorder

from voiceos import config as config_mod
from voiceos.audio.player import Player
from voiceos.speak.settings import VoiceState
from voiceos.speak.speaker import DeviceSpeaker
from voiceos.speak.synth import Pyttsx3Synth
from voiceos.speak.voices import list_variants, list_voices
from voiceos.types import Spoken, VoiceSettings

pytestmark = pytest.mark.audio

SENTENCE = "Hello Theo, it is lovely to hear from you again this morning."
LONG = (
    "This is a rather long sentence that keeps going on and on, so that there is plenty "
    "of time to interrupt it before it reaches the natural end of what it wanted to say."
)
FRAME_S = 0.01
LOUD = 200


def envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """RMS per 10 ms frame."""
    frame = int(rate * FRAME_S)
    count = len(samples) // frame
    blocks = samples[: count * frame].astype(np.float64).reshape(count, frame)
    return np.sqrt((blocks**2).mean(axis=1))


def best_correlation(reference: np.ndarray, captured: np.ndarray, max_lag: int = 100) -> float:
    """Highest Pearson correlation of `reference` against `captured` over frame lags."""
    best = -1.0
    for lag in range(0, min(max_lag, len(captured) - len(reference)) + 1):
        window = captured[lag : lag + len(reference)]
        best = max(best, float(np.corrcoef(reference, window)[0, 1]))
    return best


def speech_span_s(samples: np.ndarray, rate: int) -> float:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > LOUD)
    return float(loud[-1] - loud[0]) / rate if loud.size else 0.0


async def speak_for(
    speaker: DeviceSpeaker, rec: SpeakerRecorder, seconds: float
) -> tuple[asyncio.Task[Spoken], int]:
    """Start saying LONG; return its task and the recorded sample count `seconds` into it."""
    start = rec.sample_count()
    task = asyncio.create_task(speaker.say(LONG))
    onset = await asyncio.to_thread(rec.wait_for_sound, start)
    await asyncio.to_thread(rec.wait_for_samples, onset + int(seconds * RECORD_RATE_HZ))
    return task, rec.sample_count()


def assert_silent_soon_after(rec: SpeakerRecorder, sample: int) -> None:
    """Record one more second and check the sound ended within 150 ms of `sample`."""
    rec.wait_for_samples(sample + RECORD_RATE_HZ)
    loud = np.flatnonzero(np.abs(rec.snapshot()[sample:].astype(np.int32)) > LOUD)
    tail_s = (loud[-1] + 1) / RECORD_RATE_HZ if loud.size else 0.0
    assert tail_s < 0.15, f"sound went on {tail_s:.3f} s after the stop"


@pytest.fixture
def voice_state(tmp_path: Path) -> VoiceState:
    return VoiceState(
        tmp_path / "config.toml",
        VoiceSettings("en-us", 175, 0.9),
        lambda: [v.id for v in list_voices()],
        list_variants,
    )


@contextlib.contextmanager
def speaker_closed(speaker: DeviceSpeaker) -> Iterator[DeviceSpeaker]:
    try:
        yield speaker
    finally:
        speaker.close()


@pytest.fixture
def speaker(private_lab: PrivateLab, voice_state: VoiceState) -> Iterator[DeviceSpeaker]:
    device_speaker = DeviceSpeaker(Pyttsx3Synth(), Player(), voice_state)
    device_speaker.start()
    yield device_speaker
    device_speaker.close()


async def test_spoken_sentence_reaches_the_speaker_intact(
    private_lab: PrivateLab, voice_state: VoiceState
) -> None:
    # A 100 ms buffer: with the default 30 ms a busy shared machine occasionally underruns,
    # and a 50 ms gap spoils the envelope match. Latency is bench/first_audio.py's job.
    player = Player(latency=0.1)
    speaker = DeviceSpeaker(Pyttsx3Synth(), player, voice_state)
    speaker.start()
    with speaker_closed(speaker), private_lab.recorder() as rec:
        start = rec.sample_count()
        utterance = await speaker.prepare(SENTENCE)
        spoken = await speaker.play(utterance, SENTENCE)
        rec.wait_for_samples(rec.sample_count() + RECORD_RATE_HZ // 5)
    assert spoken.text == SENTENCE and not spoken.interrupted
    assert spoken.first_audio_s > 0
    captured = rec.samples[start:]
    want = speech_span_s(utterance.samples, utterance.sample_rate_hz)
    got = speech_span_s(captured, RECORD_RATE_HZ)
    assert abs(got - want) < 0.1 * want, (got, want)
    reference = envelope(utterance.samples, utterance.sample_rate_hz)
    heard = envelope(captured, RECORD_RATE_HZ)
    # Each half is aligned on its own, so one scheduling gap on a loaded machine (the
    # audio arriving 50 ms late from some point on) does not count as distortion.
    half = len(reference) // 2
    first = best_correlation(reference[:half], heard)
    second = best_correlation(reference[half:], heard, max_lag=len(heard))
    assert min(first, second) > 0.9, (first, second, got - want, player.underruns)


def click_then_tone(rate: int) -> np.ndarray:
    """A 2 ms click, 100 ms of silence, then 200 ms of tone: the click is the first sample."""
    t = np.arange(int(0.2 * rate)) / rate
    click = np.full(int(0.002 * rate), 24000, np.int16)
    tone = (12000 * np.sin(2 * np.pi * 500 * t)).astype(np.int16)
    return np.concatenate([click, np.zeros(int(0.1 * rate), np.int16), tone])


def click_heard(captured: np.ndarray) -> bool:
    """The click is in `captured`, 100 ms (within a block or two) before the tone."""
    loud = np.abs(captured.astype(np.int32)) > LOUD
    frames = loud[: len(loud) // 160 * 160].reshape(-1, 160).mean(axis=1)  # 10 ms frames
    tone = np.flatnonzero(frames > 0.5)
    if not tone.size:
        return False
    before = frames[max(0, tone[0] - 13) : max(0, tone[0] - 7)]
    return bool(before.size and before.max() > 0)


async def test_an_idle_player_restarts_its_stream_and_plays_from_the_first_sample(
    private_lab: PrivateLab,
) -> None:
    # An idle stream is restarted for the next sentence, dropping the silence it had
    # buffered; none of the sentence may go with it. Back to back, nothing restarts.
    rate = 22050
    signal = click_then_tone(rate)
    player = Player(rate_hz=rate)
    player.start()
    heard: list[bool] = []
    restarts: list[int] = []
    try:
        with private_lab.recorder() as rec:
            for wait_s in (0.0, 0.0, 0.5):
                rec.wait_for_samples(rec.sample_count() + int(wait_s * RECORD_RATE_HZ))
                start = rec.sample_count()
                result = await player.play(signal, rate)
                assert not result.interrupted and result.played_samples == len(signal)
                restarts.append(player.restarts)
                rec.wait_for_samples(rec.sample_count() + RECORD_RATE_HZ // 10)
                heard.append(click_heard(rec.snapshot()[start:]))
    finally:
        player.close()
    assert heard == [True, True, True]
    assert restarts == [1, 1, 2]  # opened idle; back to back; idle again


async def test_a_hold_silences_her_at_once_and_she_resumes_where_she_paused(
    private_lab: PrivateLab, caplog: pytest.LogCaptureFixture
) -> None:
    # Barge-in holds her while it decides: silence within a block or two, said in the
    # log (bench/echo_bargein.py reads the figure), and on release nothing is lost.
    rate = 22050
    t = np.arange(int(1.5 * rate)) / rate
    tone = (12000 * np.sin(2 * np.pi * 500 * t)).astype(np.int16)
    player = Player(rate_hz=rate)
    player.start()
    caplog.set_level(logging.DEBUG, logger="voiceos.audio.player")
    try:
        with private_lab.recorder() as rec:
            start = rec.sample_count()
            task = asyncio.create_task(player.play(tone, rate))
            onset = await asyncio.to_thread(rec.wait_for_sound, start)
            await asyncio.to_thread(rec.wait_for_samples, onset + RECORD_RATE_HZ // 2)
            player.hold(True)
            held_at = rec.sample_count()
            await asyncio.to_thread(rec.wait_for_samples, held_at + RECORD_RATE_HZ // 2)
            during = rec.snapshot()[held_at + int(0.15 * RECORD_RATE_HZ) :]
            player.hold(False)
            result = await asyncio.wait_for(task, 5)
            rec.wait_for_samples(rec.sample_count() + RECORD_RATE_HZ // 5)
            captured = rec.snapshot()[start:]
    finally:
        player.close()
    assert len(during) and int(np.abs(during.astype(np.int32)).max()) < LOUD
    stops = [r.getMessage() for r in caplog.records if "stops at the speaker" in r.getMessage()]
    assert len(stops) == 1, stops
    assert 0 < float(stops[0].split(" ms")[0].split()[-1]) < 150, stops
    assert not result.interrupted and result.played_samples == len(tone)
    loud_s = float(np.sum(envelope(captured, RECORD_RATE_HZ) > LOUD)) * FRAME_S
    assert abs(loud_s - 1.5) < 0.1, loud_s  # all of the tone, once: none lost, none twice


async def check_stop_mid_sentence(speaker: DeviceSpeaker, lab: PrivateLab) -> None:
    """stop() a second into LONG: silent within 150 ms, and only the words heard count."""
    with lab.recorder() as rec:
        task, stopped_at = await speak_for(speaker, rec, 1.0)
        speaker.stop()
        spoken = await asyncio.wait_for(task, 5)
        await asyncio.to_thread(assert_silent_soon_after, rec, stopped_at)
    assert spoken.interrupted
    words = spoken.text.split()
    assert 1 <= len(words) < len(LONG.split()) // 2
    assert LONG.startswith(spoken.text)


async def test_stop_silences_mid_sentence_and_reports_the_words_heard(
    speaker: DeviceSpeaker, private_lab: PrivateLab
) -> None:
    await check_stop_mid_sentence(speaker, private_lab)


async def test_cancelling_a_sentence_silences_it(
    speaker: DeviceSpeaker, private_lab: PrivateLab
) -> None:
    with private_lab.recorder() as rec:
        task, cancelled_at = await speak_for(speaker, rec, 0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(assert_silent_soon_after, rec, cancelled_at)
    # The speaker is usable again afterwards.
    assert not (await speaker.say("Still here.")).interrupted


async def test_rate_change_is_heard_from_the_next_sentence(
    speaker: DeviceSpeaker, voice_state: VoiceState, private_lab: PrivateLab
) -> None:
    spans = []
    for rate in (200, 100):
        voice_state.update(rate_wpm=rate)
        with private_lab.recorder() as rec:
            start = rec.sample_count()
            await speaker.say("Testing the speaking rate of this voice.")
            rec.wait_for_samples(rec.sample_count() + RECORD_RATE_HZ // 5)
        spans.append(speech_span_s(rec.samples[start:], RECORD_RATE_HZ))
    assert 1.6 < spans[1] / spans[0] < 2.4, spans


async def test_next_sentence_is_prepared_while_one_plays(
    speaker: DeviceSpeaker, private_lab: PrivateLab
) -> None:
    first, second = "The first sentence is playing now.", "And here is the second one."
    with private_lab.recorder() as rec:
        start = rec.sample_count()
        one = await speaker.prepare(first)
        playing = asyncio.create_task(speaker.play(one, first))
        two = await speaker.prepare(second)
        assert not playing.done(), "synthesis should not wait for playback"
        assert (await playing).text == first
        assert (await speaker.play(two, second)).text == second
        rec.wait_for_samples(rec.sample_count() + RECORD_RATE_HZ // 5)
    heard = speech_span_s(rec.samples[start:], RECORD_RATE_HZ)
    expected = one.duration_s + speech_span_s(two.samples, two.sample_rate_hz)
    assert abs(heard - expected) < 0.15 * expected, (heard, expected)


def test_say_command_is_heard_and_saves(
    private_lab: PrivateLab, isolated_env: dict[str, str]
) -> None:
    env = {**isolated_env, **private_lab.env}
    command = [sys.executable, "-m", "voiceos", "say", "--rate", "150", "--save"]
    with private_lab.recorder() as rec:
        start = rec.sample_count()
        result = subprocess.run(
            [*command, "Hello from the command line."],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        rec.wait_for_samples(rec.sample_count() + RECORD_RATE_HZ // 5)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "150 wpm" in result.stdout
    assert speech_span_s(rec.samples[start:], RECORD_RATE_HZ) > 1.0
    user_file = Path(env["XDG_CONFIG_HOME"]) / "voiceos" / "config.toml"
    assert config_mod.read_toml(user_file)["voice.rate_wpm"] == 150


async def test_speaker_lost_mid_sentence_goes_quiet_without_crashing(
    private_lab: PrivateLab, voice_state: VoiceState
) -> None:
    player = Player()
    speaker = DeviceSpeaker(Pyttsx3Synth(), player, voice_state)
    speaker.start()
    try:
        with private_lab.recorder() as rec:
            start = rec.sample_count()
            task = asyncio.create_task(speaker.say(LONG))
            await asyncio.to_thread(rec.wait_for_sound, start)
            player._stream.abort()  # the device disappears under the running stream
            spoken = await asyncio.wait_for(task, 10)
        assert spoken.text == LONG  # printed in full, since it could not all be heard
        assert speaker.problem is not None and "went away" in speaker.problem
        assert (await speaker.say("Anyone there?")).text == "Anyone there?"
    finally:
        speaker.close()
