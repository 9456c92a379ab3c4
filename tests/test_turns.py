"""Turn taking: the pure policy beside the endpointer, on scripted and real audio.

The end-of-turn model is a deterministic stand-in here; the real Smart Turn model is
checked for its features (against a reference computed once by pipecat's own numpy
implementation) and for loading, falling back and scoring.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from speech_data import clip
from test_endpointer import Script, chunked, of_type, silence, windows

from voiceos.config import load
from voiceos.listen.build import build_turns
from voiceos.listen.endpointer import Endpointer, SpeechPaused, SpeechResumed, SpeechStarted
from voiceos.listen.smart_turn import SmartTurn, SmartTurnError, features
from voiceos.listen.turns import (
    EndMode,
    Finishing,
    MidThought,
    Overlap,
    ReplyStatus,
    TurnDetector,
    TurnEnded,
    TurnEvent,
    classify_onset,
    endpointer_timing,
    sounds_unfinished,
)
from voiceos.listen.vad import SileroVad
from voiceos.types import PCM16

RATE = 16000
FEATURES = Path(__file__).resolve().parent / "data" / "smart_turn_features_testing_routine.npy"


class StandIn:
    """A deterministic end-of-turn model: a fixed answer, or one per call."""

    def __init__(self, *answers: float) -> None:
        self.answers = list(answers)
        self.seen: list[int] = []

    def probability(self, audio: PCM16) -> float:
        self.seen.append(audio.size)
        return self.answers[min(len(self.seen), len(self.answers)) - 1]


def smart(
    vad: object,
    model: StandIn | KnowsTheEnd | None,
    complete_ms: int = 200,
    max_ms: int = 2000,
    words: bool = False,
) -> TurnDetector:
    mode = EndMode.SMART if model is not None else EndMode.SILENCE
    end_ms, fraction = endpointer_timing(mode, 500, 0.3, complete_ms, max_ms)
    endpointer = Endpointer(vad, end_silence_ms=end_ms, pause_fraction=fraction)  # type: ignore[arg-type]
    return TurnDetector(endpointer, model, check_words=words)


def feed(detector: TurnDetector, samples: np.ndarray, sizes: str = "random") -> list[TurnEvent]:
    events: list[TurnEvent] = []
    for chunk in chunked(samples, sizes):
        events.extend(detector.feed(chunk))
    return events


def scripted(pattern: list[tuple[float, int]], model: StandIn | None) -> list[TurnEvent]:
    probabilities = [p for p, n in pattern for _ in range(n)]
    detector = smart(Script(probabilities), model)
    return feed(detector, windows(len(probabilities) + 80))


# --- the policy on scripted voice activity ---------------------------------------------


def test_a_finished_utterance_ends_at_the_short_silence() -> None:
    model = StandIn(0.9)
    events = scripted([(0.0, 5), (0.9, 30), (0.0, 100)], model)
    [ended] = of_type(events, TurnEnded)
    [paused] = of_type(events, SpeechPaused)
    assert ended.reason == "finished" and ended.probability == 0.9
    assert 190 <= ended.silence_ms <= 260, ended.silence_ms  # 200 ms, in whole 32 ms windows
    assert np.array_equal(ended.audio, paused.audio)  # the early transcript stays valid
    assert not of_type(events, MidThought)
    assert len(model.seen) == 1


def test_an_unfinished_utterance_waits_up_to_the_cap() -> None:
    events = scripted([(0.0, 5), (0.9, 30), (0.0, 100)], StandIn(0.1))
    [paused] = of_type(events, SpeechPaused)
    [waiting] = of_type(events, MidThought)
    [ended] = of_type(events, TurnEnded)
    assert waiting.probability == 0.1
    assert ended.reason == "max_silence" and ended.probability == 0.1
    assert 1990 <= ended.silence_ms <= 2050, ended.silence_ms
    assert np.array_equal(ended.audio, paused.audio)
    assert events.index(waiting) < events.index(ended)


def test_going_on_after_an_unfinished_pause_stays_one_turn() -> None:
    model = StandIn(0.1, 0.95)  # mid-thought at the first pause, finished at the second
    pattern = [(0.0, 5), (0.9, 30), (0.0, 30), (0.9, 30), (0.0, 100)]
    events = scripted(pattern, model)
    [ended] = of_type(events, TurnEnded)
    assert len(of_type(events, SpeechStarted)) == 1
    assert len(of_type(events, SpeechResumed)) == 1
    assert ended.reason == "finished"
    assert ended.audio.size >= 90 * 512  # both parts and the pause between them
    assert model.seen[1] > model.seen[0]


def test_audio_ending_mid_wait_still_ends_the_turn() -> None:
    probabilities = [0.0] * 5 + [0.9] * 30 + [0.0] * 20  # stops 640 ms into a 2 s wait
    detector = smart(Script(probabilities), StandIn(0.1))
    events = feed(detector, windows(len(probabilities)))
    assert of_type(events, MidThought) and not of_type(events, TurnEnded)
    [ended] = detector.flush()
    assert isinstance(ended, TurnEnded) and ended.audio.size >= 30 * 512
    assert detector.flush() == []


def test_silence_mode_never_asks_a_model() -> None:
    events = scripted([(0.0, 5), (0.9, 30), (0.0, 100)], None)
    [ended] = of_type(events, TurnEnded)
    assert ended.reason == "silence" and ended.probability is None
    assert 490 <= ended.silence_ms <= 530


def test_a_carried_first_part_comes_before_the_continuation() -> None:
    probabilities = [0.0] * 5 + [0.9] * 30 + [0.0] * 60
    detector = smart(Script(probabilities * 3), StandIn(0.9))
    stream = windows(2 * len(probabilities))
    half = len(probabilities) * 512
    [first] = of_type(feed(detector, stream[:half]), TurnEnded)
    assert not first.continued
    detector.carry(first.audio)
    events = feed(detector, stream[half:])
    [paused] = of_type(events, SpeechPaused)
    [second] = of_type(events, TurnEnded)
    assert second.continued
    assert np.array_equal(second.audio[: first.audio.size], first.audio)
    assert second.audio.size > first.audio.size + 30 * 512
    assert np.array_equal(paused.audio, second.audio)  # what gets transcribed early
    [third] = of_type(feed(detector, stream[half:]), TurnEnded)
    assert not third.continued  # the carry is used once


def test_the_timing_line_names_the_decision() -> None:
    events = scripted([(0.0, 5), (0.9, 30), (0.0, 100)], StandIn(0.87))
    [ended] = of_type(events, TurnEnded)
    timing = ended.timing()
    assert timing["P(finished)"] == pytest.approx(0.87)
    assert any("finished" in k for k in timing)


def test_the_transcript_and_the_sound_decide_together() -> None:
    probabilities = [0.0] * 5 + [0.9] * 30 + [0.0] * 100
    stream = windows(len(probabilities) + 20)
    pause_window = (5 + 30 + 7) * 512  # the pause comes 7 silent windows in

    def paused(model: StandIn) -> tuple[TurnDetector, Finishing]:
        detector = smart(Script(probabilities), model, words=True)
        events = feed(detector, stream[: pause_window + 512], "512")
        assert not of_type(events, TurnEnded) and not model.seen  # nothing decided yet
        [finishing] = of_type(events, Finishing)
        return detector, finishing

    # Words that trail off hold the turn, whatever the sound; stale pauses are ignored.
    detector, finishing = paused(StandIn(0.9))
    assert detector.transcribed("Another engineer rushed toward the", finishing.pause + 1) == []
    [held] = detector.transcribed("Another engineer rushed toward the", finishing.pause)
    assert isinstance(held, MidThought) and held.words
    [ended] = of_type(feed(detector, stream[pause_window + 512 :], "512"), TurnEnded)
    assert ended.reason == "max_silence"

    # A question ends it at once; the model is not asked.
    model = StandIn(0.1)
    detector, finishing = paused(model)
    [ended] = detector.transcribed("What time is it?", finishing.pause)
    assert isinstance(ended, TurnEnded) and ended.reason == "question" and not model.seen
    assert detector.transcribed("What time is it?", finishing.pause) == []  # once only

    # Otherwise the sound decides.
    detector, finishing = paused(StandIn(0.9))
    [ended] = detector.transcribed("He was not an ill-disposed young man.", finishing.pause)
    assert isinstance(ended, TurnEnded) and ended.reason == "finished"
    assert ended.probability == 0.9
    detector, finishing = paused(StandIn(0.2))
    [held] = detector.transcribed("He was not an ill-disposed young man.", finishing.pause)
    assert isinstance(held, MidThought) and not held.words and held.probability == 0.2


@pytest.mark.parametrize(
    ("text", "unfinished"),
    [
        ("This isn't part of your", True),
        ("Another engineer rushed toward the door to", True),
        ("I was thinking, um", True),
        ("Had he married a more amiable woman,", True),
        ("In this regard...", True),
        ("What time is it?", False),
        ("Who did you go with?", False),
        ("Turn it on.", False),
        ("He was not an ill-disposed young man.", False),
        ("", False),
    ],
)
def test_words_that_trail_off(text: str, unfinished: bool) -> None:
    assert sounds_unfinished(text) is unfinished


# --- what speech after a turn means -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "barge_in", "expected"),
    [
        (ReplyStatus(pending=True), False, Overlap.CONTINUATION),  # still transcribing
        (ReplyStatus(pending=True, shown_s=10.2), True, Overlap.CONTINUATION),
        (ReplyStatus(pending=True, shown_s=9.0), False, Overlap.OWN_VOICE),  # playing
        (ReplyStatus(pending=True, shown_s=9.0), True, Overlap.BARGE_IN),
        (ReplyStatus(pending=True, shown_s=9.0, audible=False), False, Overlap.NEW_TURN),
        (ReplyStatus(pending=True, shown_s=9.0, audible=False), True, Overlap.BARGE_IN),
        (ReplyStatus(ended_s=9.9), False, Overlap.OWN_VOICE),  # the reply's tail
        (ReplyStatus(ended_s=9.9, audible=False), False, Overlap.NEW_TURN),  # muted: never
        (ReplyStatus(ended_s=5.0), False, Overlap.NEW_TURN),
        (ReplyStatus(), False, Overlap.NEW_TURN),
    ],
)
def test_speech_after_a_turn_is_classified(
    status: ReplyStatus, barge_in: bool, expected: Overlap
) -> None:
    assert classify_onset(10.0, status, barge_in=barge_in, echo_guard_s=0.3) is expected


def test_speech_before_the_reply_shows_is_a_continuation_even_if_confirmed_after() -> None:
    # The onset (first speech window) counts, not the moment speech was confirmed.
    status = ReplyStatus(pending=True, shown_s=10.1)
    assert classify_onset(10.0, status, barge_in=False, echo_guard_s=0.3) is Overlap.CONTINUATION
    assert math.isinf(ReplyStatus().shown_s)


# --- real speech, a real VAD, a stand-in model -------------------------------------------


def paused_sentence(name: str, pause_s: float) -> tuple[np.ndarray, int]:
    """The clip with `pause_s` of silence inserted at its quietest point near the middle."""
    speech = clip(name).samples()
    frames = speech[: speech.size // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = np.sqrt((frames**2).mean(axis=1))
    lo, hi = len(energy) * 2 // 5, len(energy) * 3 // 5
    cut = (lo + int(np.argmin(energy[lo:hi]))) * 160
    return np.concatenate([speech[:cut], silence(pause_s), speech[cut:]]), cut


class KnowsTheEnd:
    """A stand-in that calls an utterance finished only once it is longer than `length`."""

    def __init__(self, length: int) -> None:
        self.length = length

    def probability(self, audio: PCM16) -> float:
        return 0.95 if audio.size >= self.length else 0.05


@pytest.mark.parametrize("name", ["another_engineer", "sense_and_sensibility_01_austen_64kb-0870"])
def test_a_paused_recording_is_one_turn_in_smart_mode_and_two_in_silence_mode(name: str) -> None:
    stream, cut = paused_sentence(name, 0.9)
    stream = np.concatenate([silence(0.5), stream, silence(2.5)])
    vad = SileroVad()
    vad.start()
    # The endpointer's audio starts 0.3 s before the speech: past the pause means finished.
    model = KnowsTheEnd(int(RATE * (0.2 + 0.9 + 0.3)) + cut)
    turns = of_type(feed(smart(vad, model), stream), TurnEnded)
    assert len(turns) == 1, [t.reason for t in turns]
    assert turns[0].reason == "finished"
    vad.reset()
    assert len(of_type(feed(smart(vad, None), stream), TurnEnded)) == 2


# --- the real model --------------------------------------------------------------------


def test_features_match_the_reference_implementation() -> None:
    """Reference: pipecat 1.14's numpy Whisper features of this clip, every 8th frame."""
    reference = np.load(FEATURES)
    ours = features(clip("testing_routine").samples())
    assert ours.shape == (80, 800) and ours.dtype == np.float32
    np.testing.assert_allclose(ours[:, ::8], reference, atol=1e-4)


