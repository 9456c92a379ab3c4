"""The Endpointer: real Silero on real clips, plus its state machine on scripted probabilities."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

import numpy as np
import pytest
from speech_data import clip, non_speech

from voiceos.listen.endpointer import (
    Endpointer,
    EndReason,
    Event,
    SpeechDiscarded,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    State,
)
from voiceos.listen.vad import WINDOW_SAMPLES, SileroVad
from voiceos.types import AudioChunk

RATE = 16000
E = TypeVar("E")

SINGLE_UTTERANCE_CLIPS = [
    "another_engineer",
    "testing_routine",
    "goforward",
    "sense_and_sensibility_01_austen_64kb-0880",
    "2830-3980-0043",
    "8455-210777-0068",
]
"""Clips with no pause as long as the default 500 ms end-of-speech silence."""


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), dtype=np.int16)


def chunked(samples: np.ndarray, sizes: str, stamp0: float = 0.0) -> Iterator[AudioChunk]:
    """Cut a stream into chunks: fixed sizes, or random ones ("random")."""
    rng = np.random.default_rng(11)
    offset = 0
    while offset < samples.size:
        size = int(rng.integers(1, 4000)) if sizes == "random" else int(sizes)
        stamp = stamp0 + offset / RATE if stamp0 else 0.0
        yield AudioChunk(samples[offset : offset + size], RATE, stamp)
        offset += size


def run(endpointer: Endpointer, samples: np.ndarray, sizes: str = "random") -> list[Event]:
    events: list[Event] = []
    for chunk in chunked(samples, sizes):
        events.extend(endpointer.feed(chunk))
    return events


def of_type(events: Sequence[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def speech_span(samples: np.ndarray) -> tuple[int, int]:
    """Where the talking is: the first and last 30 ms runs of frames well above the noise
    floor (a lone click of 10 ms does not count)."""
    frames = samples[: samples.size // 160 * 160].astype(np.float64).reshape(-1, 160)
    level_db = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-3)
    floor_db = np.percentile(level_db, 10)
    loud = level_db > max(floor_db + 15, level_db.max() - 30)
    runs = np.flatnonzero(np.convolve(loud, np.ones(3), "valid") == 3)
    return int(runs[0]) * 160, (int(runs[-1]) + 3) * 160


def check_utterance(
    stream: np.ndarray, started: SpeechStarted, ended: SpeechEnded, span: tuple[int, int]
) -> None:
    """The utterance is an exact slice of the stream from pre-roll to past the speech."""
    first_window = round(started.t_s * RATE)
    start = max(0, first_window - 10 * WINDOW_SAMPLES)  # 300 ms pre-roll = 10 windows
    assert np.array_equal(ended.audio, stream[start : start + ended.audio.size])
    speech_on, speech_off = span
    assert start <= speech_on - int(0.1 * RATE), "the first syllable needs pre-roll to spare"
    assert start + ended.audio.size >= speech_off, "the last syllable is cut"


@pytest.fixture
def silero() -> SileroVad:
    vad = SileroVad()
    vad.start()
    return vad


def endpointer(vad: object, **settings: float) -> Endpointer:
    return Endpointer(vad, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("sizes", ["random", "160", "4096"])
@pytest.mark.parametrize("name", SINGLE_UTTERANCE_CLIPS)
def test_one_clip_gives_one_utterance_with_its_onset(
    silero: SileroVad, name: str, sizes: str
) -> None:
    speech = clip(name).samples()
    lead = RATE  # one second of silence before the clip
    stream = np.concatenate([silence(1.0), speech, silence(1.5)])
    events = run(endpointer(silero), stream, sizes)

    started, ended = of_type(events, SpeechStarted), of_type(events, SpeechEnded)
    assert len(started) == 1 and len(ended) == 1, events
    assert events.index(started[0]) < events.index(ended[0])
    utterance = ended[0]
    assert utterance.reason is EndReason.SILENCE

    on, off = speech_span(speech)
    check_utterance(stream, started[0], utterance, (lead + on, lead + off))
    assert utterance.t_s <= (lead + speech.size) / RATE + 0.1


def test_same_events_whatever_the_chunking(silero: SileroVad) -> None:
    stream = np.concatenate([silence(0.7), clip("goforward").samples(), silence(1.0)])
    results = []
    for sizes in ("random", "1000", "512", "37"):
        silero.reset()
        events = run(endpointer(silero), stream, sizes)
        results.append(
            [(type(e).__name__, e.t_s, getattr(e, "audio", np.zeros(0)).size) for e in events]
        )
    assert all(r == results[0] for r in results[1:])


def test_two_clips_a_second_apart_are_two_utterances(silero: SileroVad) -> None:
    first, second = clip("testing_routine").samples(), clip("another_engineer").samples()
    gap = silence(1.0)
    stream = np.concatenate([silence(0.5), first, gap, second, silence(1.5)])
    events = run(endpointer(silero), stream)
    started, ended = of_type(events, SpeechStarted), of_type(events, SpeechEnded)
    assert len(started) == 2 and len(ended) == 2, events
    offsets = (RATE // 2, RATE // 2 + first.size + gap.size)
    for begin, end, clip_samples, offset in zip(
        started, ended, (first, second), offsets, strict=True
    ):
        on, off = speech_span(clip_samples)
        check_utterance(stream, begin, end, (offset + on, offset + off))


@pytest.mark.parametrize("name", list(non_speech(4.0)))
def test_noise_tone_and_clicks_start_no_turn(silero: SileroVad, name: str) -> None:
    stream = non_speech(4.0)[name]
    events = run(endpointer(silero), stream)
    assert not of_type(events, SpeechStarted) and not of_type(events, SpeechEnded), events


def test_a_long_utterance_is_cut_at_max_length(silero: SileroVad) -> None:
    speech = clip("sense_and_sensibility_01_austen_64kb-0870").samples()  # 7.1 s of reading
    stream = np.concatenate([silence(0.5), speech, silence(1.5)])
    ended = of_type(run(endpointer(silero, max_utterance_s=3.0), stream), SpeechEnded)
    assert ended[0].reason is EndReason.MAX_LENGTH
    # Three seconds from the first speech window, plus the 300 ms pre-roll.
    assert 3.0 <= ended[0].audio.size / RATE <= 3.0 + 0.35
    assert ended[-1].reason is EndReason.SILENCE  # the rest is heard as it ends


# --- the state machine, on scripted probabilities -------------------------------------


class Script:
    """A fake VAD: returns the given probability for each window in turn."""

    def __init__(self, probabilities: Sequence[float]) -> None:
        self.probabilities = list(probabilities)
        self.calls = 0
        self.resets = 0

    def probability(self, frame: np.ndarray) -> float:
        assert frame.shape == (WINDOW_SAMPLES,) and frame.dtype == np.float32
        p = self.probabilities[self.calls] if self.calls < len(self.probabilities) else 0.0
        self.calls += 1
        return p

    def reset(self) -> None:
        self.resets += 1


def windows(count: int) -> np.ndarray:
    """A ramp so that every window's audio is distinguishable."""
    return (np.arange(count * WINDOW_SAMPLES) % 30000).astype(np.int16)


