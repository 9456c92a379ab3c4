"""The far-end reference: what the player handed to the device, and when it plays.

The player's PortAudio callback publishes a copy of every block it writes (silence
included) with the time its first sample reaches the device. The loop side drains those
blocks into a 16 kHz timeline indexed by time, from which the echo stage reads the stretch
that was playing when each microphone chunk was captured.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from voiceos.audio.pcm import Resampler, to_float32, to_int16
from voiceos.types import PCM16

logger = logging.getLogger(__name__)

RATE_HZ = 16000
HISTORY_S = 8.0
"""Reference kept for reading back; far more than any echo path's delay."""
RESYNC_S = 0.006
"""When the median stamp strays this far from the sample count's clock, the clock moves
(an underrun, a drifting device); single stamps jitter by tens of ms through ALSA→Pulse."""
WINDOW = 24
"""Stamps in the running median."""


@dataclass(frozen=True)
class PlayedBlock:
    """One block as the player wrote it."""

    samples: PCM16
    rate_hz: int
    device_s: float
    """When its first sample is due at the device (time.monotonic)."""
    restart: bool = False
    """The first block after the stream was restarted: its clock starts afresh. Its own
    stamp is not to be trusted: PortAudio writes it before the stream runs, and says it
    plays about 30 ms later than the blocks after it show (measured on PulseAudio)."""


class ReferenceTap:
    """Thread-safe hand-over of played blocks from the audio callback to the loop."""

    def __init__(self, max_blocks: int = 2000) -> None:
        self._blocks: deque[PlayedBlock] = deque(maxlen=max_blocks)
        self._lock = threading.Lock()

    def publish(self, samples: PCM16, rate_hz: int, device_s: float, restart: bool = False) -> None:
        """Called by the player's callback with a copy of the block it wrote."""
        with self._lock:
            self._blocks.append(PlayedBlock(samples, rate_hz, device_s, restart))

    def drain(self) -> list[PlayedBlock]:
        with self._lock:
            blocks = list(self._blocks)
            self._blocks.clear()
        return blocks


