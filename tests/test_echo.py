"""The echo-cancelling stage on real recorded speech through synthetic echo paths (no devices).

ERLE floors were measured with tests/echo_paths.py (see BENCHMARKS.md, "Echo cancellation"):
after the first 3 s, speex reached 24-50 dB per second and AEC3 40-51 dB on both paths; the
floors leave about 10 dB of margin.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from echo_paths import HARD, LAB_LIKE, PATHS, EchoPath, mic_signal, run_stage
from speech_data import clip

from voiceos.audio.echo import (
    EchoError,
    cancel_arrays,
    erle_db,
    level_db,
    open_canceller,
    open_detector,
    window_levels_db,
)
from voiceos.audio.echostage import EchoStage, Residue
from voiceos.audio.reference import PlayedBlock, ReferenceTap, ReferenceTimeline
from voiceos.types import AudioChunk

RATE = 16000
SETTLE = 3 * RATE
"""Adaptive filters converge during the first seconds; floors hold after that."""
FLOORS_DB = {"speex": 15.0, "webrtc": 30.0}


def _backend_or_skip(name: str) -> None:
    try:
        open_canceller(name).close()
    except EchoError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def far() -> np.ndarray:
    return np.concatenate(
        [clip("LJ050-0131").samples(), clip("sense_and_sensibility_01_austen_64kb-0870").samples()]
    )


@pytest.fixture(scope="module")
def near() -> np.ndarray:
    return clip("another_engineer").samples()


def _stage(backend: str = "speex") -> tuple[EchoStage, ReferenceTap]:
    tap = ReferenceTap()
    return EchoStage(open_canceller(backend), tap), tap


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n].astype(float), b[:n].astype(float))[0, 1])


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name.split(":")[0])
@pytest.mark.parametrize("backend", ["speex", "webrtc"])
def test_echo_is_removed_above_the_measured_floor(
    backend: str, path: EchoPath, far: np.ndarray
) -> None:
    _backend_or_skip(backend)
    mic = mic_signal(far, path)
    stage, tap = _stage(backend)
    out = run_stage(stage, tap, far, mic)
    n = len(out)
    assert n >= len(mic) - 512
    assert erle_db(mic[SETTLE:n], out[SETTLE:], far[SETTLE:n]) >= FLOORS_DB[backend]
    assert stage.late_samples < 512
    assert stage.erle_db is not None and stage.erle_db >= FLOORS_DB[backend]


def test_the_near_talker_survives_double_talk(far: np.ndarray, near: np.ndarray) -> None:
    """The user's voice over her echo comes out close to the clean recording (speex)."""
    at_s = 6.0
    mic = mic_signal(far, LAB_LIKE, near, at_s)
    stage, tap = _stage()
    out = run_stage(stage, tap, far, mic)
    start = int(at_s * RATE)
    segment = out[start : start + len(near)]
    assert _correlation(segment, near) > 0.8
    # What is left is mostly the user: far above the echo's residue before they spoke.
    assert level_db(segment) - level_db(out[start - 2 * RATE : start]) > 15


def test_no_reference_leaves_the_microphone_alone(near: np.ndarray) -> None:
    """Nothing ever played (a muted turn, a silent speaker): the user passes through."""
    stage, _ = _stage()
    out = run_stage(stage, None, np.zeros(len(near), np.int16), near)
    assert _correlation(out, near) > 0.85  # 0.91 measured: speex high-passes and denoises
    assert stage.erle_db is None


def test_a_silent_reference_leaves_the_microphone_alone(near: np.ndarray) -> None:
    stage, tap = _stage()
    out = run_stage(stage, tap, np.zeros(len(near), np.int16), near)
    assert _correlation(out, near) > 0.85  # 0.91 measured: speex high-passes and denoises
    assert stage.late_samples < 512  # only the resampler's last few samples at the very end


