"""The barge-in wiring with stand-ins for the devices (logic only), and when it is built."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from echo_paths import LAB_LIKE, mic_signal, run_stage
from speech_data import clip, word_cuts

from voiceos import config as config_mod
from voiceos.audio.echo import EchoError, level_db, open_canceller, open_detector
from voiceos.audio.echostage import EchoFrame, EchoStage
from voiceos.audio.reference import ReferenceTap
from voiceos.commands.echo_setup import build_echo
from voiceos.interrupting import Interrupter
from voiceos.listen.bargein import BargeInPolicy, BargeInSettings, residue_for
from voiceos.speak.speaker import NullSpeaker
from voiceos.types import AudioChunk, Transcript

RATE = 16000
COUNTING = BargeInSettings(residue=residue_for("webrtc"), detector_erle_db=15.0)
"""The detector counting as it does on this synthetic path from 15 dB of echo reduction."""


class Stage:
    """Stands in for the EchoStage: the levels of the chunk just read."""

    def __init__(self) -> None:
        self.last: EchoFrame | None = None
        self.erle_db: float | None = 30.0


class Rig:
    def __init__(self) -> None:
        self.stage = Stage()
        self.holds: list[bool] = []
        self.stopped = 0
        self.turns: list[str] = []
        self.interrupter: Interrupter[str] = Interrupter(
            self.stage,  # type: ignore[arg-type]
            BargeInPolicy(),
            self.holds.append,
            self._stop,
        )
        self.t = 0.0

    def _stop(self) -> None:
        self.stopped += 1

    def chunk(self, out_db: float, far_db: float = -15.0, speaking: bool = True) -> None:
        self.t += 0.032
        self.stage.last = EchoFrame(-20.0, out_db, far_db, self.t, recent_far_db=far_db)
        self.interrupter.on_chunk(speaking)

    def user_speaks(self) -> None:
        """The user starts over her reply; she holds, falls silent, and hears them alone."""
        before = len(self.holds)
        self.chunk(-21.0)
        self.chunk(-21.0)
        assert self.holds[before:] == [True]
        for _ in range(3):
            self.chunk(-21.0, far_db=-120.0)
        assert self.interrupter.user_started(self.t)


async def _transcript(text: str) -> asyncio.Future[Transcript]:
    future: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
    future.set_result(Transcript(text))
    return future


def test_a_backchannel_resumes_her_and_is_not_a_turn() -> None:
    async def go() -> Rig:
        rig = Rig()
        rig.user_speaks()
        early = await _transcript("Mm-hmm.")
        rig.interrupter.judge(early)
        rig.interrupter.settle("mm-hmm", early, rig.turns.append)
        await asyncio.sleep(0)
        return rig

    rig = asyncio.run(go())
    assert rig.holds == [True, False]
    assert rig.stopped == 0 and rig.turns == []
    assert rig.interrupter.backchannels == 1


def test_wait_stops_her_and_becomes_the_next_turn() -> None:
    async def go() -> Rig:
        rig = Rig()
        rig.user_speaks()
        early = await _transcript("Wait.")
        rig.interrupter.settle("wait", early, rig.turns.append)
        await asyncio.sleep(0)
        return rig

    rig = asyncio.run(go())
    assert rig.stopped == 1 and rig.turns == ["wait"]
    assert rig.holds == [True, False]  # released, so her next reply is heard


def test_nothing_heard_at_a_pause_neither_releases_her_nor_drops_the_user() -> None:
    """A breath before the words: the pause's transcript is empty. She stays held, and
    what the user then says is judged when their utterance ends (the lab bench once saw
    her resume there and talk over a sentence)."""

    async def go() -> Rig:
        rig = Rig()
        rig.user_speaks()
        rig.interrupter.judge(await _transcript(""))
        await asyncio.sleep(0)
        assert rig.holds == [True]
        rig.interrupter.settle("wait", await _transcript("Wait, is it?"), rig.turns.append)
        await asyncio.sleep(0)
        return rig

    rig = asyncio.run(go())
    assert rig.turns == ["wait"] and rig.stopped == 1


def test_her_next_reply_can_be_interrupted_straight_after_an_interruption() -> None:
    """The interruption becomes a turn and her answer to it starts at once, with no
    chunk read in between where she is silent: speech over that answer is still heard as
    the user's (the lab bench once lost a question this way, taken for her voice)."""

    async def go() -> Rig:
        rig = Rig()
        rig.user_speaks()
        early = await _transcript("Light.")  # misheard, and not a backchannel: a turn
        rig.interrupter.settle("light", early, rig.turns.append)
        await asyncio.sleep(0)
        assert rig.stopped == 1 and rig.turns == ["light"]
        for _ in range(10):
            rig.chunk(-95.0)  # her answer to it plays; its echo is cancelled
        rig.user_speaks()  # a question over that answer
        return rig

    rig = asyncio.run(go())
    assert rig.holds == [True, False, True]


