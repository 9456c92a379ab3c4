"""A WAV file as an audio source: the same 16 kHz chunks the microphone gives."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from voiceos.audio.pcm import read_wav, resample
from voiceos.types import AudioChunk

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000


class WavSource:
    """Chunks of a recording, resampled to 16 kHz mono, then a stretch of silence.

    The silence lets a final utterance that runs to the end of the file reach its
    end-of-speech.

    Args:
        path: the WAV file (any rate, channels and common sample format).
        chunk_ms: length of each chunk.
        realtime: pace chunks at the speed of speech and stamp them with capture times,
            as a microphone would; otherwise deliver them as fast as they are taken.
        tail_silence_ms: silence appended after the recording.

    Raises:
        AudioFormatError: from `chunks()`, when the file cannot be read.
    """

    def __init__(
        self,
        path: str | Path,
        chunk_ms: int = 32,
        realtime: bool = False,
        tail_silence_ms: int = 1500,
    ) -> None:
        self.path = Path(path)
        self.chunk_ms = chunk_ms
        self.realtime = realtime
        self.tail_silence_ms = tail_silence_ms

    def samples(self) -> np.ndarray:
        """The whole recording at 16 kHz, followed by the tail silence."""
        pcm, rate = read_wav(self.path)
        pcm16 = np.asarray(resample(pcm, rate, SAMPLE_RATE_HZ), dtype=np.int16)
        tail = np.zeros(SAMPLE_RATE_HZ * self.tail_silence_ms // 1000, dtype=np.int16)
        logger.debug("%s: %.2f s at %d Hz", self.path, pcm.size / rate, rate)
        return np.concatenate([pcm16, tail])

    async def chunks(self) -> AsyncIterator[AudioChunk]:
        """Yield the recording in chunks of `chunk_ms`."""
        audio = await asyncio.to_thread(self.samples)
        step = max(1, SAMPLE_RATE_HZ * self.chunk_ms // 1000)
        loop = asyncio.get_running_loop()
        start_loop = loop.time()
        start_s = time.monotonic()
        for offset in range(0, audio.size, step):
            offset_s = offset / SAMPLE_RATE_HZ
            if self.realtime:
                # A chunk is "captured" once all of it has been spoken.
                delay = start_loop + offset_s + step / SAMPLE_RATE_HZ - loop.time()
                await asyncio.sleep(max(0.0, delay))
            else:
                await asyncio.sleep(0)  # let the consumer's tasks run between chunks
            stamp = start_s + offset_s if self.realtime else 0.0
            yield AudioChunk(audio[offset : offset + step], SAMPLE_RATE_HZ, stamp)
