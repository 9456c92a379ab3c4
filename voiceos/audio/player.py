"""Playback through a sounddevice OutputStream that can be silenced within one block.

The stream runs for the player's whole life, playing silence between sentences, so a
sentence starts at the next callback instead of waiting for a stream to open. When it has
been idle a while, the next sentence restarts it (abort, then start, about 2 ms): the
silence already buffered is dropped and the first samples are written straight into the
device's fresh buffer, so they are heard about 30 ms sooner than queued behind it. The
PortAudio callback thread hands results back to the event loop with call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import re
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceos.audio.devices import AudioDeviceError, resolve_device, sounddevice
from voiceos.audio.reference import ReferenceTap
from voiceos.types import PCM16

logger = logging.getLogger(__name__)

DEFAULT_RATE_HZ = 22050
"""espeak-ng's rate, so speech plays without a stream change."""
LATENCY_S = 0.03
"""Output buffering. PortAudio's "low" (about 9 ms here) underruns on a busy machine;
30 ms never did in our runs. A sentence queued behind it is heard about 35 ms after
play(); the first sentence after an idle spell restarts the stream instead (IDLE_RESTART_S)."""
RESTART_LEAD_S = 0.005
"""Silence written ahead of a sentence that restarts the stream: PulseAudio loses or ramps
the first 1-2 ms of a restarted stream (a 2 ms click at its start lost half its samples;
with 2 ms or more of silence ahead, none in 40 tries)."""
IDLE_RESTART_S = 0.2
"""Idle this long (well past the buffer's last sample), a new sentence restarts the stream.
Between the sentences of one reply the stream keeps running, so a reply never restarts."""
STALL_MARGIN_S = 2.0
"""How long past a sentence's length to wait before declaring the device dead."""


@dataclass(frozen=True)
class PlayResult:
    """What happened to one sentence's audio."""

    played_samples: int
    """Samples handed to the device before the end or the interruption."""
    total_samples: int
    interrupted: bool
    first_audio_s: float
    """When the first sample is due at the device (time.monotonic), 0 if never: the time the
    callback handed it over plus the device's buffer delay as PortAudio reports it."""


_alsa_handler: Any = None
_PRINTF_FIELD = re.compile(r"%[-+ #0-9.*]*[hlLqjzt]*[a-zA-Z%]")


def _unfilled(field: re.Match[str]) -> str:
    """A printf field of ALSA's message, whose argument cannot be read: "…" ("%%" is "%")."""
    return "%" if field.group() == "%%" else "…"


def _route_alsa_messages() -> None:
    """Send ALSA's own messages ("underrun occurred") to our log instead of the terminal."""
    global _alsa_handler
    if _alsa_handler is not None:
        return
    try:
        asound = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
    except OSError:
        return
    # The real handler is variadic; the fixed arguments are all we read.
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )

    def handler(file: bytes, line: int, function: bytes, err: int, fmt: bytes) -> None:
        # The format's own arguments are out of reach (variadic): name where it came from.
        text = _PRINTF_FIELD.sub(_unfilled, (fmt or b"").decode(errors="replace"))
        where = (function or b"?").decode(errors="replace")
        logger.debug("alsa, in %s: %s (error %s)", where, text, err)

    _alsa_handler = handler_type(handler)  # kept alive: ALSA holds the pointer
    asound.snd_lib_error_set_handler(_alsa_handler)


def _buffer_delay_s(time_info: Any) -> float:
    """How long until this callback's first sample plays, per PortAudio (0 if unknown)."""
    try:
        delay = float(time_info.outputBufferDacTime - time_info.currentTime)
    except (AttributeError, TypeError):
        return 0.0
    return delay if 0.0 < delay < 0.5 else 0.0


def _device_delay(time_info: Any, latency: float | str) -> float:
    """The buffer delay PortAudio reports, else the latency the stream was opened with."""
    return _buffer_delay_s(time_info) or (latency if isinstance(latency, float) else 0.0)