def test_the_end_of_her_reply_releases_a_hold() -> None:
    rig = Rig()
    rig.chunk(-21.0)
    rig.chunk(-21.0)
    rig.chunk(-21.0, speaking=False)
    assert rig.holds == [True, False]


def _config(tmp_path: Path, **env: str) -> config_mod.Config:
    (tmp_path / "user.toml").write_text("")
    return config_mod.load(tmp_path / "user.toml", env=env)


def test_no_speaker_no_stage(tmp_path: Path) -> None:
    """Muted or no device: the microphone path is exactly as before."""
    setup = build_echo(_config(tmp_path), NullSpeaker(), lambda: None)
    assert setup.stage is None and setup.interrupter is None and setup.notice is None


class FakePlayer:
    tap = None

    def hold(self, held: bool) -> None:
        pass


class FakeSpeaker(NullSpeaker):
    player = FakePlayer()


def test_a_real_speaker_gets_cancellation_and_barge_in(tmp_path: Path) -> None:
    setup = build_echo(_config(tmp_path), FakeSpeaker(), lambda: None)
    assert setup.stage is not None and setup.interrupter is not None
    assert FakeSpeaker.player.tap is not None


def test_a_real_speaker_gets_the_double_talk_detector(tmp_path: Path) -> None:
    try:
        open_detector("speex")
    except EchoError as exc:
        pytest.skip(str(exc))
    setup = build_echo(_config(tmp_path), FakeSpeaker(), lambda: None)
    assert setup.stage is not None and setup.stage.detecting
    off = build_echo(_config(tmp_path, VOICEOS_ECHO_DETECTOR="none"), FakeSpeaker(), lambda: None)
    assert off.stage is not None and not off.stage.detecting and off.interrupter is not None


@pytest.mark.parametrize("env", [{"VOICEOS_ECHO_CANCEL": "false"}])
def test_cancellation_off_in_settings(tmp_path: Path, env: dict[str, str]) -> None:
    setup = build_echo(_config(tmp_path, **env), FakeSpeaker(), lambda: None)
    assert setup.stage is None and setup.interrupter is None


def test_the_users_onset_is_heard_through_the_detector() -> None:
    """Held for a real word said over her (10 dB quieter than it was recorded), listening
    starts afresh on audio where the word's first syllables are whole: the detector's
    chunks, not AEC3's, which crush them (while the detector counts: here from 15 dB)."""
    try:
        canceller, detector = open_canceller("webrtc"), open_detector("speex")
    except EchoError as exc:
        pytest.skip(str(exc))
    far = np.concatenate(
        [clip("LJ050-0131").samples(), clip("sense_and_sensibility_01_austen_64kb-0870").samples()]
    )
    word = np.rint(word_cuts()["yes"] * 10 ** (-10 / 20)).astype(np.int16)
    at_s = 9.0
    tap = ReferenceTap()
    stage = EchoStage(canceller, tap, detector=detector)
    interrupter: Interrupter[str] = Interrupter(
        stage, BargeInPolicy(COUNTING), lambda _: None, lambda: None
    )
    onsets: list[tuple[list[AudioChunk], list[AudioChunk]]] = []

    def after() -> None:
        if interrupter.on_chunk(True) and not onsets:
            onsets.append((interrupter.onset_audio(), list(stage.recent)))

    mic = mic_signal(far[: int(11 * RATE)], LAB_LIKE, word, at_s)
    run_stage(stage, tap, far[: len(mic)], mic, after=after)
    assert onsets, "the word never held her"
    spliced, cancelled = onsets[0]
    assert len(spliced) == len(cancelled)
    # The chunks that held her: the word is there at its own level through the detector.
    said = level_db(word[np.abs(word.astype(int)).argmax() - 2000 :][:4000])
    heard = max(level_db(c.samples) for c in spliced[-3:])
    crushed = max(level_db(c.samples) for c in cancelled[-3:])
    assert heard > said - 6, (heard, said)
    assert heard > crushed + 6, (heard, crushed)
    assert [c.samples is d.samples for c, d in zip(spliced, cancelled, strict=True)][:-3] == [
        True
    ] * (len(spliced) - 3)
