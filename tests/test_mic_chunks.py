"""MicSource gathers PortAudio's small blocks into whole chunks (no device needed)."""

from __future__ import annotations

import asyncio
from collections import deque

import numpy as np
import pytest

from voiceos.audio.mic import MicSource

RATE = 16000


def _fed(
    mic: MicSource, blocks: list[tuple[np.ndarray, float, bool]]
) -> list[tuple[np.ndarray, float]]:
    if mic._wakeup is None:  # as start() leaves them, without a device
        mic._wakeup = asyncio.Event()
        mic._queue = deque(maxlen=mic.queue_chunks)
    mic.rate_hz = RATE
    for block, stamp, flagged in blocks:
        mic._deliver(block, stamp, flagged)
    return list(mic._queue)


def test_ten_ms_blocks_come_out_as_whole_chunks_stamped_at_their_first_sample() -> None:
    mic = MicSource(queue_chunks=50)
    samples = np.arange(160 * 20, dtype=np.int16)
    blocks = [(samples[i : i + 160], 100.0 + i / RATE, False) for i in range(0, samples.size, 160)]
    chunks = _fed(mic, blocks)
    # 3200 samples: six whole 512-sample chunks, 128 samples waiting for the next blocks.
    assert [c.size for c, _ in chunks] == [512] * 6
    assert np.array_equal(np.concatenate([c for c, _ in chunks]), samples[: 512 * 6])
    assert [stamp for _, stamp in chunks] == pytest.approx([100.0 + k * 0.032 for k in range(6)])
    more = _fed(mic, [(np.arange(384, dtype=np.int16), 100.2, False)])
    assert len(more) == 7
    assert np.array_equal(more[-1][0][:128], samples[512 * 6 :])
    assert more[-1][1] == pytest.approx(100.0 + 6 * 0.032)


def test_a_block_longer_than_a_chunk_gives_several_and_keeps_the_rest() -> None:
    mic = MicSource()
    chunks = _fed(mic, [(np.ones(1300, np.int16), 5.0, False)])
    assert [c.size for c, _ in chunks] == [512, 512]
    assert [s for _, s in chunks] == pytest.approx([5.0, 5.032])
    assert sum(b.size for b in mic._gathered) == 1300 - 1024


def test_an_overflow_flag_is_counted_once_per_chunk_it_touched() -> None:
    mic = MicSource()
    blocks = [(np.zeros(160, np.int16), k * 0.01, k == 1) for k in range(8)]
    _fed(mic, blocks)
    assert mic._overflows == 1


def test_a_full_queue_drops_the_oldest_chunks() -> None:
    mic = MicSource(queue_chunks=2)
    stamps = [s for _, s in _fed(mic, [(np.zeros(512 * 5, np.int16), 1.0, False)])]
    assert mic.dropped == 3
    assert stamps == pytest.approx([1.0 + 3 * 0.032, 1.0 + 4 * 0.032])
