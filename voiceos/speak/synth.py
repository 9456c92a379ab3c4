"""Text to PCM with pyttsx3 2.99 on espeak-ng, working around the driver's known bugs.

Each sentence is rendered with `save_to_file` + `runAndWait` into a private folder and read
back as int16 samples; playback is someone else's job. The bugs (numbered as in
docs/audio-lab.md) and what we do about them:

1. the first runAndWait returns early: run one empty runAndWait after init (in
   voices.ensure_engine, which also keeps the process's one engine alive);
2. setProperty races with espeak: after a change, wait until espeak stops playing;
3. after save_to_file, say() overwrites the file: we never call say();
4. several queued items make one: exactly one item per runAndWait;
5. getProperty is stale: the applied settings are kept here;
6. a bad voice id does not raise: we check it against espeak's list and its current voice;
9. save_to_file prints "Audio saved to ..." on stdout: that print is silenced;
10. a render sometimes comes out empty (espeak ends the message with no audio), mostly
    an engine's first ones, and far more often on engines made after another was
    dropped: one engine per process, a throwaway render at start, and an empty result
    is rendered again.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceos.speak.voices import (
    VoiceError,
    ensure_engine,
    list_variants,
    list_voices,
    split_variant,
)
from voiceos.types import PCM16, VoiceSettings

logger = logging.getLogger(__name__)

SETTLE_TIMEOUT_S = 2.0
"""Longest wait for espeak to settle after a property change."""
RENDER_ATTEMPTS = 3
"""Renders tried before accepting that a sentence makes no sound (bug 10)."""
LEADING_SILENCE_LEVEL = 16
"""Samples this quiet before the first sound are dropped (of 32767)."""


class SynthError(Exception):
    """Speech synthesis is unavailable or failed. The message is one clear line."""


@dataclass(frozen=True)
class Utterance:
    """One synthesised sentence."""

    samples: PCM16
    """Mono int16 samples."""
    sample_rate_hz: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz if self.sample_rate_hz else 0.0


def _quiet_print(*args: object, **kwargs: Any) -> None:
    logger.debug("pyttsx3: %s", " ".join(str(a) for a in args))


class Pyttsx3Synth:
    """Blocking synthesis; call it from one thread at a time (an executor of one worker).

    All synthesisers in a process share espeak-ng's one engine, so use one at a time.
    """

    def __init__(self) -> None:
        self._engine: Any = None
        self._espeak: Any = None
        self._dir: Path | None = None
        self._applied: VoiceSettings | None = None
        self._voice_ids: set[str] = set()
        self._variants: set[str] = set()
        self._lock = threading.Lock()
        self._count = 0

    def start(self) -> None:
        """Load pyttsx3 and espeak-ng. Raises SynthError when either is missing."""
        if self._engine is not None:
            return
        try:
            engine = ensure_engine()  # first: a bad espeak-ng install must not end the process
            from pyttsx3.drivers import _espeak
            from pyttsx3.drivers import espeak as espeak_driver
        except VoiceError as exc:
            raise SynthError(str(exc)) from None
        # Bug 9: the driver announces every saved file on stdout, mid-conversation.
        espeak_driver.print = _quiet_print
        try:
            self._voice_ids = {v.id for v in list_voices()}
            self._variants = {v.lower() for v in list_variants()}
        except (RuntimeError, OSError, VoiceError) as exc:
            raise SynthError(f"espeak-ng could not start: {exc}") from None
        self._engine, self._espeak = engine, _espeak
        self._dir = Path(tempfile.mkdtemp(prefix="voiceos-tts-"))
        self._applied = None
        # Listing voices leaves espeak without a usable current voice (Synth then hangs),
        # so select one before the throwaway render for bug 10.
        self._apply(VoiceSettings())
        self._render("a")
        logger.debug("pyttsx3 ready: %d voices, tmp %s", len(self._voice_ids), self._dir)

    def voice_ids(self) -> list[str]:
        """The voice ids espeak-ng has (after start())."""
        return sorted(self._voice_ids)

    def check_voice(self, voice: str) -> None:
        """Raise SynthError unless `voice` is an espeak-ng id, optionally with a variant."""
        base, variant = split_variant(voice)
        if base not in self._voice_ids:
            raise SynthError(f"unknown voice {voice!r}; `voiceos voices` lists them")
        if variant is not None and variant.lower() not in self._variants:
            raise SynthError(f"unknown voice variant {variant!r} in {voice!r}")

    def synthesize(self, text: str, settings: VoiceSettings) -> Utterance:
        """Render `text` with `settings` and return its samples (22050 Hz with espeak-ng)."""
        with self._lock:
            if self._engine is None or self._dir is None:
                raise SynthError("the synthesiser is not started")
            self._apply(settings)
            if not text.strip():
                return Utterance(np.zeros(0, dtype=np.int16), 22050)
            for attempt in range(1, RENDER_ATTEMPTS + 1):
                utterance = self._render(text)
                if utterance is not None and len(utterance.samples):
                    return utterance
                logger.debug("espeak-ng gave no audio for %r (attempt %d)", text[:40], attempt)
            if utterance is None:
                raise SynthError("espeak-ng produced no audio for this sentence")
            return utterance

    def _render(self, text: str) -> Utterance | None:
        """One save_to_file + runAndWait; None when no file was written (bug 10)."""
        assert self._engine is not None and self._dir is not None
        self._settle()  # a Synth queued while espeak is still busy can hang for good
        self._count += 1
        path = self._dir / f"utterance-{self._count}.wav"
        self._engine.save_to_file(text, str(path))
        self._engine.runAndWait()  # bug 4: one item per runAndWait
        try:
            return self._read(path)
        except FileNotFoundError:
            return None
        finally:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Drop the engine and remove the private folder."""
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
            self._engine = self._espeak = self._dir = None
            self._applied = None

    def _apply(self, settings: VoiceSettings) -> None:
        old = self._applied
        changed = False
        if old is None or settings.voice != old.voice:
            self.check_voice(settings.voice)
            self._engine.setProperty("voice", settings.voice)
            changed = True
        if old is None or settings.rate_wpm != old.rate_wpm:
            self._engine.setProperty("rate", int(settings.rate_wpm))
            changed = True
        if old is None or settings.volume != old.volume:
            self._engine.setProperty("volume", float(settings.volume))
            changed = True
        if not changed:
            return
        self._settle()
        if old is None or settings.voice != old.voice:
            self._verify_voice(settings.voice)
        self._applied = settings

    def _settle(self) -> None:
        """Bug 2: a property change is only safe once espeak has stopped playing."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while self._espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise SynthError("espeak-ng did not settle after a voice setting change")
            time.sleep(0.001)  # polling a C flag: espeak offers nothing to wait on

    def _verify_voice(self, voice: str) -> None:
        """Bug 6: confirm espeak really switched, since a bad id fails silently."""
        current = self._espeak.GetCurrentVoice()
        identifier = (
            current.contents.identifier.decode("utf-8", "replace").lower()
            if current and current.contents.identifier
            else ""
        )
        want_base, want_variant = split_variant(voice.lower())
        got_base, got_variant = split_variant(identifier.rsplit("/", 1)[-1])
        if got_base != want_base or got_variant != want_variant:
            self._applied = None
            raise SynthError(f"espeak-ng refused the voice {voice!r} (it kept {identifier!r})")

    @staticmethod
    def _read(path: Path) -> Utterance:
        try:
            with wave.open(str(path), "rb") as handle:
                rate = handle.getframerate()
                width = handle.getsampwidth()
                frames = handle.readframes(handle.getnframes())
        except (wave.Error, EOFError) as exc:
            raise SynthError(f"espeak-ng wrote unreadable audio ({exc})") from None
        if width != 2:
            raise SynthError(f"espeak-ng wrote {8 * width}-bit audio; expected 16-bit")
        samples = np.frombuffer(frames, dtype="<i2").astype(np.int16)
        # espeak sometimes leads with up to ~15 ms of digital silence: skip it, it only
        # delays the first sound.
        sound = np.flatnonzero(np.abs(samples.astype(np.int32)) > LEADING_SILENCE_LEVEL)
        if sound.size:
            samples = samples[int(sound[0]) :]
        return Utterance(samples, rate)
