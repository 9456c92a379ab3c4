"""Speakers: synthesis (espeak-ng or Piper) played on a device, written to a WAV, or muted.

The engine, voice, rate and volume are read from the VoiceControl before every sentence,
so a change takes effect on the next one. Synthesis runs on one dedicated worker thread,
which lets a caller prepare sentence N+1 while sentence N plays. Piper's sentences are
streamed: the first phrase plays while the next ones are still being synthesised.
"""

from __future__ import annotations

import logging
import threading
import wave
from pathlib import Path
from typing import Any

from voiceos.audio.devices import AudioDeviceError
from voiceos.audio.player import Player
from voiceos.config import Config
from voiceos.speak.engines import Engines, Synth
from voiceos.speak.synth import SynthError, Utterance
from voiceos.speak.worker import PhraseStream, SynthWorker
from voiceos.types import Speaker, Spoken, VoiceControl

logger = logging.getLogger(__name__)

START_DEADLINE_S = 30.0
"""Loading a Piper voice takes about 0.6 s, far more on a busy machine."""


def heard_text(text: str, played_samples: int, total_samples: int) -> str:
    """The words of `text` spoken in the first `played_samples` of its audio.

    Assumes speech runs evenly through the audio and keeps only whole words.
    """
    if total_samples <= 0 or played_samples >= total_samples:
        return text.strip()
    cut = len(text) * max(0, played_samples) / total_samples
    words: list[str] = []
    position = 0
    for word in text.split():
        start = text.index(word, position)
        position = start + len(word)
        if position > cut:
            break
        words.append(word)
    return " ".join(words)


def heard_phrases(phrases: list[tuple[str, int]], played_samples: int) -> str:
    """The words heard of a sentence played phrase by phrase ((text, samples) in order)."""
    heard: list[str] = []
    left = played_samples
    for text, samples in phrases:
        if left >= samples:
            if text.strip():  # a chunk in which no word ends has no text
                heard.append(text.strip())
            left -= samples
            continue
        partial = heard_text(text, left, samples)
        if partial:
            heard.append(partial)
        break
    return " ".join(heard)


class NullSpeaker:
    """Speaks nothing: the text counts as heard at once (muted, or no device)."""

    async def say(self, sentence: str) -> Spoken:
        return Spoken(sentence)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class DeviceSpeaker:
    """Synthesises each sentence and plays it on an output device; `stop()` cuts it off."""

    def __init__(self, synth: Synth, player: Player, voice: VoiceControl) -> None:
        self._worker = SynthWorker(synth, voice)
        self._player = player
        self._stops = 0
        self._pending: set[PhraseStream] = set()
        """Sentences prepared but not played to the end; a stop() ends their synthesis."""
        self._pending_lock = threading.Lock()
        self.problem: str | None = None
        """Why speech went silent mid-session (the device or espeak-ng failed), else None."""
        self.playing = ""
        """The sentence being played, "" between sentences (barge-in tells echo by it)."""

    @property
    def player(self) -> Player:
        """The output device (echo cancellation taps it; barge-in pauses it)."""
        return self._player

    @property
    def synth(self) -> Synth:
        return self._worker.synth

    def start(self) -> None:
        """Start the synthesiser and open the device; SynthError / AudioDeviceError if not."""
        self._worker.run(self._worker.synth.start, START_DEADLINE_S)
        self._player.start()

    async def prepare(self, sentence: str) -> Utterance | PhraseStream:
        """Start synthesising a sentence with the current settings, off the event loop.

        espeak-ng renders a whole sentence in about 15 ms, so it comes back whole; Piper's
        comes back as a stream once its first phrase is ready.
        """
        if self._worker.voice.current().engine == "piper":
            stream = await self._worker.render_stream(sentence)
            with self._pending_lock:
                self._pending.add(stream)
            return stream
        return await self._worker.render(sentence)

    async def play(self, utterance: Utterance | PhraseStream, text: str) -> Spoken:
        """Play a prepared sentence; returns what was heard of `text`."""
        if self.problem is not None:
            if isinstance(utterance, PhraseStream):
                utterance.cancel()
            return Spoken(text)
        self.playing = text
        try:
            if isinstance(utterance, PhraseStream):
                first = utterance.first[1]
                result = await self._player.play_stream(
                    first.samples, utterance.rest(), first.sample_rate_hz
                )
            else:
                result = await self._player.play(utterance.samples, utterance.sample_rate_hz)
        except AudioDeviceError as exc:
            self.problem = str(exc)
            logger.info("speech output stopped: %s", exc)  # the caller tells the user
            return Spoken(text)
        finally:
            self.playing = ""
            if isinstance(utterance, PhraseStream):
                self._drop(utterance)
        if result.interrupted:
            if isinstance(utterance, PhraseStream):
                heard = heard_phrases(utterance.phrases, result.played_samples)
            else:
                heard = heard_text(text, result.played_samples, result.total_samples)
            return Spoken(heard, interrupted=True, first_audio_s=result.first_audio_s)
        return Spoken(text.strip(), first_audio_s=result.first_audio_s)

    async def say(self, sentence: str) -> Spoken:
        """Synthesise and play one sentence. A stop() during synthesis skips playing it."""
        stops = self._stops
        try:
            utterance = await self.prepare(sentence)
        except SynthError as exc:
            if self._worker.broken is not None:
                self.problem = self._worker.broken
            else:
                logger.warning("could not synthesise a sentence: %s", exc)
            return Spoken(sentence)
        if self._stops != stops:
            if isinstance(utterance, PhraseStream):
                self._drop(utterance)
            return Spoken("", interrupted=True)
        return await self.play(utterance, sentence)

    def _drop(self, stream: PhraseStream) -> None:
        stream.cancel()
        with self._pending_lock:
            self._pending.discard(stream)

    def stop(self) -> None:
        """Silence the sentence being played within one audio block. Any thread."""
        self._stops += 1
        with self._pending_lock:
            pending = list(self._pending)
        for stream in pending:  # prepared sentences that will not be played
            stream.cancel()
        self._player.stop()

    def close(self) -> None:
        self._player.close()
        self._worker.close()


