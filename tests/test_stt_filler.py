"""Dropping what Whisper says on silence and noise, without dropping what people say."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from speech_data import non_speech

from voiceos.audio.pcm import read_wav
from voiceos.stt.base import clean_transcript, is_filler
from voiceos.stt.whisper import WhisperTranscriber


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        " you",
        " You.",
        "Thank you.",
        " Thanks for watching!",
        "Thank you for watching.",
        "Bye.",
        "Bye-bye.",
        "[BLANK_AUDIO]",
        "(music)",
        "[Music]",
        "♪ ♪",
        "*sighs*",
        " . ",
        "...",
        "?!",
        "Subtitles by the Amara.org community",
        "Um.",
    ],
)
def test_filler_is_dropped(text: str) -> None:
    assert clean_transcript(text) == ""
    assert is_filler(text)


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        (" What time is it?", "What time is it?"),
        ("  My name is   Ada. ", "My name is Ada."),
        ("[BLANK_AUDIO] Hello there.", "Hello there."),
        ("Thank you, you were very helpful.", "Thank you, you were very helpful."),
        ("You know what?", "You know what?"),
        ("Goodbye.", "Goodbye."),
    ],
)
def test_real_words_are_kept(text: str, cleaned: str) -> None:
    assert clean_transcript(text) == cleaned


@pytest.mark.parametrize("text", ["Thank you.", "Thanks!", "Bye."])
def test_polite_phrases_are_kept_when_the_engine_is_sure(text: str) -> None:
    assert clean_transcript(text, confident=True) == text
    assert clean_transcript(" you", confident=True) == ""  # never a whole turn


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    model = WhisperTranscriber()
    model.start()
    return model


@pytest.mark.parametrize("name", list(non_speech(2.0)))
def test_whisper_hears_nothing_in_non_speech(whisper: WhisperTranscriber, name: str) -> None:
    transcript = whisper.transcribe(non_speech(2.0)[name], 16000)
    assert transcript.text == ""
    assert transcript.audio_s == pytest.approx(2.0)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_whisper_keeps_a_real_thank_you(whisper: WhisperTranscriber, tmp_path: Path) -> None:
    # Several renderings: one exact model output is not a premise that holds on every CPU.
    kept = []
    for voice in ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp"):
        path = tmp_path / f"thanks-{voice}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), "Thank you."], check=True)
        pcm, rate = read_wav(path)  # 22050 Hz: the transcriber resamples
        kept.append(whisper.transcribe(pcm, rate).text)
    assert sum(t.lower().startswith("thank you") for t in kept) >= 3, kept
