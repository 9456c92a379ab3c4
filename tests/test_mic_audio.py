"""The microphone through PortAudio on the virtual audio lab: devices, capture, transcription.

Clips are played into a virtual mic of this test process's own (tests/lab.py PrivateLab,
so other test runs sharing the lab cannot leak in) and captured by MicSource exactly as a
user's speech would be.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest
from lab import PrivateLab
from speech_data import clip

from voiceos.audio.devices import AudioDeviceError, list_devices, resolve_device
from voiceos.audio.mic import MicSource
from voiceos.listen.endpointer import Endpointer, SpeechEnded
from voiceos.listen.vad import SileroVad
from voiceos.stt.wer import word_error_rate
from voiceos.stt.whisper import WhisperTranscriber
from voiceos.types import AudioChunk

pytestmark = [pytest.mark.audio, pytest.mark.usefixtures("private_lab")]

RATE = 16000


def aligned_correlation(captured: np.ndarray, original: np.ndarray) -> float:
    """Correlation of `original` with the stretch of `captured` where it fits best."""
    size = 1 << int(np.ceil(np.log2(captured.size + original.size)))
    spectrum = np.fft.rfft(captured.astype(np.float64), size) * np.conj(
        np.fft.rfft(original.astype(np.float64), size)
    )
    scores = np.fft.irfft(spectrum, size)[: captured.size - original.size + 1]
    at = int(np.argmax(scores))
    piece = captured[at : at + original.size].astype(np.float64)
    return float(np.corrcoef(piece, original.astype(np.float64))[0, 1])


async def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.01)


async def capture_while_feeding(
    lab: PrivateLab,
    mic: MicSource,
    samples: np.ndarray,
    on_chunk: Callable[[AudioChunk], bool] | None = None,
) -> list[AudioChunk]:
    """Feed `samples` into the virtual mic and collect chunks until it has all come back
    (plus half a second), or `on_chunk` says stop."""
    got: list[AudioChunk] = []
    received: list[float] = []
    player = lab.feed_mic(samples, RATE, wait=False)
    assert player is not None
    wanted = samples.size + RATE // 2
    try:

        async def collect(chunks: AsyncIterator[AudioChunk]) -> None:
            async for chunk in chunks:
                got.append(chunk)
                received.append(time.monotonic())
                if (on_chunk and on_chunk(chunk)) or sum(c.samples.size for c in got) >= wanted:
                    return

        await asyncio.wait_for(collect(mic.chunks()), timeout=samples.size / RATE + 15)
    finally:
        player.terminate()
        player.wait(timeout=5)
    # A chunk's capture time is before it reached us, and not long before.
    delays = [r - c.timestamp_s for r, c in zip(received, got, strict=True)]
    assert min(delays) > 0 and np.median(delays) < 0.5, delays
    return got


def test_devices_are_listed_and_resolved() -> None:
    devices = list_devices()
    inputs = [d for d in devices if d.max_input_channels > 0]
    assert inputs and any(d.is_default_input for d in inputs)
    assert resolve_device("", "input") is None
    first = inputs[0]
    assert resolve_device(str(first.index), "input") == first.index
    assert resolve_device(first.name.upper(), "input") == first.index
    with pytest.raises(AudioDeviceError, match=r"no microphone matching 'no such mic'.*0: "):
        resolve_device("no such mic", "input")
    with pytest.raises(AudioDeviceError, match="no microphone with index 999"):
        resolve_device("999", "input")


async def test_captured_speech_matches_the_clip_and_is_transcribed(private_lab: PrivateLab) -> None:
    speech = clip("another_engineer")
    stream = np.concatenate([np.zeros(RATE // 2, np.int16), speech.samples()])
    vad = SileroVad()
    vad.start()
    endpointer = Endpointer(vad)
    ended: list[SpeechEnded] = []

    def listen(chunk: AudioChunk) -> bool:
        ended.extend(e for e in endpointer.feed(chunk) if isinstance(e, SpeechEnded))
        return bool(ended)

    async with MicSource() as mic:
        assert mic.rate_hz == RATE  # the lab's mic takes 16 kHz directly
        chunks = await capture_while_feeding(private_lab, mic, stream, listen)
        dropped = mic.dropped
    captured = np.concatenate([c.samples for c in chunks])
    assert all(c.sample_rate_hz == RATE and c.samples.dtype == np.int16 for c in chunks)
    # PortAudio's 10 ms blocks come out gathered into whole 32 ms chunks.
    assert {c.samples.size for c in chunks} == {512}
    assert aligned_correlation(captured, speech.samples()) > 0.99
    stamps = [c.timestamp_s for c in chunks]
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    assert dropped == 0

    assert len(ended) == 1 and ended[0].captured_s > stamps[0]
    whisper = WhisperTranscriber()
    whisper.start()
    text = whisper.transcribe(ended[0].audio, RATE).text
    assert word_error_rate(speech.transcript, text) <= 0.1, text


async def test_a_device_at_48k_is_resampled_to_16k(
    private_lab: PrivateLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Open the device at 48 kHz as if it refused 16 kHz, to run the resampling path.
    monkeypatch.setattr(MicSource, "_pick_rate", staticmethod(lambda sd, index, label: 48000))
    speech = clip("testing_routine").samples()
    async with MicSource() as mic:
        assert mic.rate_hz == 48000
        chunks = await capture_while_feeding(private_lab, mic, speech)
    assert all(c.sample_rate_hz == RATE for c in chunks)
    captured = np.concatenate([c.samples for c in chunks])
    assert aligned_correlation(captured, speech) > 0.98


async def test_a_slow_consumer_loses_the_oldest_chunks() -> None:
    async with MicSource(queue_chunks=20) as mic:
        opened = time.monotonic()
        await wait_until(lambda: mic.dropped >= 10, timeout_s=10)
        chunks = mic.chunks()
        first = await anext(chunks)
    # What is left is the newest: its first chunk was captured after the dropped ones.
    assert first.timestamp_s > opened + 0.032 * 8


async def test_a_vanished_stream_ends_the_chunks_with_a_clear_error() -> None:
    async with MicSource() as mic:
        chunks = mic.chunks()
        await anext(chunks)
        mic._stream.abort()  # what PortAudio does when the device goes away
        with pytest.raises(AudioDeviceError, match="microphone disconnected"):
            await asyncio.wait_for(_drain(chunks), timeout=10)


async def _drain(chunks: AsyncIterator[AudioChunk]) -> None:
    async for _ in chunks:
        pass


def test_no_sound_server_means_a_clear_error_not_a_crash() -> None:
    # A fresh process that cannot reach PulseAudio sees no devices at all.
    env = dict(os.environ, PULSE_SERVER="unix:/nonexistent/pulse")
    code = (
        "import asyncio\n"
        "from voiceos.audio.mic import MicSource\n"
        "async def main():\n"
        "    async with MicSource():\n"
        "        pass\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "AudioDeviceError: no microphone found" in result.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "voiceos", "devices"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0
    assert "no audio devices found" in listing.stdout
