"""The synthesiser on one dedicated thread, with a deadline on every sentence.

espeak-ng 1.51 can, rarely, block for good inside its command queue (espeak-ng issue
#996). A daemon thread is used rather than a ThreadPoolExecutor, whose threads are joined
at exit, so a wedged espeak can neither freeze the conversation nor stop voiceos exiting:
after a missed deadline the worker is marked broken and speech is given up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from voiceos.speak.synth import SynthError, Utterance
from voiceos.types import PCM16, VoiceControl, VoiceSettings

if TYPE_CHECKING:
    from voiceos.speak.engines import Synth

logger = logging.getLogger(__name__)

T = TypeVar("T")

FALLBACK_VOICE = "en-us"
BASE_DEADLINE_S = 5.0
"""Synthesis normally takes 10-30 ms a sentence; this is for a machine under heavy load."""
PER_CHAR_DEADLINE_S = 0.01

_Job = tuple[Callable[[], Any], concurrent.futures.Future[Any]]


class PhraseStream:
    """A sentence whose phrases are synthesised on the worker thread while it plays.

    `first` is ready when the stream is handed out; `rest()` yields the others as they
    come. `cancel()` stops the synthesis after the phrase under way.
    """

    def __init__(
        self,
        first: tuple[str, Utterance],
        items: asyncio.Queue[Any],
        deadline_s: float,
        cancelled: threading.Event,
    ) -> None:
        self.first = first
        self.phrases: list[tuple[str, int]] = [(first[0], len(first[1].samples))]
        """Each phrase with its number of samples, in order, as far as synthesised."""
        self._items = items
        self._deadline_s = deadline_s
        self.cancelled = cancelled
        self.error: BaseException | None = None

    @property
    def sample_rate_hz(self) -> int:
        return self.first[1].sample_rate_hz

    async def rest(self) -> AsyncIterator[PCM16]:
        """The samples of the phrases after the first, as they are made."""
        try:
            while True:
                async with asyncio.timeout(self._deadline_s):
                    item = await self._items.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    self.error = item
                    logger.warning("could not synthesise the rest of a sentence: %s", item)
                    return
                phrase, utterance = item
                self.phrases.append((phrase, len(utterance.samples)))
                yield utterance.samples
        finally:
            self.cancel()

    def cancel(self) -> None:
        self.cancelled.set()


class SynthWorker:
    """Runs a synthesiser's calls in order on its own thread."""

    def __init__(self, synth: Synth, voice: VoiceControl) -> None:
        self.synth = synth
        self.voice = voice
        self.broken: str | None = None
        """Why synthesis was given up (a missed deadline), else None."""
        self._jobs: queue.SimpleQueue[_Job | None] | None = None
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()

    def _ensure_thread(self) -> queue.SimpleQueue[_Job | None]:
        if self._jobs is None:
            self._jobs = queue.SimpleQueue()
            self._thread = threading.Thread(
                target=self._run, args=(self._jobs,), name="voiceos-tts", daemon=True
            )
            self._thread.start()
        return self._jobs

    @staticmethod
    def _run(jobs: queue.SimpleQueue[_Job | None]) -> None:
        while (job := jobs.get()) is not None:
            call, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)

    def submit(self, call: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Queue `call` on the worker thread."""
        if self.broken is not None:
            raise SynthError(self.broken)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._ensure_thread().put((call, future))
        return future

    def run(self, call: Callable[[], T], timeout_s: float = BASE_DEADLINE_S) -> T:
        """Run `call` on the worker thread and wait for it (blocking)."""
        future = self.submit(call)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            raise self._give_up() from None

    async def render(self, sentence: str) -> Utterance:
        """Synthesise `sentence` with the current settings, off the event loop."""
        settings = self.voice.current()
        future = self.submit(lambda: self._render(sentence, settings))
        deadline = BASE_DEADLINE_S + PER_CHAR_DEADLINE_S * len(sentence)
        try:
            async with asyncio.timeout(deadline):  # wait_for could lose a cancellation
                return await asyncio.wrap_future(future)
        except TimeoutError:
            raise self._give_up() from None

    async def render_stream(self, sentence: str) -> PhraseStream:
        """Start synthesising `sentence` phrase by phrase; returns once the first is ready."""
        settings = self.voice.current()
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Any] = asyncio.Queue()
        first: asyncio.Future[tuple[str, Utterance]] = loop.create_future()
        cancelled = threading.Event()

        def hand(item: Any) -> None:
            def put() -> None:
                if not first.done():
                    if isinstance(item, BaseException):
                        first.set_exception(item)
                    elif item is None:
                        first.set_exception(SynthError("no audio for this sentence"))
                    else:
                        first.set_result(item)
                else:
                    items.put_nowait(item)

            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody listens
                loop.call_soon_threadsafe(put)

        def produce() -> None:
            try:
                for item in self._phrases(sentence, settings):
                    if cancelled.is_set():
                        break
                    hand(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                hand(exc)
            finally:
                hand(None)

        self.submit(produce)
        deadline = BASE_DEADLINE_S + PER_CHAR_DEADLINE_S * len(sentence)
        try:
            async with asyncio.timeout(deadline):
                head = await first
        except TimeoutError:
            cancelled.set()
            raise self._give_up() from None
        except BaseException:
            cancelled.set()
            raise
        return PhraseStream(head, items, deadline, cancelled)

    def _phrases(self, sentence: str, settings: VoiceSettings) -> Iterator[tuple[str, Utterance]]:
        settings = self._checked(settings)
        stream = getattr(self.synth, "stream", None)
        if stream is None:
            yield sentence, self.synth.synthesize(sentence, settings)
        else:
            yield from stream(sentence, settings)

    def _give_up(self) -> SynthError:
        self.broken = "speech synthesis stopped responding; speech is off for this session"
        logger.error("%s", self.broken)
        return SynthError(self.broken)

    def _checked(self, settings: VoiceSettings) -> VoiceSettings:
        try:
            self.synth.check_voice(settings.voice)
        except SynthError as exc:
            if settings.voice not in self._warned:
                self._warned.add(settings.voice)
                logger.warning("%s; speaking with %s instead", exc, FALLBACK_VOICE)
            settings = dataclasses.replace(settings, voice=FALLBACK_VOICE)
        return settings

    def _render(self, sentence: str, settings: VoiceSettings) -> Utterance:
        return self.synth.synthesize(sentence, self._checked(settings))

    def close(self) -> None:
        """Close the synthesiser on its thread and let the thread end."""
        jobs, self._jobs = self._jobs, None
        if jobs is None:
            self.synth.close()
            return
        if self.broken is None:
            closing: concurrent.futures.Future[None] = concurrent.futures.Future()
            jobs.put((self.synth.close, closing))
            try:
                closing.result(BASE_DEADLINE_S)
            except concurrent.futures.TimeoutError:
                logger.warning("espeak-ng did not close in time")
        jobs.put(None)