class WavSpeaker:
    """Appends every sentence to a WAV file instead of playing it (file mode).

    Takes ownership of a started synthesiser; the file is opened on the first sentence
    and finished by `close()` (an empty WAV when nothing was said).
    """

    def __init__(self, synth: Synth, voice: VoiceControl, path: Path) -> None:
        self._worker = SynthWorker(synth, voice)
        self.path = Path(path)
        self._wav: Any = None

    async def say(self, sentence: str) -> Spoken:
        utterance = await self._worker.render(sentence)
        if self._wav is None:
            self._wav = self._open(utterance.sample_rate_hz)
        self._wav.writeframes(utterance.samples.astype("<i2").tobytes())
        return Spoken(sentence.strip())

    def stop(self) -> None:
        pass

    def _open(self, rate_hz: int) -> Any:
        handle = wave.open(str(self.path), "wb")  # noqa: SIM115 - kept open across sentences
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate_hz)
        return handle

    def close(self) -> None:
        if self._wav is None:
            self._wav = self._open(22050)
        self._wav.close()
        self._worker.close()


def make_engines(config: Config, voice: VoiceControl) -> Engines:
    """The session's engines, with the engine in use first (not started)."""
    engines = Engines(str(config["voice.piper_model"]))
    engines.first_engine = voice.current().engine
    return engines


def start_device_speaker(config: Config, voice: VoiceControl) -> DeviceSpeaker:
    """A started DeviceSpeaker on the configured output device.

    Raises:
        SynthError: pyttsx3 or espeak-ng is missing.
        AudioDeviceError: there is no usable output device.
    """
    engines = make_engines(config, voice)
    speaker = DeviceSpeaker(engines, Player(config["audio.output_device"]), voice)
    try:
        speaker.start()
    except (SynthError, AudioDeviceError):
        speaker.close()
        raise
    return speaker


def engine_notice(synth: Synth) -> str | None:
    """One line when the Piper voice asked for could not be used (see Engines.fallback)."""
    fallback = getattr(synth, "fallback", None)
    return f"My natural voice is unavailable: {fallback}." if fallback else None


def open_speaker(config: Config, voice: VoiceControl, mute: bool) -> tuple[Speaker, str | None]:
    """The speaker to use, and one line on why nothing will be heard (None when it will)."""
    if mute or config["conversation.mute"]:
        return NullSpeaker(), "Muted: replies are printed, not spoken."
    try:
        speaker = start_device_speaker(config, voice)
    except SynthError as exc:
        return NullSpeaker(), f"Replies are printed only; speech is unavailable: {exc}"
    except AudioDeviceError as exc:
        return NullSpeaker(), f"Replies are printed only; there is no speaker: {exc}"
    return speaker, engine_notice(speaker.synth)