def test_a_late_reference_is_counted_and_does_no_harm(far: np.ndarray, near: np.ndarray) -> None:
    """The player's blocks arrive after the echo was captured: no cancellation, no damage."""
    mic = mic_signal(far, HARD, near, 6.0)
    stage, tap = _stage()
    out = run_stage(stage, tap, far, mic, reference_late_s=1.0)
    assert stage.late_samples > RATE
    start = int(6.0 * RATE)
    assert _correlation(out[start : start + len(near)], mic[start : start + len(near)]) > 0.7


def test_chunks_without_capture_time_pass_through(near: np.ndarray) -> None:
    stage, _ = _stage()
    out = stage.process(AudioChunk(near[:512], RATE, 0.0))
    assert out is not None and np.array_equal(out.samples, near[:512])
    assert stage.last is None


def test_the_stage_closes_its_canceller_when_the_stream_ends(near: np.ndarray) -> None:
    import asyncio

    closed: list[bool] = []

    class Passing:
        name = "fake"
        frame_samples = 256
        latency_samples = 0
        reach_samples = 0

        def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
            return mic

        def close(self) -> None:
            closed.append(True)

    async def source() -> Iterator[AudioChunk]:  # type: ignore[misc]
        for i in range(4):
            yield AudioChunk(near[i * 512 : (i + 1) * 512], RATE, 10.0 + i * 0.032)

    async def collect() -> int:
        stage = EchoStage(Passing(), ReferenceTap())
        return sum([len(c.samples) async for c in stage.chunks(source())])

    assert asyncio.run(collect()) == 4 * 512
    assert closed == [True]


def test_an_unknown_backend_is_one_clear_error() -> None:
    with pytest.raises(EchoError, match="unknown echo canceller 'aec9'"):
        open_canceller("aec9")


def _gated_stage(backend: str = "webrtc") -> tuple[EchoStage, ReferenceTap]:
    tap = ReferenceTap()
    return EchoStage(open_canceller(backend), tap, gate=Residue()), tap


def test_her_echo_remains_are_silenced_for_the_endpointer(far: np.ndarray) -> None:
    """Silero hears speech in a residue 40 dB down; gated, her echo alone leaves silence."""
    _backend_or_skip("webrtc")
    mic = mic_signal(far, LAB_LIKE)
    plain, plain_tap = _stage("webrtc")
    gated, gated_tap = _gated_stage()
    residue = run_stage(plain, plain_tap, far, mic)[SETTLE:]
    silenced = run_stage(gated, gated_tap, far, mic)[SETTLE:]
    assert gated.echo_heard
    assert np.count_nonzero(residue) > 0.5 * residue.size  # what the gate has to remove
    assert np.count_nonzero(silenced) < 0.1 * silenced.size


def test_the_gate_leaves_the_user_alone_when_no_echo_reaches_the_mic(
    far: np.ndarray, near: np.ndarray
) -> None:
    """Headphones: she plays, the mic hears only the user. Nothing is silenced, even where
    the canceller takes the user down (a reference placed late by a busy clock)."""
    _backend_or_skip("webrtc")
    at_s = 6.0
    silent_path = EchoPath("headphones", 45, -120, 0)
    mic = mic_signal(far, silent_path, near, at_s)
    stage, tap = _gated_stage()
    out = run_stage(stage, tap, far, mic)
    plain, plain_tap = _stage("webrtc")
    assert not stage.echo_heard
    assert np.array_equal(out, run_stage(plain, plain_tap, far, mic))  # nothing silenced
    start = int(at_s * RATE)
    # The user is there (0.68 measured: AEC3 reshapes a near talker while she plays, even
    # with no echo to remove).
    assert _correlation(out[start : start + len(near)], near) > 0.5


