"""Short words and names: second opinions on doubtful decodes, filler judged on evidence,
hotwords, and correcting a misheard name by voice.

int8 decoding differs between CPUs, so nothing here rests on one exact model output: the
retry path is driven by a scripted first decode, and real clips are judged against what
Whisper's own full window hears on this machine.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lab import PrivateLab
from speech_data import clip, non_speech, single_words, word_cuts
from voiceproc import VoiceosProcess, synthesize_clip

from voiceos.audio.pcm import write_wav
from voiceos.listen.bargein import STOP_PHRASES
from voiceos.stt.evidence import Decoded, Heard, Window, choose, doubtful
from voiceos.stt.expected import LIKELY_ABOVE, pick
from voiceos.stt.wer import normalise_words, word_error_rate
from voiceos.stt.whisper import WhisperTranscriber, hotword_text

RATE = 16000

# --- the evidence rules, on made-up decodes ------------------------------------------------


def test_doubtful_decodes() -> None:
    assert doubtful(Decoded("", 0.2, -0.3))
    assert doubtful(Decoded(" Uh.", 0.1, -0.2))
    assert doubtful(Decoded(" down", 0.2, -1.06))  # a real word, but a guess
    assert doubtful(Decoded(" 5 5 5 5 5 5", 0.1, -0.1, runaway=True))
    assert doubtful(Decoded(" Off.", 0.7, -1.2))  # Whisper's own "no speech" rule
    assert not doubtful(Decoded(" Up.", 0.2, -0.5))
    assert not doubtful(Decoded(" What time is it?", 0.02, -0.2))


def test_the_most_confident_decode_with_words_wins() -> None:
    candidates = [Decoded(" Uh.", 0.2, -0.4), Decoded(" Up.", 0.2, -0.7), Decoded(" Ah", 0.1, -0.1)]
    assert choose(candidates, speech_s=0.5).words == "Up."
    assert choose([Decoded(" down", 0.2, -1.1), Decoded(" down.", 0.1, -0.9)], 0.8).words == "down."


def test_filler_noise_and_loops_give_nothing() -> None:
    assert choose([Decoded(" Uh.", 0.2, -0.4), Decoded(" Um.", 0.2, -0.3)], 0.5).words == ""
    assert choose([Decoded(" Off.", 0.8, -1.3)], 0.6).words == ""  # Whisper heard no speech
    assert choose([Decoded(" 5 5 5 5 5", 0.1, -0.1, runaway=True)], 1.0).words == ""
    assert choose([], 1.0).words == ""


def test_words_whisper_doubted_are_marked_unsure() -> None:
    assert choose([Decoded(" Uh.", 0.2, -0.4), Decoded(" Up.", 0.2, -0.7)], 0.5).sure
    unsure = choose([Decoded(" Mm", 0.3, -1.3), Decoded(" And anthem.", 0.3, -1.07)], 0.5)
    assert unsure.words == "And anthem." and not unsure.sure
    assert unsure.readings == ("Mm", "And anthem.")


def test_a_polite_phrase_needs_the_vad_or_whisper_to_vouch_for_it() -> None:
    unsure = Decoded(" Thank you.", 0.55, -0.9)
    assert choose([unsure], speech_s=0.0).words == ""
    assert choose([unsure], speech_s=0.6).words == "Thank you."
    assert choose([Decoded(" Thank you.", 0.1, -0.2)], speech_s=0.0).words == "Thank you."


def test_hotwords_are_bounded_and_distinct() -> None:
    assert hotword_text(["Theodore", "theodore", " Ana ", "", "Samantha"]) == (
        "Theodore, Ana, Samantha.",
        ("Theodore", "Ana", "Samantha"),
    )
    assert hotword_text(["Mary Ann, ", "  "]) == ("Mary Ann.", ("Mary Ann",))
    assert hotword_text([]) == ("", ())
    many = [f"Name{i}" for i in range(100)]
    prompt, kept = hotword_text(many)
    assert len(prompt.split()) == len(kept) == 20
    prompt, kept = hotword_text(["x" * 150, "y" * 100])
    assert len(prompt) <= 200 and kept == ("x" * 150,)


# --- the retry path, driven by a scripted first decode ----------------------------------------


class Scripted(WhisperTranscriber):
    """The real model, except for the decodes scripted by (window, beam)."""

    def __init__(self, script: dict[tuple[Window, int], Decoded], **options: Any) -> None:
        super().__init__(**options)
        self.script = script
        self.decodes: list[tuple[Window, int]] = []

    def _decode(
        self,
        audio: np.ndarray,
        window: Window,
        beam: int,
        encoded: dict[Window, Any],
        hints: bool = False,
    ) -> Decoded:
        self.decodes.append((window, beam))
        if (window, beam) in self.script:
            return self.script[(window, beam)]
        return super()._decode(audio, window, beam, encoded, hints)

    def words(self, pcm: np.ndarray) -> str:
        self.decodes = []
        return self.transcribe(pcm, RATE).text


@pytest.fixture(scope="module")
def whisper() -> Iterator[WhisperTranscriber]:
    model = WhisperTranscriber()
    model.start()
    yield model


def scripted(script: dict[tuple[Window, int], Decoded], **options: Any) -> Scripted:
    model = Scripted({}, **options)
    model.start()  # warming decodes a burst of its own, unscripted
    model.script = script
    return model


EMPTY = Decoded("", 0.3, -0.6, Window.SHORT, 1)
SHORT_WINDOW_SILENT = {(Window.SHORT, 1): EMPTY, (Window.SHORT, 5): EMPTY}
"""What one CPU's int8 kernels did on cards_004 ("five five"): nothing on the short window,
whatever the beam, while the full window heard "5 5"."""


def test_an_empty_short_window_is_decoded_again_on_the_full_window() -> None:
    model = scripted(SHORT_WINDOW_SILENT)
    text = model.words(clip("cards_004").samples())
    assert model.decodes == [(Window.SHORT, 1), (Window.SHORT, 5), (Window.FULL, 5)]
    assert word_error_rate("five five", text) <= 0.5, text
    # The same decoder without second opinions loses the words: the test can fail.
    alone = scripted(SHORT_WINDOW_SILENT, second_opinion=False)
    assert alone.words(clip("cards_004").samples()) == ""


def test_a_runaway_short_window_is_decoded_again() -> None:
    loop = Decoded(" 5 5 5 5 5 5 5 5 5 5 5 5", 0.1, -0.2, Window.SHORT, 1, runaway=True)
    model = scripted({(Window.SHORT, 1): loop})
    text = model.words(clip("cards_004").samples())
    assert model.decodes[:2] == [(Window.SHORT, 1), (Window.FULL, 1)], model.decodes
    assert word_error_rate("five five", text) <= 0.5, text


def test_a_word_first_heard_as_filler_gets_a_second_opinion() -> None:
    # "up" came back as "Uh." on one machine: a wider beam or the full window must be asked.
    model = scripted({(Window.SHORT, 1): Decoded(" Uh.", 0.2, -0.5, Window.SHORT, 1)})
    text = model.words(word_cuts()["up"])
    assert len(model.decodes) >= 2
    assert "up" in normalise_words(text), (text, model.decodes)


def test_every_reading_is_kept_when_a_second_opinion_was_asked() -> None:
    """Barge-in reads a hum the chosen words missed (`BargeInPolicy.transcript`)."""
    hum = Decoded(" Mmm.", 0.3, -1.4, Window.SHORT, 1)
    model = scripted({(Window.SHORT, 1): hum})
    model.decodes = []  # not the warm-up's
    heard = model.transcribe(word_cuts()["up"], RATE)
    assert len(heard.readings) == len(model.decodes) >= 2, (heard, model.decodes)
    assert heard.readings[0] == "Mmm."
    sure = scripted({(Window.SHORT, 1): Decoded(" Up.", 0.1, -0.2, Window.SHORT, 1)})
    once = sure.transcribe(word_cuts()["up"], RATE)
    assert once.readings == () and once.sure  # one decode: no readings


def test_silence_gets_no_second_opinion() -> None:
    model = scripted(SHORT_WINDOW_SILENT)
    assert model.words(non_speech(1.0)["room noise"]) == ""
    assert model.decodes == [(Window.SHORT, 1)]  # the VAD heard no speech: nothing to recheck


def test_a_confident_decode_costs_no_second_opinion() -> None:
    sure = Decoded(" Go forward ten meters.", 0.02, -0.2, Window.SHORT, 1)
    model = scripted({(Window.SHORT, 1): sure})
    assert model.words(clip("goforward").samples()) == "Go forward ten meters."
    assert len(model.decodes) == 1


# --- expected phrases: what the listener waits for, scored on the audio -----------------------


def test_an_expected_phrase_is_taken_only_when_likely_and_nearly_as_likely_as_the_words() -> None:
    phrases = {"Stop.": -3.1, "No.": -1.1}
    assert pick(-1.4, phrases) == "No."  # a real "no" over her echo, heard as "So."
    assert pick(None, phrases) == "No."  # nothing heard but a likely "No."
    assert pick(-0.6, phrases) == "No."  # within the margin of the heard words
    assert pick(-0.3, phrases) == ""  # the heard words are clearly likelier
    assert pick(None, {"No.": -2.4}) == ""  # her echo's remains: unlikely on its own
    assert pick(-3.0, {"No.": LIKELY_ABOVE - 0.1}) == ""
    assert pick(-1.0, {}) == ""


def test_each_expected_phrase_may_have_a_bar_of_its_own() -> None:
    # An espeak-ng "wait" said over her, heard as "It's" (a lab run): "Wait." scored -2.63.
    heard, phrases = -2.12, {"Stop.": -5.45, "No.": -3.68, "Wait.": -2.63, "Hold on.": -3.5}
    assert pick(heard, phrases) == ""  # under the common bar
    assert pick(heard, phrases, STOP_PHRASES) == "Wait."
    # The bar is the phrase's own: a backchannel scoring "Hold on." as high is not taken.
    assert pick(-1.0, {"Hold on.": -2.63, "Wait.": -4.2}, STOP_PHRASES) == ""
    # The likeliest phrase over its bar wins, not the likeliest phrase.
    assert pick(None, {"No.": -2.3, "Wait.": -2.6}, STOP_PHRASES) == "Wait."
    # The margin to the heard words still holds ("LIT" -1.28 against "Wait." -2.8).
    assert pick(-1.28, {"Wait.": -2.8}, STOP_PHRASES) == ""


SO = Decoded(" So.", 0.3, -1.3, Window.SHORT, 1)
"""How Whisper heard a real "no" said over her, cut at its start (a lab run)."""


def test_a_stop_word_misheard_is_taken_when_the_listener_expects_it() -> None:
    model = scripted({(Window.SHORT, 1): SO, (Window.SHORT, 5): SO, (Window.FULL, 5): SO})
    no = word_cuts()["no"]
    assert model.transcribe(no, RATE).text == ""  # "So." alone is filler
    heard = model.transcribe(no, RATE, expect=STOP_PHRASES)
    assert heard.text == "No." and heard.sure, heard
    cool = Decoded(" Cool.", 0.2, -0.4, Window.SHORT, 1)  # a word, and confident
    model = scripted({(Window.SHORT, 1): cool})
    assert model.transcribe(no, RATE, expect=STOP_PHRASES).text == "No."


def test_expected_phrases_leave_other_words_and_sounds_alone(whisper: WhisperTranscriber) -> None:
    sounds = {
        "yes": word_cuts()["yes"],
        "right": word_cuts()["right"],
        "sentence": clip("testing_routine").samples(),
        "her voice far down": (clip("another_engineer").samples() * 0.02).astype(np.int16),
        **breath_and_cough(),
        **non_speech(1.0),
    }
    plain = {name: whisper.transcribe(pcm, RATE).text for name, pcm in sounds.items()}
    expecting = {
        name: whisper.transcribe(pcm, RATE, expect=STOP_PHRASES).text
        for name, pcm in sounds.items()
    }
    assert expecting == plain
    assert not {t for t in expecting.values() if normalise_words(t) in (["stop"], ["no"])}


# --- real clips -------------------------------------------------------------------------------


def word(label: str) -> str:
    return label.split()[0]


@pytest.fixture(scope="module")
def hearable() -> dict[str, np.ndarray]:
    """The real one-word clips that Whisper's own full window (beam 5) hears right on this
    machine: int8 decoding differs between CPUs, so the premise is measured, not assumed."""
    full = WhisperTranscriber(short_window=False, beam_size=5, second_opinion=False)
    full.start()
    heard = {label: full.transcribe(pcm, RATE).text for label, pcm in single_words().items()}
    return {
        label: pcm
        for label, pcm in single_words().items()
        if word(label) in normalise_words(heard[label])
    }


def test_real_single_words_are_kept(
    whisper: WhisperTranscriber, hearable: dict[str, np.ndarray]
) -> None:
    # Most of the corpus's words must be hearable at all, or the test proves little.
    assert len(hearable) >= len(single_words()) - 3, sorted(set(single_words()) - set(hearable))
    heard = {label: whisper.transcribe(pcm, RATE).text for label, pcm in hearable.items()}
    lost = {label: t for label, t in heard.items() if word(label) not in normalise_words(t)}
    assert not lost, lost


def breath_and_cough() -> dict[str, np.ndarray]:
    """Synthetic breathing, coughs and a sniff: band-limited noise under speech-like
    envelopes, with a glottal buzz in the coughs."""
    rng = np.random.default_rng(7)

    def band(n: int, low: float, high: float) -> np.ndarray:
        spectrum = np.fft.rfft(rng.normal(0, 1, n))
        freqs = np.fft.rfftfreq(n, 1 / RATE)
        spectrum[(freqs < low) | (freqs > high)] = 0
        out = np.fft.irfft(spectrum, n)
        return out / np.abs(out).max()

    def envelope(n: int, attack_s: float, release_s: float) -> np.ndarray:
        env = np.ones(n)
        a, r = int(attack_s * RATE), int(release_s * RATE)
        env[:a], env[n - r :] = np.linspace(0, 1, a), np.linspace(1, 0, r)
        return env

    def cough() -> np.ndarray:
        n = int(0.25 * RATE)
        t = np.arange(n) / RATE
        burst = band(n, 300, 3500) * np.exp(-t / 0.06) * 16000
        return burst + 4000 * np.sign(np.sin(2 * np.pi * 180 * t)) * np.exp(-t / 0.05)

    n_in, n_out = int(0.9 * RATE), int(0.7 * RATE)
    sounds = {
        "breath in": band(n_in, 400, 2500) * envelope(n_in, 0.35, 0.4) * 3000,
        "breath out": band(n_out, 200, 1500) * envelope(n_out, 0.05, 0.5) * 4000,
        "cough": cough(),
        "two coughs": np.concatenate([cough(), np.zeros(int(0.15 * RATE)), cough()]),
    }
    pad = np.zeros(RATE // 2)
    return {
        k: np.clip(np.concatenate([pad, v, pad]), -32768, 32767).astype(np.int16)
        for k, v in sounds.items()
    }


def hesitations() -> dict[str, np.ndarray]:
    """'uh' and 'um' from several espeak-ng voices (the corpus has no recorded ones)."""
    return {
        f"{word} ({voice})": synthesize_clip(word, voice=voice)
        for word in ("uh", "um")
        for voice in ("en-us", "en-gb", "en-us+f3")
    }


def test_breath_coughs_noise_and_hesitations_are_not_words(whisper: WhisperTranscriber) -> None:
    sounds = {**breath_and_cough(), **hesitations(), **non_speech(2.0)}
    heard = {name: whisper.transcribe(pcm, RATE).text for name, pcm in sounds.items()}
    assert all(text == "" for text in heard.values()), heard


def run_file_mode(recording: np.ndarray, tmp_path: Path, env: dict[str, str]) -> VoiceosProcess:
    path = tmp_path / "in.wav"
    write_wav(path, recording, RATE)
    with VoiceosProcess(["--input-wav", str(path)], env) as vo:
        assert vo.close(timeout_s=180) == 0, vo.err
    return vo


def with_gaps(clips: list[np.ndarray], gap_s: float = 1.2) -> np.ndarray:
    gap = np.zeros(int(gap_s * RATE), np.int16)
    return np.concatenate([np.concatenate([c, gap]) for c in [gap, *clips]])


def test_single_words_become_turns_in_file_mode(
    tmp_path: Path, isolated_env: dict[str, str], hearable: dict[str, np.ndarray]
) -> None:
    env = dict(isolated_env, PULSE_SERVER="unix:/nonexistent/socket")
    # Gaps longer than the smart end of turn's 2 s cap: a bare word may be held as unfinished.
    vo = run_file_mode(with_gaps(list(hearable.values()), gap_s=2.6), tmp_path, env)
    heard = [normalise_words(h) for h in vo.heard()]
    assert len(heard) == len(hearable), (list(hearable), vo.heard())
    missing = [label for label in hearable if not any(word(label) in h for h in heard)]
    assert not missing, (missing, vo.heard())
    assert len(vo.replies()) >= len(hearable) - 1  # "stop" is answered by stopping


def test_non_speech_gives_no_turn_in_file_mode(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    sounds = {**breath_and_cough(), **hesitations()}
    env = dict(isolated_env, PULSE_SERVER="unix:/nonexistent/socket")
    vo = run_file_mode(with_gaps(list(sounds.values())), tmp_path, env)
    assert vo.heard() == []
    assert any("didn't hear any speech" in line for line in vo.err + vo.out)


@pytest.mark.audio
def test_single_words_become_turns_through_the_microphone(
    private_lab: PrivateLab, isolated_env: dict[str, str], hearable: dict[str, np.ndarray]
) -> None:
    labels = [label for label in hearable if word(label) != "stop"]  # "stop" gets no reply
    env = {**isolated_env, **private_lab.env}
    with VoiceosProcess(["--mute"], env) as vo:
        vo.wait_for(r"\[listening\]", stream="err", timeout_s=120)
        private_lab.feed_mic(with_gaps([hearable[label] for label in labels], gap_s=2.6))
        index = -1
        for _ in range(len(labels) + 1):  # the greeting, then one reply a word
            index, _line = vo.wait_for(r"^Samantha: ", after=index + 1, timeout_s=60)
        vo.close()
    heard = [normalise_words(h) for h in vo.heard()]
    missing = [label for label in labels if not any(word(label) in h for h in heard)]
    assert not missing, (missing, vo.heard())
    assert len(heard) == len(labels), vo.heard()


# --- names --------------------------------------------------------------------------------------

RENDERINGS = [(v, r) for v in ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp") for r in (150, 190)]


def test_a_known_name_is_heard_right(whisper: WhisperTranscriber) -> None:
    clips = [synthesize_clip("My name is Theodore.", v, r) for v, r in RENDERINGS]
    try:
        whisper.set_vocabulary(["Theodore", "Samantha"])
        assert whisper.hotwords == "Theodore, Samantha."
        heard = [whisper.transcribe(c, RATE).text for c in clips]
    finally:
        whisper.set_vocabulary([])
    right = sum("theodore" in h.lower() for h in heard)
    assert right >= len(clips) - 1, heard


class ScoredNames(WhisperTranscriber):
    """No model: a scripted plain decode and hinted decode, and Whisper's sentence scores
    made up as "how much a sentence sounds like what was said". For the name logic alone."""

    def __init__(self, heard: str, hinted: str, said: str) -> None:
        super().__init__()
        self.heard, self.hinted, self.said = heard, hinted, said
        self._direct = object()  # type: ignore[assignment]
        self.scored: list[str] = []

    def _heard(self, audio: np.ndarray, encoded: dict[Window, Any]) -> tuple[Heard, Window]:
        encoded[Window.SHORT] = object()
        return Heard(self.heard), Window.SHORT

    def _decode(self, *args: Any, **kwargs: Any) -> Decoded:
        return Decoded(f" {self.hinted}", 0.1, -0.3, Window.SHORT, 5)

    def _scores(self, texts: list[str], *args: Any) -> list[float]:
        self.scored.extend(texts)
        return [
            -0.4 if t == self.heard else -1.2 if self.said and self.said in t else -2.6
            for t in texts
        ]


def test_a_known_name_misheard_in_its_slot_is_rescored_in() -> None:
    audio = np.zeros(RATE, np.float32)
    model = ScoredNames("My name is Gwen.", "My name is Gwen.", said="Kwame")
    model.set_vocabulary(["Kwame", "Samantha", "Ana"])
    assert model._words(audio).words == "My name is Kwame."
    # Another name said: no known name fits better than names nobody mentioned.
    model = ScoredNames("My name is Gwen.", "My name is Gwen.", said="")
    model.set_vocabulary(["Kwame", "Samantha"])
    assert model._words(audio).words == "My name is Gwen."
    # Only utterances with a name slot pay for scoring.
    model = ScoredNames("What time is it?", "What time is it?", said="Kwame")
    model.set_vocabulary(["Kwame"])
    assert model._words(audio).words == "What time is it?" and model.scored == []


HARD_NAMES = ("Nadia", "Kwame", "Benedikt")
"""Names espeak-ng says so that tiny.en hears other words ("Arger", "Gwen", "Mandivik")."""
OTHER_NAMES = ("Ingrid", "Astrid", "Tobias")
HARD_RENDERINGS = [(v, 150) for v in ("en-us", "en-gb", "en-gb-x-rp", "en-us+m3")]


def test_hard_names_once_known_are_rescored_in_and_new_names_are_not(
    whisper: WhisperTranscriber,
) -> None:
    said = [
        (n, synthesize_clip(f"My name is {n}.", v, r))
        for n in HARD_NAMES
        for v, r in HARD_RENDERINGS
    ]
    others = [
        (n, synthesize_clip(f"My name is {n}.", v, r))
        for n in OTHER_NAMES
        for v, r in HARD_RENDERINGS
    ]
    first = [whisper.transcribe(c, RATE).text for _n, c in said]
    try:
        whisper.set_vocabulary([*HARD_NAMES, "Samantha"])
        known = [whisper.transcribe(c, RATE).text for _n, c in said]
        new = [whisper.transcribe(c, RATE).text for _n, c in others]
    finally:
        whisper.set_vocabulary([])
    right_first = sum(n.lower() in h.lower() for (n, _c), h in zip(said, first, strict=True))
    right = sum(n.lower() in h.lower() for (n, _c), h in zip(said, known, strict=True))
    assert right >= len(said) - 3 and right >= right_first + 4, (first, known)
    taken = [h for h in new if any(n.lower() in h.lower() for n in [*HARD_NAMES, "Samantha"])]
    assert len(taken) <= 1, new


def told_name(heard: str) -> str:
    """The name in a transcript of "... my name is NAME." (capitalised as heard)."""
    return heard.rstrip(".!").split("name is ", 1)[1].strip(" ,")


def test_a_misheard_name_is_corrected_by_voice_and_kept(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    # Whatever Whisper makes of each name on this CPU, the correction must replace the
    # first name, be used in the next replies, and still be the name after a restart.
    # End of turn by silence: the smart mode answers espeak's "No," on its own after its
    # comma pause, and this test is about the correction, not about turn taking.
    env = dict(
        isolated_env,
        PULSE_SERVER="unix:/nonexistent/socket",
        VOICEOS_LISTEN_END_OF_TURN="silence",
    )
    # "Theodore" comes back as "the Adora" from espeak here; a name tiny.en hears in
    # espeak's voice keeps the test about the correction, not about one rendering.
    told = [synthesize_clip("My name is Ian."), synthesize_clip("No, my name is David.")]
    asked = synthesize_clip("What is my name?")
    vo = run_file_mode(with_gaps([*told, asked]), tmp_path, env)
    assert len(vo.heard()) == 3, vo.out
    first, corrected = told_name(vo.heard()[0]), told_name(vo.heard()[1])
    assert corrected.lower() != first.lower(), vo.heard()
    assert corrected in vo.replies()[1] and corrected in vo.replies()[2], vo.out
    stored = subprocess.run(
        [sys.executable, "-m", "voiceos", "memory", "show"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"Name: {corrected}\n" in stored, stored
    # A new process: the corrected name is still the one used.
    again = run_file_mode(with_gaps([asked]), tmp_path, env)
    assert corrected in again.replies()[-1], again.out