@pytest.fixture(scope="module")
def smart_turn() -> SmartTurn:
    model = SmartTurn()
    model.start()
    return model


def test_the_model_tells_a_whole_sentence_from_one_cut_mid_way(smart_turn: SmartTurn) -> None:
    speech = clip("8455-210777-0068").samples()  # "your power is sufficient i said"
    whole = smart_turn.probability(speech)
    cut = smart_turn.probability(speech[: int(0.45 * speech.size)])
    assert 0.0 <= cut < whole <= 1.0
    assert whole > 0.5 > cut, (whole, cut)


def test_a_broken_model_file_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "smart-turn.onnx"
    broken.write_bytes(b"not an onnx model" * 100)
    with pytest.raises(SmartTurnError, match=str(broken)) as caught:
        SmartTurn(broken).start()
    assert "\n" not in str(caught.value)


def test_a_missing_model_falls_back_to_silence_with_one_line(
    isolated_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("voiceos.listen.smart_turn.MODEL_PACKAGE", "no_such_package_here")
    turns = build_turns(load(env={}))
    assert turns.fell_back and turns.detector.mode is EndMode.SILENCE
    assert "not installed" in turns.notice and "500 ms of silence instead" in turns.notice
    assert "\n" not in turns.notice


def test_smart_mode_is_the_default_and_says_so(isolated_env: dict[str, str]) -> None:
    turns = build_turns(load(env={}))
    assert not turns.fell_back and turns.detector.mode is EndMode.SMART
    assert "smart end of turn" in turns.notice
    quiet = build_turns(load(env={"VOICEOS_LISTEN_END_OF_TURN": "silence"}))
    assert quiet.detector.mode is EndMode.SILENCE and "silence" in quiet.notice
