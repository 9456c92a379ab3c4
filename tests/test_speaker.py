"""Speakers without a sound device: the heard-text cut, muting, WAV output, fallbacks."""

from __future__ import annotations

import asyncio
import threading
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from voiceos import config as config_mod
from voiceos.audio.player import _PRINTF_FIELD, Player, _unfilled
from voiceos.audio.reference import ReferenceTap
from voiceos.speak import worker
from voiceos.speak.speaker import DeviceSpeaker, NullSpeaker, WavSpeaker, heard_text, open_speaker
from voiceos.speak.synth import Pyttsx3Synth, Utterance
from voiceos.types import Spoken, VoiceSettings


class FixedVoice:
    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings

    def current(self) -> VoiceSettings:
        return self.settings

    def update(
        self, *, voice: str | None = None, rate_wpm: int | None = None, volume: float | None = None
    ) -> VoiceSettings:
        raise NotImplementedError

    def voice_ids(self) -> list[str]:
        return ["en-us"]


@pytest.mark.parametrize(
    ("played", "expected"),
    [
        (0, ""),
        (10, ""),
        (50, "Hello there, how"),
        (99, "Hello there, how are you doing"),
        (100, "Hello there, how are you doing today?"),
        (150, "Hello there, how are you doing today?"),
    ],
)
def test_heard_text_keeps_whole_words_in_proportion(played: int, expected: str) -> None:
    assert heard_text("Hello there, how are you doing today?", played, 100) == expected


async def test_null_speaker_returns_the_text_at_once() -> None:
    speaker = NullSpeaker()
    assert await speaker.say("Hi.") == Spoken("Hi.")
    speaker.stop()
    speaker.close()


async def test_wav_speaker_appends_every_sentence(tmp_path: Path) -> None:
    synth = Pyttsx3Synth()
    synth.start()
    voice = FixedVoice(VoiceSettings("en-us", 175, 0.9))
    expected = synth.synthesize("One sentence.", voice.current()).duration_s
    expected += synth.synthesize("And another one.", voice.current()).duration_s
    out = tmp_path / "out.wav"
    speaker = WavSpeaker(synth, voice, out)
    assert (await speaker.say("One sentence.")).text == "One sentence."
    await speaker.say("And another one.")
    speaker.close()
    with wave.open(str(out), "rb") as handle:
        assert handle.getnchannels() == 1 and handle.getframerate() == 22050
        seconds = handle.getnframes() / handle.getframerate()
    assert abs(seconds - expected) < 0.05


def test_wav_speaker_with_nothing_said_writes_an_empty_wav(tmp_path: Path) -> None:
    synth = Pyttsx3Synth()
    synth.start()
    out = tmp_path / "empty.wav"
    WavSpeaker(synth, FixedVoice(VoiceSettings()), out).close()
    with wave.open(str(out), "rb") as handle:
        assert handle.getnframes() == 0


def test_open_speaker_muted_says_why(isolated_env: dict[str, str]) -> None:
    config = config_mod.load(env={})
    speaker, notice = open_speaker(config, FixedVoice(VoiceSettings()), mute=True)
    assert isinstance(speaker, NullSpeaker)
    assert notice is not None and "Muted" in notice


def test_open_speaker_without_the_device_falls_back(isolated_env: dict[str, str]) -> None:
    config = config_mod.load(env={}, flags={"audio.output_device": "no-such-speaker-anywhere"})
    speaker, notice = open_speaker(config, FixedVoice(VoiceSettings()), mute=False)
    assert isinstance(speaker, NullSpeaker)
    assert notice is not None and "printed only" in notice
    assert "no-such-speaker-anywhere" in notice or "no audio devices" in notice


