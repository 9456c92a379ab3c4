"""Typed input: lines from a terminal or a pipe, cleaned so any byte sequence is safe."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import threading
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import BinaryIO

logger = logging.getLogger(__name__)

MAX_LINE_CHARS = 2000
"""Longer lines are cut here: nobody says more than this in one breath."""
_READ_LIMIT_BYTES = 1 << 20

_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TypedLine:
    """One cleaned line of typed input."""

    text: str
    truncated: bool = False
    """True when the line was longer than MAX_LINE_CHARS and was cut."""
    replaced: bool = False
    """True when invalid UTF-8 or control characters were removed."""


def clean_line(raw: bytes) -> TypedLine:
    """Decode and tidy one line: invalid UTF-8, escapes and control characters go."""
    text = raw.decode("utf-8", errors="replace")
    replaced = "\ufffd" in text
    without_ansi = _ANSI.sub(" ", text)
    kept = "".join(
        ch if ch in "\t\n" or unicodedata.category(ch)[0] != "C" else " " for ch in without_ansi
    )
    kept = kept.replace("\ufffd", " ")
    replaced = replaced or kept != text
    tidy = _SPACES.sub(" ", kept).strip()
    truncated = len(tidy) > MAX_LINE_CHARS
    if truncated:
        tidy = tidy[:MAX_LINE_CHARS].rsplit(" ", 1)[0] or tidy[:MAX_LINE_CHARS]
    return TypedLine(tidy, truncated=truncated, replaced=replaced)


class LineReader:
    """Reads lines on a daemon thread and hands them to the event loop.

    Reading stdin blocks, so it lives on its own thread; the loop only sees whole lines.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    async def lines(self) -> AsyncIterator[TypedLine]:
        """Cleaned lines until end of input."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[TypedLine | None] = asyncio.Queue()

        def pump() -> None:
            try:
                for raw in _raw_lines(self._stream):
                    loop.call_soon_threadsafe(queue.put_nowait, clean_line(raw))
            except (OSError, ValueError) as exc:
                logger.debug("input closed: %s", exc)
            finally:
                # RuntimeError: the loop is already closed, so nobody is waiting.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="voiceos-stdin", daemon=True).start()
        while (line := await queue.get()) is not None:
            yield line


def _raw_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Lines of at most _READ_LIMIT_BYTES; a longer line's tail is dropped, since
    clean_line keeps only MAX_LINE_CHARS anyway.

    A stream with a file descriptor (stdin) is read straight from it: a thread blocked in
    a buffered readline holds the buffer's lock, and Python aborts at exit ("could not
    acquire lock for <stdin> at interpreter shutdown") when the conversation ends while
    the reader still waits for a line.
    """
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        fd = -1
    if fd < 0:
        while raw := stream.readline(_READ_LIMIT_BYTES):
            tail = raw
            while tail and not tail.endswith(b"\n"):
                tail = stream.readline(_READ_LIMIT_BYTES)
            yield raw
        return
    pending = bytearray()
    skipping = False  # inside the dropped tail of an over-long line
    while block := os.read(fd, 1 << 16):
        pending += block
        while (end := pending.find(b"\n")) >= 0:
            line = bytes(pending[: end + 1])
            del pending[: end + 1]
            if not skipping:
                yield line[:_READ_LIMIT_BYTES]
            skipping = False
        if len(pending) >= _READ_LIMIT_BYTES:
            if not skipping:
                yield bytes(pending[:_READ_LIMIT_BYTES])
            pending.clear()
            skipping = True
    if pending and not skipping:
        yield bytes(pending)