def test_a_restarted_stream_is_placed_by_its_new_clock() -> None:
    # An idle player restarts its stream for the next sentence (Player.IDLE_RESTART_S): the
    # silence it had buffered is dropped, so the sentence plays ~30 ms before the old
    # stream's sample clock says. The timeline must follow the new stamps at once, or the
    # canceller would subtract the wrong stretch at the start of every reply. The first
    # block's own stamp says 30 ms later than the rest (PortAudio stamps it before the
    # stream runs): it is placed by the next block's.
    timeline = ReferenceTimeline()
    rate, block = 22050, 441  # 20 ms blocks
    t0 = 1000.0
    for k in range(50):  # one second of silence, stamped steadily
        timeline.add(PlayedBlock(np.zeros(block, np.int16), rate, t0 + k * block / rate))
    end = t0 + 50 * block / rate
    restart = end - 0.03
    loud = np.full(block, 8000, np.int16)
    timeline.add(PlayedBlock(loud, rate, restart + 0.03, restart=True))  # stamped late
    for k in range(1, 5):
        timeline.add(PlayedBlock(np.full(block, 4000, np.int16), rate, restart + k * block / rate))
    at = timeline.index(restart)
    heard, _ = timeline.read(at + 40, 250)  # the first block (320 samples at 16 kHz)
    assert np.all(np.abs(heard.astype(np.int32) - 8000) < 400), heard[:8]
    after, _ = timeline.read(at + 400, 1000)  # the blocks after it follow on
    assert np.all(np.abs(after.astype(np.int32) - 4000) < 200), after[:8]
    before, _ = timeline.read(at - 200, 150)
    assert not before.any()


def test_the_detector_filter_keeps_the_user_whole_over_her_echo(
    far: np.ndarray, near: np.ndarray
) -> None:
    """speexdsp's linear filter alone (the double-talk detector): her echo goes, the user
    stays, with no look-ahead. AEC3's output of the same mix is the contrast."""
    _backend_or_skip("speex")
    _backend_or_skip("webrtc")
    at_s = 6.0
    quiet = np.rint(near * 10 ** (-6 / 20)).astype(np.int16)  # no louder than her echo
    mic = mic_signal(far, LAB_LIKE, quiet, at_s)
    detector = open_detector("speex")
    assert detector is not None and detector.latency_samples == 0
    linear = cancel_arrays(detector, mic, far)
    aec3 = cancel_arrays(open_canceller("webrtc"), mic, far)[128:]  # AEC3 lags by 8 ms
    start, end = int(at_s * RATE), int(at_s * RATE) + len(near)
    alone = mic_signal(far, LAB_LIKE)
    # 16.9 dB measured: above the 12 dB from which the policy reads it.
    assert erle_db(alone[SETTLE:start], linear[SETTLE:start], far[SETTLE:start]) > 12
    assert _correlation(linear[start:end], quiet) > 0.8  # 0.89 measured (AEC3: 0.63)
    assert _correlation(aec3[start:end], quiet) < _correlation(linear[start:end], quiet)
    # The user is within a few dB of what was said; the canceller took them further down.
    assert level_db(linear[start:end]) > level_db(quiet) - 3


def test_an_unknown_detector_is_one_clear_error() -> None:
    with pytest.raises(EchoError, match="unknown double-talk detector 'dtd'"):
        open_detector("dtd")
    assert open_detector("none") is None


def test_window_levels_are_level_db_of_each_window() -> None:
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(1700) * 3000).astype(np.int16)
    samples[:600] = 0  # silence reads -120 dB, as level_db has it
    by_hand = [level_db(samples[i : i + 512]) for i in range(0, 1700 - 512 + 1, 512)]
    assert np.allclose(window_levels_db(samples, 512), by_hand)
    halves = [level_db(samples[i : i + 512]) for i in range(0, 1700 - 512 + 1, 256)]
    assert np.allclose(window_levels_db(samples, 512, 256), halves)
    tail = [level_db(samples[i : i + 512]) for i in range(0, 1700, 512)]
    assert np.allclose(window_levels_db(samples, 512, partial=True), tail)
    assert window_levels_db(samples[:100], 512).size == 0