class WedgedSynth:
    """Stands in for a Pyttsx3Synth whose espeak-ng never returns (espeak-ng issue #996)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def check_voice(self, voice: str) -> None:
        pass

    def synthesize(self, text: str, settings: VoiceSettings) -> Utterance:
        self.release.wait(30)
        return Utterance(np.zeros(10, dtype=np.int16), 22050)

    def close(self) -> None:
        pass


async def test_wedged_synthesis_is_given_up_and_text_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker, "BASE_DEADLINE_S", 0.2)
    synth = WedgedSynth()
    speaker = DeviceSpeaker(synth, Player(), FixedVoice(VoiceSettings()))  # type: ignore[arg-type]
    try:
        assert await speaker.say("Are you there?") == Spoken("Are you there?")
        assert speaker.problem is not None and "stopped responding" in speaker.problem
        # Later sentences do not wait on the wedged thread again.
        assert await asyncio.wait_for(speaker.say("Hello?"), 0.1) == Spoken("Hello?")
    finally:
        speaker.close()
        synth.release.set()


@pytest.mark.parametrize(
    ("fmt", "logged"),
    [
        ("%s occurred", "… occurred"),
        ("cannot set %lu: %d%%", "cannot set …: …%"),
        ("plain", "plain"),
    ],
)
def test_alsa_messages_are_logged_without_their_unfilled_fields(fmt: str, logged: str) -> None:
    # ALSA's variadic arguments are out of reach: "%s occurred" was logged as is.
    assert _PRINTF_FIELD.sub(_unfilled, fmt) == logged


class _Status:
    """PortAudio's callback flags, as sounddevice hands them over."""

    def __init__(self, underflow: bool) -> None:
        self.output_underflow = underflow

    def __bool__(self) -> bool:
        return self.output_underflow


def test_after_an_underflow_the_reference_clock_starts_afresh() -> None:
    """The device played silence the sample count knows nothing of: the echo reference is
    placed by the stamps that follow (as after a restart), not by the count."""
    player = Player()
    player.tap = tap = ReferenceTap()
    block = np.zeros((441, 1), np.int16)
    for underflow in (False, True, False, False):
        player._callback(block, 441, None, _Status(underflow))
    assert [b.restart for b in tap.drain()] == [False, True, False, False]
    assert player.underruns == 1


class _Stream:
    """Stands in for the PortAudio output stream: records aborts and starts."""

    def __init__(self) -> None:
        self.active = True
        self.calls: list[str] = []
        self.latency = 0.03

    def abort(self) -> None:
        self.calls.append("abort")
        self.active = False

    def start(self) -> None:
        self.calls.append("start")
        self.active = True


def test_a_hold_drops_what_the_device_had_queued_and_resuming_plays_it() -> None:
    """Held, she falls silent at once: the audio already queued at the device (the
    buffer's 30 ms and the block just written) is dropped by restarting the stream, and
    counted as not played; resumed, she goes on from the first sample dropped. Nothing
    of the sentence is lost."""
    timing = SimpleNamespace(outputBufferDacTime=0.03, currentTime=0.0)  # 30 ms queued

    async def go() -> tuple[list[np.ndarray], _Stream, int, int]:
        player = Player(rate_hz=16000)
        player._stream = stream = _Stream()
        sentence = np.arange(1, 16001, dtype=np.int16)  # every sample told apart
        playing = asyncio.ensure_future(player.play(sentence, 16000))
        await asyncio.sleep(0)  # a yield: play() hands the sentence over before it waits
        assert player._job is not None
        written: list[np.ndarray] = []

        def callback() -> None:
            block = np.zeros((1600, 1), np.int16)
            player._callback(block, 1600, timing, None)
            written.append(block[:, 0].copy())

        for _ in range(3):
            callback()
        before = player._job.position
        player.hold(True)
        after = player._job.position
        for _ in range(2):
            callback()  # held: silence
        player.hold(False)
        while not playing.done():
            callback()
            await asyncio.sleep(0)
        await playing
        return written, stream, before, after

    written, stream, before, after = asyncio.run(go())
    assert stream.calls[-2:] == ["abort", "start"]  # the hold's restart
    # The last block and the 30 ms queued ahead of it were dropped, give or take the
    # milliseconds the test itself took.
    assert 1600 + 480 - 80 <= before - after <= 1600 + 480, (before, after)
    heard = np.concatenate(written)
    said = heard[heard != 0]
    assert np.array_equal(np.unique(said), np.arange(1, 16001)), "a sample was lost"
    resumed = int(np.flatnonzero(np.diff(said.astype(np.int32)) != 1)[0]) + 1
    assert said[resumed] == said[resumed - 1] - (before - after) + 1  # from the first dropped