class _Job:
    """One sentence being played; touched by the callback thread under the player's lock."""

    def __init__(
        self,
        samples: PCM16,
        loop: asyncio.AbstractEventLoop,
        complete: bool = True,
        lead: int = 0,
    ) -> None:
        self.lead = lead
        """Samples of silence put ahead of the sentence's own (not counted as played)."""
        self.samples = np.concatenate((np.zeros(lead, np.int16), samples)) if lead else samples
        self.complete = complete
        """False while more audio may still be appended (a sentence synthesised as it plays)."""
        self.position = 0
        self.first_audio_s = 0.0
        self.ends_s = 0.0
        """When the last sample is due at the device (time.monotonic)."""
        self.stop_requested = False
        self.loop = loop
        self.done: asyncio.Future[PlayResult] = loop.create_future()

    def finish(self, interrupted: bool, error: Exception | None = None) -> None:
        result = PlayResult(
            max(0, self.position - self.lead),
            len(self.samples) - self.lead,
            interrupted,
            self.first_audio_s,
        )

        def settle() -> None:
            if self.done.done():
                return
            if error is not None:
                self.done.set_exception(error)
            else:
                self.done.set_result(result)

        # A closed loop means nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(settle)


class Player:
    """Plays mono int16 audio on an output device; `stop()` works from any thread."""

    def __init__(
        self, device: str = "", rate_hz: int = DEFAULT_RATE_HZ, latency: float | str = LATENCY_S
    ) -> None:
        self.device = device
        self.rate_hz = rate_hz
        self.latency = latency
        self._stream: Any = None
        self._lock = threading.Lock()
        self._job: _Job | None = None
        self._generation = 0
        self._lost: str | None = None
        """Why the open stream died, once it has."""
        self.underruns = 0
        """Callback blocks that reported an underflow, for diagnostics."""
        self.starved = 0
        """Blocks padded with silence because a streamed sentence's next audio was late."""
        self._device_index: int | None = None
        self.tap: ReferenceTap | None = None
        """When set, every block written to the device is published here (echo reference)."""
        self._held = False
        self._held_s = 0.0
        """When the latest hold was asked for (time.monotonic), until a callback silenced it."""
        self._busy_s = 0.0
        """When the callback last wrote a sentence's samples (time.monotonic)."""
        self._queued_until_s = 0.0
        """When the last of a sentence's samples handed to the device plays (monotonic)."""
        self._restarting = 0
        """Deliberate restarts whose stream-finished callback is still to come."""
        self._restarted = False
        """The next block published to the tap is the first after a restart."""
        self.restarts = 0

    @property
    def started(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        """Open the output device. Raises AudioDeviceError when there is none or it fails."""
        if self._stream is not None:
            return
        self._device_index = resolve_device(self.device, "output")
        self._open(self.rate_hz)

    def _open(self, rate_hz: int) -> None:
        sd = sounddevice()
        _route_alsa_messages()
        self._generation += 1
        generation = self._generation
        try:
            stream = sd.OutputStream(
                samplerate=rate_hz,
                channels=1,
                dtype="int16",
                latency=self.latency,
                device=self._device_index,
                callback=self._callback,
                finished_callback=lambda: self._finished(generation),
                # On a restart the first blocks come from the callback, not silence.
                prime_output_buffers_using_stream_callback=True,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open the speaker: {exc}") from None
        self._stream = stream
        self._lost = None
        self.rate_hz = rate_hz
        logger.debug("output stream open: device %s, %d Hz", self._device_index, rate_hz)

    async def play(self, samples: PCM16, sample_rate_hz: int) -> PlayResult:
        """Play `samples` to the end or until `stop()`; cancelling the task also stops it.

        Returns once the last sample has been played by the device, not merely queued.
        """
        return await self.play_stream(samples, None, sample_rate_hz)

    async def play_stream(
        self, first: PCM16, more: AsyncIterator[PCM16] | None, sample_rate_hz: int
    ) -> PlayResult:
        """Play `first`, then each block of `more` as it arrives, until the end or `stop()`.

        Playback starts at once; when `more` is slower than the device, silence fills the
        gap. Returns once the last sample has been played by the device.
        """
        if self._stream is None:
            raise AudioDeviceError("the speaker is not open")
        if self._lost is not None:
            raise AudioDeviceError(self._lost)
        pcm = np.ascontiguousarray(first, dtype=np.int16).reshape(-1)
        if sample_rate_hz != self.rate_hz:
            await asyncio.to_thread(self._reopen, sample_rate_hz)
        if self._job is not None:
            raise RuntimeError("Player.play() called while another sentence is playing")
        if len(pcm) == 0 and more is None:
            return PlayResult(0, 0, False, 0.0)
        idle = time.monotonic() - self._busy_s > IDLE_RESTART_S
        lead = int(RESTART_LEAD_S * self.rate_hz) if idle else 0
        job = _Job(pcm, asyncio.get_running_loop(), complete=more is None, lead=lead)
        if idle:
            self._stop_stream()
        with self._lock:
            self._job = job
        if idle:
            self._start_stream()
        try:
            if more is not None:
                await self._feed(job, more)
            limit_s = max(0, len(job.samples) - job.position) / sample_rate_hz + STALL_MARGIN_S
            while True:
                position = job.position
                try:
                    async with asyncio.timeout(limit_s):  # wait_for could lose a cancellation
                        result = await asyncio.shield(job.done)
                    break
                except TimeoutError:
                    if not self._held and job.position == position:
                        raise
                    # Held for barge-in (or resumed from a hold): still going, not a dead
                    # device. Allow the rest of the sentence plus the margin again.
                    remaining = max(0, len(job.samples) - job.position)
                    limit_s = remaining / sample_rate_hz + STALL_MARGIN_S
            if not result.interrupted:
                # The device still holds a buffer's worth: return when it has been heard.
                await asyncio.sleep(max(0.0, job.ends_s - time.monotonic()))
            return result
        except TimeoutError:
            raise AudioDeviceError(
                "the speaker stopped taking audio "
                f"({job.position} of {len(job.samples)} samples played)"
            ) from None
        except asyncio.CancelledError:
            self.stop()
            raise
        finally:
            with self._lock:
                if self._job is job:
                    self._job = None

    async def _feed(self, job: _Job, more: AsyncIterator[PCM16]) -> None:
        """Append `more` to a playing job, then mark it complete."""
        try:
            while not job.done.done():
                step = asyncio.ensure_future(anext(more))
                # A stop ends the job at once, even while the next block is being made.
                waiting: set[asyncio.Future[Any]] = {step, job.done}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    step.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await step
                    return
                try:
                    block = step.result()
                except StopAsyncIteration:
                    return
                pcm = np.ascontiguousarray(block, dtype=np.int16).reshape(-1)
                with self._lock:
                    if job.done.done() or job.stop_requested:
                        return
                    job.samples = np.concatenate((job.samples, pcm))
        finally:
            with self._lock:
                job.complete = True
                if self._job is job and job.position >= len(job.samples):
                    # Everything has already been handed to the device.
                    job.ends_s = time.monotonic() + self.latency_s()
                    self._job = None
                    job.finish(interrupted=False)

    def _stop_stream(self) -> None:
        """Drop the buffered silence of an idle stream (the first step of a restart)."""
        stream = self._stream
        try:
            if stream.active:
                self._restarting += 1
                stream.abort()
        except Exception as exc:  # noqa: BLE001 - a dead device is found by the start
            logger.debug("aborting the idle output stream: %s", exc)

    def _start_stream(self) -> None:
        """Start the stream again: its first callbacks write the new sentence's samples."""
        sd = sounddevice()
        self._restarted = True
        try:
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            with self._lock:
                job, self._job = self._job, None
            if job is not None:
                job.finish(True)
            raise AudioDeviceError(f"cannot restart the speaker: {exc}") from None
        self.restarts += 1

    def latency_s(self) -> float:
        """The output stream's buffer delay (0 when unknown)."""
        try:
            return float(self._stream.latency) if self._stream is not None else 0.0
        except (AttributeError, TypeError, ValueError):
            return 0.0

    def stop(self) -> None:
        """Silence the sentence under way at the next callback block. Thread-safe."""
        with self._lock:
            if self._job is not None:
                self._job.stop_requested = True

    def hold(self, held: bool) -> None:
        """Pause (True) or resume (False) the sentence under way without losing its place.

        Held audio counts as not yet played; a stop() while held ends the sentence there.
        A hold silences her at once: what the device still had queued of the sentence is
        dropped (the stream restarts, as for an idle one) and counted as not played, so
        resuming plays it. Left queued, it went on for 35 ms over the user. Without a
        sentence under way, the first block silenced logs when the silence reaches the
        device.
        """
        if held and not self._held:
            self._held_s = time.monotonic()
            self._held = True
            self._drop_queued()
        self._held = held

    def _drop_queued(self) -> None:
        with self._lock:
            job = self._job
            if job is None or self._stream is None or job.stop_requested:
                return
            queued_s = max(0.0, self._queued_until_s - time.monotonic())
            job.position = max(0, job.position - round(queued_s * self.rate_hz))
            # Logged here: the restarted stream's first blocks are silence already.
            held_s, self._held_s = self._held_s, 0.0
        self._stop_stream()
        try:
            self._start_stream()
        except AudioDeviceError as exc:  # the sentence has ended; the next play says why
            logger.info("holding: %s", exc)
            return
        logger.debug(
            "held: her voice stops at the speaker %.0f ms after the hold "
            "(%.0f ms of it dropped from the device)",
            (time.monotonic() - held_s) * 1000,
            queued_s * 1000,
        )

    def close(self) -> None:
        """Stop playback and release the device."""
        stream, self._stream = self._stream, None
        self._generation += 1
        with self._lock:
            job, self._job = self._job, None
        if job is not None:
            job.finish(interrupted=True)
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # noqa: BLE001 - closing a dead device must not fail
                logger.debug("closing the output stream: %s", exc)

    def _reopen(self, rate_hz: int) -> None:
        old, self._stream = self._stream, None
        self._generation += 1
        if old is not None:
            old.abort()
            old.close()
        self._open(rate_hz)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.underruns += 1
            logger.debug("output status: %s", status)
        self._fill(outdata, frames, time_info)
        tap = self.tap
        if tap is not None:
            # After an underflow the device played silence the sample count knows nothing
            # of (at a reply's start, 10-30 ms here): its clock starts afresh, as after a
            # restart, rather than placing her voice that far off until the stamps tell.
            underflow = bool(getattr(status, "output_underflow", False))
            restarted, self._restarted = self._restarted or underflow, False
            tap.publish(
                outdata[:, 0].copy(),
                self.rate_hz,
                time.monotonic() + _device_delay(time_info, self.latency),
                restart=restarted,
            )

    def _fill(self, outdata: Any, frames: int, time_info: Any) -> None:
        with self._lock:
            job = self._job
            if job is None:
                outdata.fill(0)
                return
            if job.stop_requested:
                outdata.fill(0)
                self._job = None
                job.finish(interrupted=True)
                return
            if self._held:
                outdata.fill(0)
                if self._held_s:
                    held_s, self._held_s = self._held_s, 0.0
                    silent_s = time.monotonic() + _device_delay(time_info, self.latency)
                    # Logged on the loop: this thread must not wait on a log handler.
                    with contextlib.suppress(RuntimeError):
                        job.loop.call_soon_threadsafe(
                            logger.debug,
                            "held: her voice stops at the speaker %.0f ms after the hold",
                            (silent_s - held_s) * 1000,
                        )
                return
            chunk = job.samples[job.position : job.position + frames]
            count = len(chunk)
            outdata[:count, 0] = chunk
            outdata[count:].fill(0)
            if count < frames and not job.complete and job.position:
                self.starved += 1
            if count:
                self._busy_s = time.monotonic()
                delay_s = _device_delay(time_info, self.latency)
                self._queued_until_s = self._busy_s + delay_s + count / self.rate_hz
            if count and not job.first_audio_s and job.position + count > job.lead:
                ahead = max(0, job.lead - job.position) / self.rate_hz  # the lead's silence
                job.first_audio_s = time.monotonic() + _buffer_delay_s(time_info) + ahead
            job.position += count
            if job.position >= len(job.samples) and job.complete:
                job.ends_s = time.monotonic() + _buffer_delay_s(time_info) + count / self.rate_hz
                self._job = None
                job.finish(interrupted=False)

    def _finished(self, generation: int) -> None:
        """A stream ended: fine when we closed or replaced it, a device failure otherwise."""
        if generation != self._generation:
            return
        if self._restarting:  # our own abort, on the way to a restart
            self._restarting -= 1
            return
        logger.info("the output stream stopped unexpectedly")
        with self._lock:
            self._lost = "the speaker went away during playback"
            job, self._job = self._job, None
        if job is not None:
            job.finish(True, AudioDeviceError(self._lost))