def scripted(pattern: Sequence[tuple[float, int]], **settings: float) -> tuple[list[Event], Script]:
    probabilities = [p for p, n in pattern for _ in range(n)]
    vad = Script(probabilities)
    events = run(endpointer(vad, **settings), windows(len(probabilities) + 40))
    return events, vad


def test_a_short_burst_is_discarded_not_started() -> None:
    # 500 ms end silence = 16 windows; 200 ms minimum speech = 7 windows.
    events, _ = scripted([(0.0, 5), (0.9, 3), (0.0, 30)])
    assert [type(e) for e in events] == [SpeechDiscarded]
    assert of_type(events, SpeechDiscarded)[0].duration_s == pytest.approx(3 * 0.032)


def test_pause_then_end_carry_the_same_audio() -> None:
    events, _ = scripted([(0.0, 12), (0.9, 20), (0.1, 30)])
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused, SpeechEnded]
    paused, ended = of_type(events, SpeechPaused)[0], of_type(events, SpeechEnded)[0]
    assert np.array_equal(paused.audio, ended.audio)
    assert paused.t_s == ended.t_s == pytest.approx(32 * 0.032)
    # pre-roll (10 windows) + speech (20) + tail (5 windows = 160 ms)
    assert ended.audio.size == (10 + 20 + 5) * WINDOW_SAMPLES


def test_speech_resuming_after_a_pause_withdraws_it() -> None:
    events, _ = scripted([(0.0, 3), (0.9, 10), (0.0, 12), (0.9, 10), (0.0, 30)])
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechResumed, SpeechPaused, SpeechEnded]
    ended, first_pause = of_type(events, SpeechEnded)[0], of_type(events, SpeechPaused)[0]
    assert ended.audio.size > first_pause.audio.size
    # The pre-roll is cut short by the start of the stream: 3 windows were all there was.
    assert ended.audio.size == (3 + 10 + 12 + 10 + 5) * WINDOW_SAMPLES


def test_pause_event_can_be_turned_off() -> None:
    events, _ = scripted([(0.9, 10), (0.0, 30)], pause_fraction=0)
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]


def test_end_silence_sets_when_the_turn_ends() -> None:
    fast, _ = scripted([(0.9, 10), (0.0, 40)], end_silence_ms=200)
    slow, _ = scripted([(0.9, 10), (0.0, 40)], end_silence_ms=1000)
    # The turn is decided once that silence has been heard; the event records the end
    # of speech itself, so both give the same t_s.
    assert of_type(fast, SpeechEnded)[0].t_s == of_type(slow, SpeechEnded)[0].t_s


def test_hovering_below_threshold_still_ends_the_turn() -> None:
    events, _ = scripted([(0.9, 10), (0.45, 40)], threshold=0.5)
    assert of_type(events, SpeechEnded)


def test_capture_times_follow_the_chunks() -> None:
    vad = Script([0.0] * 20 + [0.9] * 15 + [0.0] * 40)
    ep = endpointer(vad)
    events: list[Event] = []
    for chunk in chunked(windows(80), "700", stamp0=1000.0):
        events.extend(ep.feed(chunk))
    started, ended = of_type(events, SpeechStarted)[0], of_type(events, SpeechEnded)[0]
    assert started.captured_s == pytest.approx(1000.0 + started.t_s, abs=1e-6)
    assert ended.captured_s == pytest.approx(1000.0 + ended.t_s, abs=1e-6)


def test_reset_forgets_the_utterance_and_the_vad_state() -> None:
    vad = Script([0.9] * 100)
    ep = endpointer(vad)
    ep.feed(AudioChunk(windows(10), RATE))
    assert ep.state is State.SPEAKING
    ep.reset()
    assert ep.state is State.QUIET and vad.resets == 1


def test_other_rates_are_refused() -> None:
    ep = endpointer(Script([]))
    with pytest.raises(ValueError, match="16000"):
        ep.feed(AudioChunk(np.zeros(480, np.int16), 48000))
