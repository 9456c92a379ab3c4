"""Transcription accuracy of the default engine on the real clips in tests/data/speech.

Word error rate is scored after normalising case, punctuation and number style
(voiceos.stt.wer). Sentences and single keywords are reported apart.
"""

from __future__ import annotations

import numpy as np
import pytest
from speech_data import Clip, clips

from voiceos.stt.sr_engines import SpeechRecognitionTranscriber
from voiceos.stt.wer import normalise_words, word_error_rate, word_errors
from voiceos.stt.whisper import WhisperTranscriber

SENTENCE_WER_BOUND = 0.15
"""Measured 6.2% (11 errors in 178 words) with greedy tiny.en; a broken pipeline is far above."""


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    model = WhisperTranscriber()
    model.start()
    return model


def score(
    transcriber: object, items: list[Clip], rate_as: int = 16000
) -> tuple[int, int, list[str]]:
    errors = words = 0
    lines = []
    for item in items:
        text = transcriber.transcribe(item.samples(), rate_as).text  # type: ignore[attr-defined]
        e, n = word_errors(item.transcript, text)
        errors, words = errors + e, words + n
        lines.append(f"{e}/{n}  {item.name}: {item.transcript!r} -> {text!r}")
    return errors, words, lines


def test_normaliser_forgives_style_not_mistakes() -> None:
    assert normalise_words("IN EIGHTEEN THIRTEEN") == normalise_words("In 1813.")
    assert normalise_words("go forward ten meters") == normalise_words("Go forward 10 meters.")
    assert normalise_words("nine oh two") == normalise_words("9 0 2")
    assert normalise_words("twenty three") == normalise_words("23")
    assert normalise_words("ill disposed, Mr. Dashwood") == normalise_words(
        "ill-disposed mister dashwood"
    )
    assert word_error_rate("four queen of clubs", "for Queen of Clothes.") == 0.5
    assert word_error_rate("one two three", "1 2 4") == pytest.approx(1 / 3)
    assert word_error_rate("yes", "") == 1.0
    assert word_error_rate("", "") == 0.0


def test_sentence_clips_are_transcribed_accurately(whisper: WhisperTranscriber) -> None:
    sentences = [c for c in clips() if c.is_sentence]
    assert len(sentences) >= 20
    errors, words, lines = score(whisper, sentences)
    report = "\n".join(lines)
    print(f"\nWhisper tiny.en sentence WER {errors / words:.1%} ({errors}/{words})\n{report}")
    assert errors / words < SENTENCE_WER_BOUND, report


def test_single_words_reported_apart(whisper: WhisperTranscriber) -> None:
    words = [c for c in clips() if not c.is_sentence]
    errors, total, lines = score(whisper, words)
    print(f"\nWhisper tiny.en single words: {total - errors} of {total} right\n" + "\n".join(lines))
    # One-second keywords are hard for any recogniser; most must still come through.
    assert errors <= total // 2, "\n".join(lines)


def test_the_score_catches_a_broken_pipeline(whisper: WhisperTranscriber) -> None:
    # The same clips declared at the wrong rate (a classic capture bug) must fail the bound.
    sentences = [c for c in clips() if c.is_sentence][:4]
    errors, words, lines = score(whisper, sentences, rate_as=8000)
    assert errors / words > SENTENCE_WER_BOUND, "\n".join(lines)


def test_transcript_reports_audio_and_time(whisper: WhisperTranscriber) -> None:
    item = next(c for c in clips() if c.name == "goforward")
    transcript = whisper.transcribe(item.samples(), 16000)
    assert transcript.audio_s == pytest.approx(item.duration_s, abs=0.01)
    assert transcript.elapsed_s > 0
    assert whisper.transcribe(np.zeros(0, np.int16), 16000).text == ""


def test_sphinx_is_a_usable_offline_fallback() -> None:
    sphinx = SpeechRecognitionTranscriber("sphinx")
    sphinx.start()
    read_speech = [c for c in clips() if c.is_sentence and c.duration_s > 2.5][1:4]
    errors, words, lines = score(sphinx, read_speech)
    print(f"\nsphinx WER {errors / words:.1%} ({errors}/{words})\n" + "\n".join(lines))
    assert errors / words < 0.4, "\n".join(lines)


def test_full_window_agrees_with_the_fast_path(whisper: WhisperTranscriber) -> None:
    full = WhisperTranscriber(short_window=False)
    full.start()
    sample = [c for c in clips() if c.is_sentence][::4]
    fast_errors, words, _ = score(whisper, sample)
    full_errors, _, lines = score(full, sample)
    assert abs(fast_errors - full_errors) <= max(2, words // 20), "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "runaway"),
    [
        ("5, 5, 5, 5, 5, 5, 5, 5,", True),
        ("10 of clubs 10 of clubs 10 of clubs 10 of clubs", True),
        ("5 5.", False),
        ("Yes! No. Go! Stop!", False),
        ("1 0 0 0 1 9 0 2 1 0 0 1 8 0 3", False),
    ],
)
def test_runaway_detection(text: str, runaway: bool) -> None:
    from voiceos.stt.whisper import _runaway

    assert _runaway(text) is runaway
