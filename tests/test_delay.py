"""The echo delay tracker on real recorded speech through synthetic echo paths (no devices).

On the lab, each restarted output stream steps the delay the stage sees by a few samples,
and a resync of the microphone's clock by about 6 ms (bench/echo_record.py). The paths here
step the same way at the pause after each sentence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from echo_paths import (
    DIRECT,
    HARD,
    LAB_LIKE,
    PLAYER_RATE,
    REFLECTED,
    T0,
    EchoPath,
    Handed,
    as_int16,
    direct_and_reflected,
    mic_signal,
    run_stage,
    stepped_echo,
)
from speech_data import clip, clips

from voiceos.audio.delay import EchoDelayTracker
from voiceos.audio.echo import FAR_ACTIVE_DB, EchoError, level_db, open_canceller, open_detector
from voiceos.audio.echostage import EchoFrame, EchoStage
from voiceos.audio.pcm import resample
from voiceos.audio.reference import ReferenceTap
from voiceos.types import AudioChunk

RATE = 16000
CHUNK = 512
SENTENCES = (
    "LJ050-0131",
    "sense_and_sensibility_01_austen_64kb-0870",
    "another_engineer",
    "testing_routine",
)
STEPS = [16, -96, 22]
"""Samples the delay moves at each pause: two restarted streams and a clock resync, as
measured on the lab (+7 to +22 samples, and -97)."""
LAB_LAG = int(LAB_LIKE.delay_ms * RATE / 1000)


@pytest.fixture(scope="module")
def stepped() -> tuple[np.ndarray, np.ndarray, list[int]]:
    return stepped_echo([clip(n).samples() for n in SENTENCES], LAB_LIKE, STEPS)


def _track(
    tracker: EchoDelayTracker, mic: np.ndarray, far: np.ndarray
) -> tuple[list[int | None], list[bool]]:
    lags, current = [], []
    for i in range(0, len(mic), CHUNK):
        tracker.add(mic[i : i + CHUNK], far[i : i + CHUNK])
        lags.append(tracker.lag)
        current.append(tracker.current)
    return lags, current


def test_the_lag_follows_each_step_of_the_clocks(stepped) -> None:
    far, mic, starts = stepped
    lags, current = _track(EchoDelayTracker(), mic, far)
    expected = LAB_LAG + np.cumsum([0, *STEPS])
    for k, start in enumerate(starts):
        end = (starts[k + 1] if k + 1 < len(starts) else len(mic)) - RATE // 2  # before the gap
        assert lags[end // CHUNK - 1] == pytest.approx(expected[k], abs=2), k
        # Followed within about half a second of her speaking again.
        soon = (start + RATE * 6 // 10) // CHUNK
        assert lags[soon] == pytest.approx(expected[k], abs=2), (k, lags[start // CHUNK : soon])
        if k:  # a filter handed the moved reference is not read until it settles on it
            moved = next(i for i in range(start // CHUNK, soon + 1) if lags[i] != lags[i - 1])
            assert not current[moved]
            assert current[moved + RATE // 2 // CHUNK], f"still unsettled in sentence {k}"


def test_a_user_talking_over_her_never_moves_the_lag(stepped) -> None:
    """The user, louder than her echo, for the whole of a sentence: no measure is taken
    from them (their voice does not match the reference), so the lag stays hers."""
    far, mic, starts = stepped
    user = clip("8455-210777-0068").samples().astype(np.int32) * 2
    mixed = mic.astype(np.int32)
    at = starts[1] + RATE // 4
    end = min(len(mixed), at + len(user))
    mixed[at:end] += user[: end - at]
    lags, _ = _track(EchoDelayTracker(), np.clip(mixed, -32768, 32767).astype(np.int16), far)
    expected = LAB_LAG + np.cumsum([0, *STEPS])
    for i, lag in enumerate(lags):
        k = int(np.searchsorted(starts, i * CHUNK, side="right")) - 1
        allowed = {round(expected[k]), round(expected[max(0, k - 1)])}  # before it catches up
        assert lag is None or min(abs(lag - a) for a in allowed) <= 2, (i * CHUNK / RATE, lag)


def test_sound_unrelated_to_her_measures_nothing() -> None:
    """A microphone that never hears her (headphones): no lag, and nothing to doubt."""
    far = clip("LJ050-0131").samples()
    near = clip("another_engineer").samples()
    n = min(len(far), len(near))
    tracker = EchoDelayTracker()
    lags, current = _track(tracker, near[:n], far[:n])
    assert set(lags) == {None} and all(current)
    assert tracker.measures == 0


def _detector_erle(far: np.ndarray, mic: np.ndarray, tracker: EchoDelayTracker | None) -> float:
    try:
        canceller, detector = open_canceller("webrtc"), open_detector("speex")
    except EchoError as exc:
        pytest.skip(str(exc))
    if detector is None:
        pytest.skip("libspeexdsp is needed")
    tap = ReferenceTap()
    stage = EchoStage(canceller, tap, detector=detector, tracker=tracker)
    frames: list[EchoFrame | None] = []
    run_stage(stage, tap, far, mic, frames=frames)
    kept = [
        f.mic_db - f.near_db
        for f in frames
        if f is not None and f.near_db is not None and f.far_db > -50 and f.mic_db > -50
    ]
    return float(np.median(kept[len(kept) // 3 :]))  # the second and later sentences


def test_the_detector_keeps_her_echo_out_across_the_steps(stepped) -> None:
    """Given the reference as it arrives with her echo, the detector's linear filter
    neither starts over at each step nor waits out a 45 ms bulk delay."""
    far, mic, _ = stepped
    tracked = _detector_erle(far, mic, EchoDelayTracker())
    untracked = _detector_erle(far, mic, None)
    # Measured: 22.8 dB tracked, 14.1 dB not; the policy reads it from 20 dB.
    assert tracked > 20.0
    assert tracked > untracked + 5.0


SLOW = EchoPath("slow: 600 ms, -3 dB, dry", 600, -3, 0)
"""Her echo 600 ms behind the clocks: a Bluetooth speaker's buffer, or a PulseAudio loop
whose buffers grew at each underrun (test_voice_e2e's reached 940 ms)."""


def test_a_slow_echo_path_still_counts_as_echoing_after_she_stops() -> None:
    """Beyond the echo tail, the tracker still finds her echo; the stage then reads the
    reference where her echo comes from: after she falls silent it knows her echo is still
    on its way (a hold is not confirmed by it), and a microphone that has not heard her
    yet is not taken for one that never will (no echo reduction counted from it)."""
    try:
        canceller, detector = open_canceller("webrtc"), open_detector("speex")
    except EchoError as exc:
        pytest.skip(str(exc))
    speech = clip("LJ050-0131").samples()
    far = np.concatenate([speech, np.zeros(RATE * 3 // 2, np.int16)])
    mic = mic_signal(far, SLOW)
    tap, tracker = ReferenceTap(), EchoDelayTracker()
    stage = EchoStage(canceller, tap, detector=detector, tracker=tracker)
    frames: list[EchoFrame | None] = []
    erle: list[float | None] = []
    run_stage(stage, tap, far, mic, frames=frames, after=lambda: erle.append(stage.erle_db))
    assert tracker.lag == pytest.approx(SLOW.delay_ms * RATE / 1000, abs=2)
    delay = int(SLOW.delay_ms * RATE / 1000)
    # Before her echo first arrives, the microphone's quiet proves nothing.
    assert set(erle[: delay // CHUNK]) == {None}
    # After her last word: her echo is still arriving for 600 ms, and said to be.
    last = int(np.flatnonzero(np.abs(speech) > 300)[-1])
    still = [f for f in frames[(last + RATE // 10) // CHUNK : (last + delay) // CHUNK] if f]
    assert still and all(f.recent_far_db > FAR_ACTIVE_DB for f in still)
    after = [f for f in frames[(last + delay + RATE // 5) // CHUNK :] if f]
    assert after and all(f.recent_far_db <= FAR_ACTIVE_DB for f in after)


def _cancelled(
    far: np.ndarray, mic: np.ndarray, tracker: EchoDelayTracker | None
) -> tuple[Handed, np.ndarray]:
    """AEC3 as the stage ran it, and what the stage made of the microphone."""
    try:
        canceller = Handed(open_canceller("webrtc"))
        detector = open_detector("speex")
    except EchoError as exc:
        pytest.skip(str(exc))
    tap = ReferenceTap()
    stage = EchoStage(canceller, tap, detector=detector, tracker=tracker)
    return canceller, run_stage(stage, tap, far, mic)


def _erle_db(mic: np.ndarray, cleaned: np.ndarray, start: int) -> float:
    """Echo taken out from sample `start` on (where she plays and her echo is heard)."""
    end = min(len(mic), len(cleaned))
    return level_db(mic[start:end]) - level_db(cleaned[start:end])


def test_her_echo_beyond_the_cancellers_reach_is_cancelled_on_a_moved_reference() -> None:
    """AEC3 finds her echo by itself up to about half a second behind the reference it is
    given; 600 ms late, the stage hands it the reference where the tracker found her echo."""
    speech = np.concatenate([clip(n).samples() for n in SENTENCES[:2]])
    mic = mic_signal(speech, SLOW)
    _, cleaned = _cancelled(speech, mic, EchoDelayTracker())
    # From 3 s in: the lag is measured within a second, and AEC3 converges on the moved
    # reference in another. Measured: 1 dB without the move.
    assert _erle_db(mic, cleaned, 3 * RATE) > 20.0


def test_within_the_cancellers_reach_its_reference_is_never_moved(stepped) -> None:
    """On a lab-like path whose delay steps, AEC3 gets the reference exactly as the clocks
    place it, as it would without a tracker: the tracker's moves never jolt it."""
    far, mic, _ = stepped
    tracked, _ = _cancelled(far, mic, EchoDelayTracker())
    alone, _ = _cancelled(far, mic, None)
    assert np.array_equal(np.concatenate(tracked.reference), np.concatenate(alone.reference))


def test_sentences_stay_aligned_when_the_sound_server_clock_runs_off() -> None:
    """Both streams count samples on the sound server's clock, which runs 400 ppm off the
    monotonic one here (the lab's: 180 ppm). The player restarts its stream for each
    sentence, placed by its stamps; the microphone's clock follows its sample count, and
    moves 6 ms at once when its stamps have drifted that far. Her echo must stay where
    the stage reads it, sentence after sentence and across that move: placed by monotonic
    time, each sentence landed 1-2 ms later than the last, and the move shifted it 6 ms."""
    ppm, delay = 400e-6, 30 * RATE // 1000
    sentences = [c.samples() for c in clips() if c.is_sentence][:8]
    gap = RATE // 2
    starts, at = [], RATE // 2
    for s in sentences:
        starts.append(at)
        at += len(s) + gap
    far = np.zeros(at, dtype=np.int16)
    for start, s in zip(starts, sentences, strict=True):
        far[start : start + len(s)] = s
    mic = np.concatenate([np.zeros(delay, np.int16), far[:-delay] // 2])

    def stamp(virtual_s: float) -> float:  # the server's time, as the monotonic clock says
        return T0 + virtual_s * (1 + ppm)

    canceller = Handed(open_canceller("webrtc"))
    tap = ReferenceTap()
    stage = EchoStage(canceller, tap)
    played = [resample(s, RATE, PLAYER_RATE) for s in sentences]
    blocks = [
        (start / RATE + i / PLAYER_RATE, p[i : i + 512], i == 0)
        for start, p in zip(starts, played, strict=True)
        for i in range(0, len(p), 512)
    ]
    for k in range(0, len(mic) - 511, 512):
        while blocks and blocks[0][0] <= k / RATE + 0.06:
            virtual_s, samples, restart = blocks.pop(0)
            tap.publish(samples.astype(np.int16), PLAYER_RATE, stamp(virtual_s), restart)
        stage.process(AudioChunk(mic[k : k + 512], RATE, stamp(k / RATE)))
    assert ppm * len(mic) / RATE > 0.010  # its stamps drift past a move of its clock
    reference = np.concatenate(canceller.reference)
    lags = []
    for start in starts:
        at = start + RATE // 4  # half a second inside the sentence
        heard = mic[at : at + RATE // 2].astype(np.float64)
        ref = reference[at - delay - 160 : at + RATE // 2 - delay + 160]
        score = np.correlate(ref.astype(np.float64), heard, mode="valid")
        lags.append(delay + 160 - int(np.argmax(score)))
    assert max(lags) - min(lags) <= 4, lags  # within a quarter of a millisecond


def test_a_reflection_never_takes_the_lag_from_the_direct_sound() -> None:
    """The bench's harder path: the direct sound 60 ms late and a reflection at half its
    level 150 ms after it. Where she paused, the microphone holds only the reflection and
    matches the reference best there; the filter given the reference at that lag could not
    reach the direct sound (it would come before the reference). The lag stays on the
    direct sound, the first arrival."""
    far = np.concatenate([clip(n).samples() for n in SENTENCES])
    tracker = EchoDelayTracker()
    lags, _ = _track(tracker, as_int16(direct_and_reflected(far)), far)
    measured = [lag for lag in lags if lag is not None]
    assert len(measured) > len(lags) // 2
    assert all(abs(lag - DIRECT) <= 2 for lag in measured), sorted(set(measured))
    assert tracker.moves == 0
    # ...and it knows her echo comes for 150 ms more.
    assert tracker.spread == pytest.approx(REFLECTED - DIRECT, abs=2)


def test_a_single_echo_path_has_no_later_arrival(stepped) -> None:
    """Her echo through one path, stepped by the clocks as on the lab or recorded on the
    lab, or through a room's diffuse tail: nothing is taken for a reflection (her echo
    would be waited for that much longer after she stops)."""
    far, mic, _ = stepped
    hard_far = np.concatenate([clip(n).samples() for n in SENTENCES[:2]])
    with np.load(Path(__file__).parent / "data" / "lab_echo_steps.npz") as recording:
        lab = recording["mic"].astype(np.int16), recording["reference"].astype(np.int16)
    for heard, played in ((mic, far), (mic_signal(hard_far, HARD), hard_far), lab):
        tracker = EchoDelayTracker()
        _track(tracker, heard, played)
        assert tracker.spread == 0