class SteadyClock:
    """Time of a sample count, from per-block stamps that jitter (PortAudio through ALSA).

    The device plays (or captures) at its nominal rate, so time follows the sample count;
    the stamps only correct the anchor, through a running median, when it drifts.
    """

    def __init__(self, rate_hz: int, name: str = "") -> None:
        self.rate_hz = rate_hz
        self.name = name
        """Whose clock it is, for the log."""
        self._anchor: tuple[int, float] | None = None
        self._offsets: deque[float] = deque(maxlen=WINDOW)
        self.moves = 0
        self.moved_s = 0.0
        """How far the clock has moved, in all (each move's sign kept)."""
        self.offset_s = 0.0
        """How far the stamps run ahead of this clock (their running median; 0 until
        known): monotonic time less this clock's, now."""

    def stamp(self, count: int, t_s: float) -> float:
        """The steady time of sample `count`, given that its stamp said `t_s`."""
        if self._anchor is None:
            self._anchor = (count, t_s)
        base, base_s = self._anchor
        predicted = base_s + (count - base) / self.rate_hz
        self._offsets.append(t_s - predicted)
        if len(self._offsets) >= WINDOW // 2:
            drift = sorted(self._offsets)[len(self._offsets) // 2]
            self.offset_s = drift
            if abs(drift) > RESYNC_S:
                self.moves += 1
                self.moved_s += drift
                self.offset_s = 0.0
                logger.debug("%s clock moved %+.1f ms", self.name, drift * 1000)
                self._anchor = (base, base_s + drift)
                self._offsets.clear()
                predicted += drift
        return predicted


class ReferenceTimeline:
    """Played audio at 16 kHz, readable by capture time: on the monotonic clock, or on the
    microphone's clock when the blocks are added with its offset (`EchoStage`)."""

    def __init__(self, history_s: float = HISTORY_S) -> None:
        self._size = int(history_s * RATE_HZ)
        self._ring = np.zeros(self._size, dtype=np.int16)
        self._origin_s: float | None = None
        self._written = 0
        """Timeline index one past the newest sample written."""
        self._resampler: Resampler | None = None
        self._clock = SteadyClock(1)
        self._rate_hz = 0
        self._in = 0
        self._emitted = 0
        self._next = -1
        self._first: PlayedBlock | None = None
        """A restarted stream's first block, waiting for the next one to be placed by."""
        self.resyncs = 0
        """Restarts on a new rate or a restarted stream."""

    def index(self, t_s: float) -> int:
        """Timeline index of time `t_s` (the first block sets the origin)."""
        if self._origin_s is None:
            self._origin_s = t_s
        return round((t_s - self._origin_s) * RATE_HZ)

    def shift(self, moved_s: float) -> None:
        """The clock times are read by moved by `moved_s`: every index stays where it was."""
        if self._origin_s is not None:
            self._origin_s += moved_s

    @property
    def written(self) -> int:
        return self._written

    def add(self, block: PlayedBlock, offset_s: float = 0.0) -> None:
        """Append a played block, resampled to 16 kHz, at its device time less `offset_s`
        (monotonic time less that of the clock the timeline is read by).

        A restarted stream's first block is placed when the next one arrives (one block
        later, long before its echo can): just before it, on the next block's stamp."""
        if offset_s:
            block = dataclasses.replace(block, device_s=block.device_s - offset_s)
        first, self._first = self._first, None
        if first is not None:
            if not block.restart and block.rate_hz == first.rate_hz:
                start_s = block.device_s - len(first.samples) / first.rate_hz
                first = PlayedBlock(first.samples, first.rate_hz, start_s, restart=True)
            self._place(first)
        if block.restart:
            self._first = block
            return
        self._place(block)

    def _place(self, block: PlayedBlock) -> None:
        if self._resampler is None or block.rate_hz != self._rate_hz or block.restart:
            if self._resampler is not None:
                self.resyncs += 1
            self._resampler = Resampler(block.rate_hz, RATE_HZ)
            self._rate_hz = block.rate_hz
            self._clock = SteadyClock(block.rate_hz, "player")
            self._in = 0
            self._emitted = 0
            self._next = -1
        t_s = self._clock.stamp(self._in, block.device_s)
        # The resampler's next output sample stands for input sample emitted * rate / 16k.
        emit_s = t_s + (self._emitted * self._rate_hz / RATE_HZ - self._in) / self._rate_hz
        start = self.index(emit_s)
        if abs(start - self._next) <= 2:
            start = self._next  # rounding, not a move: keep the stream seamless
        out = to_int16(self._resampler.process(to_float32(block.samples)))
        self._write(start, out)
        self._in += len(block.samples)
        self._emitted += len(out)
        self._next = start + len(out)

    def _write(self, start: int, samples: PCM16) -> None:
        if start < 0 or not len(samples):
            return
        if start > self._written:  # a gap (playback stopped): nothing played there
            self._zero(self._written, start)
        ring = np.arange(start, start + len(samples)) % self._size
        self._ring[ring] = samples
        self._written = max(self._written, start + len(samples))

    def _zero(self, start: int, end: int) -> None:
        start = max(start, end - self._size)
        self._ring[np.arange(start, end) % self._size] = 0

    def read(self, start: int, count: int) -> tuple[PCM16, int]:
        """`count` samples from index `start`, zeros where nothing is known.

        Returns the samples and how many of them were not yet written (late reference).
        """
        out = np.zeros(count, dtype=np.int16)
        first = max(start, self._written - self._size, 0)
        last = min(start + count, self._written)
        if last > first:
            out[first - start : last - start] = self._ring[np.arange(first, last) % self._size]
        missing = max(0, start + count - max(self._written, start))
        return out, min(count, missing)
