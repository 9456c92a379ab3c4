"""The microphone as an audio source: a sounddevice InputStream feeding the asyncio loop.

The PortAudio callback only copies each block and hands it to the loop with
`call_soon_threadsafe`. The loop gathers the blocks into chunks, keeps a bounded queue
(oldest dropped and counted when a slow consumer lets it fill) and resamples to 16 kHz
there, never in the callback.

PortAudio is asked for small blocks at low latency, and the chunks are gathered here: asked
for 32 ms blocks, PortAudio through PulseAudio handed them over in bursts, each up to 33 ms
after its last sample was captured (17 ms at the median); in 10 ms blocks at low latency,
each chunk is whole within about 9 ms of its end (4 ms at the median;
bench/mic_delivery.py). Every decision made on the microphone (the user's onset over her
voice, the end of a turn) waits on that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import numpy as np

from voiceos.audio.devices import AudioDeviceError, resolve_device, sounddevice
from voiceos.audio.pcm import Resampler, to_float32, to_int16
from voiceos.types import AudioChunk

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000


class MicSource:
    """Mono 16 kHz chunks from an input device, with capture timestamps.

    Args:
        device: "" for the default input, an index, or part of a device name.
        queue_chunks: chunks buffered for a slow consumer before the oldest is dropped.
        chunk_ms: length of the chunks yielded.
        block_ms: length of the blocks asked of PortAudio (at low latency); they are
            gathered into chunks. Smaller blocks reach the loop sooner after capture.
        stall_timeout_s: no audio for this long while the stream should be running
            counts as a lost device.
    """

    def __init__(
        self,
        device: str = "",
        queue_chunks: int = 200,
        chunk_ms: int = 32,
        stall_timeout_s: float = 3.0,
        block_ms: int = 10,
    ) -> None:
        self.device = device
        self.queue_chunks = queue_chunks
        self.chunk_ms = chunk_ms
        self.block_ms = block_ms
        self.stall_timeout_s = stall_timeout_s
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[tuple[np.ndarray, float]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._dropped = 0
        self._overflows = 0
        self._failure = ""
        self._closing = False
        self._gathered: list[np.ndarray] = []
        """Blocks received since the latest whole chunk (at the device's rate)."""
        self._gathered_s = 0.0
        """Capture time of the first sample in `_gathered`."""
        self._gathered_flagged = False
        self.rate_hz = 0
        """The rate the device was opened at (16000 when it supports it)."""

    @property
    def dropped(self) -> int:
        """Chunks thrown away because the consumer fell behind."""
        return self._dropped

    async def __aenter__(self) -> MicSource:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Open and start the input stream.

        Raises:
            AudioDeviceError: no microphone, no match for `device`, or it cannot be opened.
        """
        self._loop = loop or asyncio.get_running_loop()
        self._queue = deque(maxlen=self.queue_chunks)
        self._wakeup = asyncio.Event()
        self._failure, self._closing = "", False
        self._gathered, self._gathered_flagged = [], False
        sd = sounddevice()
        index = resolve_device(self.device, "input")
        label = self.device or "default"
        self.rate_hz = self._pick_rate(sd, index, label)
        blocksize = max(1, self.rate_hz * min(self.block_ms, self.chunk_ms) // 1000)
        try:
            self._stream = sd.InputStream(
                device=index,
                samplerate=self.rate_hz,
                channels=1,
                dtype="int16",
                blocksize=blocksize,
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self.close()
            raise AudioDeviceError(f"cannot open the microphone ({label}): {exc}") from None
        logger.info(
            "microphone %s open at %d Hz, %d-sample blocks gathered into %d ms chunks",
            label,
            self.rate_hz,
            blocksize,
            self.chunk_ms,
        )

    @staticmethod
    def _pick_rate(sd: Any, index: int | None, label: str) -> int:
        try:
            default = int(sd.query_devices(index, "input")["default_samplerate"])
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot use the microphone ({label}): {exc}") from None
        for rate in dict.fromkeys((SAMPLE_RATE_HZ, default)):
            try:
                sd.check_input_settings(device=index, channels=1, dtype="int16", samplerate=rate)
                return rate
            except (sd.PortAudioError, ValueError) as exc:
                logger.debug("microphone %s refuses %d Hz: %s", label, rate, exc)
        raise AudioDeviceError(
            f"the microphone ({label}) accepts neither {SAMPLE_RATE_HZ} Hz nor {default} Hz mono"
        )

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # PortAudio's thread: copy the block and hand it over; nothing else.
        now = time.monotonic()
        try:
            lag = float(time_info.currentTime - time_info.inputBufferAdcTime)
        except (AttributeError, TypeError):
            lag = -1.0
        if not 0.0 <= lag < 1.0:  # some host APIs report no usable stream clock
            lag = frames / self.rate_hz
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closing, and the stream is about to be closed too.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._deliver, indata[:, 0].copy(), now - lag, bool(status))

    def _finished(self) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._on_finished)

    def _deliver(self, block: np.ndarray, captured_s: float, flagged: bool) -> None:
        if self._closing:
            return
        if not self._gathered:
            self._gathered_s = captured_s
        self._gathered.append(block)
        self._gathered_flagged = self._gathered_flagged or flagged
        size = max(1, self.rate_hz * self.chunk_ms // 1000)
        held = sum(b.size for b in self._gathered)
        if held < size:
            return
        samples = np.concatenate(self._gathered)
        whole = held // size * size
        for start in range(0, whole, size):
            self._queue_chunk(
                samples[start : start + size],
                self._gathered_s + start / self.rate_hz,
                self._gathered_flagged,
            )
        rest = samples[whole:]
        self._gathered = [rest] if rest.size else []
        self._gathered_s += whole / self.rate_hz
        self._gathered_flagged = False

    def _queue_chunk(self, chunk: np.ndarray, captured_s: float, flagged: bool) -> None:
        if len(self._queue) == self._queue.maxlen:
            self._dropped += 1
            if self._dropped in (1, 10, 100) or self._dropped % 1000 == 0:
                logger.warning("microphone queue full: %d chunks dropped", self._dropped)
        if flagged:
            self._overflows += 1
        self._queue.append((chunk, captured_s))
        if self._wakeup is not None:
            self._wakeup.set()

    def _on_finished(self) -> None:
        if not self._closing and not self._failure:
            self._failure = "the input stream stopped"
        if self._wakeup is not None:
            self._wakeup.set()

    def _diagnose(self) -> str:
        stream = self._stream
        if stream is None or not stream.active:
            return "the input stream stopped"
        return f"no audio for {self.stall_timeout_s:g} s"

    async def chunks(self) -> AsyncIterator[AudioChunk]:
        """16 kHz mono chunks until close().

        Raises:
            AudioDeviceError: "microphone disconnected: …" when the device goes away.
        """
        if self._wakeup is None:
            raise RuntimeError("MicSource.chunks() before start()")
        wakeup = self._wakeup
        resampler = (
            Resampler(self.rate_hz, SAMPLE_RATE_HZ) if self.rate_hz != SAMPLE_RATE_HZ else None
        )
        while True:
            if self._queue:
                block, captured_s = self._queue.popleft()
                if resampler is not None:
                    block = to_int16(resampler.process(to_float32(block)))
                if block.size:
                    yield AudioChunk(block, SAMPLE_RATE_HZ, captured_s)
                continue
            if self._closing:
                return
            if self._failure:
                raise AudioDeviceError(f"microphone disconnected: {self._failure}")
            wakeup.clear()
            try:
                # Not asyncio.wait_for: on 3.11 it loses a cancellation (Ctrl-C) that lands
                # as the wakeup arrives, and a chunk arrives every 32 ms.
                async with asyncio.timeout(self.stall_timeout_s):
                    await wakeup.wait()
            except TimeoutError:
                self._failure = self._diagnose()

    def close(self) -> None:
        """Stop capturing; a running `chunks()` ends after the blocks already queued."""
        self._closing = True
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # closing a vanished device may fail; nothing to keep
                logger.debug("closing the input stream: %s", exc)
        if self._overflows:
            logger.info("microphone reported %d overflowing blocks", self._overflows)
        if self._wakeup is not None:
            self._wakeup.set()
