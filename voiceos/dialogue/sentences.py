"""Cut streamed reply text into sentences that are ready to speak.

Text deltas arrive a few characters at a time. A sentence goes out as soon as it is known
to be complete, so speech starts while the rest of the reply is still being written.
Markdown is stripped on the way, because it reads badly aloud.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

TERMINALS = ".!?…"
CLOSERS = "\"')]}»”’*_"
SOFT_BREAKS = ",;:—–"

# Never end a sentence: they are followed by a name or a number.
_TITLE_WORDS = "mr mrs ms dr prof sr jr st mt no vs fig approx dept gen gov sen rep capt lt col sgt"
TITLES = frozenset(_TITLE_WORDS.split())
# End a sentence only when the next word starts with a capital letter.
_ABBREVIATION_WORDS = (
    "etc e.g i.e u.s u.k u.n a.m p.m inc ltd co corp jan feb mar apr jun jul aug sep sept "
    "oct nov dec mon tue wed thu fri sat sun min max est"
)
ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())

_LIST_NUMBER = re.compile(r"^\s*(?:[-*+•]\s+)?\d{1,3}$")
_INITIALISM = re.compile(r"^(?:[a-z]\.)+[a-z]$", re.IGNORECASE)
_LINE_MARKER = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d{1,3}[.)]\s+)+")
_RULE_LINE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_EMPHASIS = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")
_LEFTOVER_MARKS = re.compile(r"\*+|`+|(?<!\w)_+|_+(?!\w)|#+(?=\s|$)")
_SPACES = re.compile(r"\s+")
_SPEAKABLE = re.compile(r"\w")


def is_emoji(char: str) -> bool:
    """True for pictographs, flags, and the joiners and selectors that build them."""
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2B00 <= code <= 0x2BFF
        or code in (0x200D, 0xFE0F, 0x20E3)
        or 0xE0020 <= code <= 0xE007F
    )


def speakable(text: str) -> str:
    """Strip inline markdown and emoji from one sentence and tidy its spaces."""
    text = _LINE_MARKER.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _BOLD.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _LEFTOVER_MARKS.sub("", text)
    text = "".join(" " if is_emoji(c) else c for c in text)
    text = _SPACES.sub(" ", text).strip()
    text = re.sub(r"\s+([,.!?;:…])", r"\1", text)
    return text if _SPEAKABLE.search(text) else ""


class SentenceSplitter:
    """Turns a stream of text deltas into complete sentences.

    Args:
        max_chars: a run of text this long with no sentence end is cut at its last comma
            or space, so speech is never held back by one endless clause.
        first_max_chars: the same limit for the first sentence of a reply, lower so the
            first words are heard early.
    """

    def __init__(self, max_chars: int = 220, first_max_chars: int = 120) -> None:
        self.max_chars = max_chars
        self.first_max_chars = first_max_chars
        self._buf = ""
        self._line_start = True
        self._in_code = False
        self._emitted = 0

    def feed(self, delta: str) -> list[str]:
        """Add text; return the sentences it completed."""
        self._buf += delta
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """End of the reply: return what is left, and get ready for the next reply."""
        out = self._drain(final=True)
        if self._buf:
            out.extend(self._emit(self._buf))
        self._buf = ""
        self._line_start = True
        self._in_code = False
        self._emitted = 0
        return out

    def _drain(self, final: bool) -> list[str]:
        out: list[str] = []
        while self._buf:
            cut = self._boundary(self._buf, final)
            if cut is None:
                cut = self._soft_cut(self._buf)
            if cut is None:
                break
            piece, self._buf = self._buf[:cut], self._buf[cut:]
            out.extend(self._emit(piece))
        return out

    def _emit(self, piece: str) -> list[str]:
        at_line_start = self._line_start
        self._line_start = piece.endswith("\n")
        if at_line_start and piece.lstrip().startswith("```"):
            self._in_code = not self._in_code
            return []
        if self._in_code or (at_line_start and _RULE_LINE.match(piece)):
            return []
        text = speakable(piece)
        if not text:
            return []
        self._emitted += 1
        return [text]

    def _soft_cut(self, buf: str) -> int | None:
        """Where to cut a run of text that has grown too long without a sentence end."""
        limit = self.first_max_chars if self._emitted == 0 else self.max_chars
        if len(buf) < limit:
            return None
        window = buf[:limit]
        floor = limit // 4
        for i in range(len(window) - 1, floor, -1):
            if window[i] in SOFT_BREAKS and (i + 1 == len(buf) or buf[i + 1].isspace()):
                return i + 1
        space = window.rfind(" ", floor)
        return space if space > floor else limit

    def _boundary(self, buf: str, final: bool) -> int | None:
        """The end of the first complete sentence in `buf`, or None if none is known yet."""
        i = 0
        n = len(buf)
        while i < n:
            char = buf[i]
            if char == "\n":
                verdict = self._line_break(buf, i, final)
                if verdict is None:
                    return None
                if verdict:
                    return i + 1
                i += 1
                continue
            if char in TERMINALS or is_emoji(char):
                run_end = i
                while run_end < n and (buf[run_end] in TERMINALS or is_emoji(buf[run_end])):
                    run_end += 1
                end = run_end
                while end < n and buf[end] in CLOSERS:
                    end += 1
                if end == n:
                    return end if final else None
                if not buf[end].isspace():
                    i = end
                    continue
                verdict = self._decide(buf, i, run_end, end, final)
                if verdict is None:
                    return None
                if verdict:
                    return end
                i = end
                continue
            i += 1
        return None

    def _line_break(self, buf: str, index: int, final: bool) -> bool | None:
        """Whether the newline at `index` ends a piece (None: need the next character).

        Lists, headings, fences and blank lines always do. A line of prose that wrapped
        mid-sentence (the next line starts in lower case) does not.
        """
        line_start = buf.rfind("\n", 0, index) + 1
        if line_start == 0 and not self._line_start:
            line_start = -1  # the line began in an earlier piece: not a marker line
        if line_start >= 0 and (
            _LINE_MARKER.match(buf[line_start:index]) or buf[line_start:].lstrip().startswith("```")
        ):
            return True
        if index + 1 == len(buf):
            return True if final else None
        return not buf[index + 1].islower()

    def _decide(self, buf: str, start: int, run_end: int, end: int, final: bool) -> bool | None:
        """Whether the punctuation run buf[start:run_end] ends a sentence (None: need more)."""
        run = buf[start:run_end]
        closed = end > run_end
        needs_capital = False
        if run == ".":
            word = _word_before(buf, start)
            bare = word.strip("(\"'“‘*_").lower()
            if _LIST_NUMBER.match(buf[:start]):  # "1. Buy milk" is a list item
                return False
            if bare in TITLES or (len(bare) == 1 and bare.isalpha()):
                return False
            needs_capital = bare in ABBREVIATIONS or bool(_INITIALISM.match(bare))
        elif "…" in run or ".." in run or all(is_emoji(c) for c in run):
            needs_capital = True
        elif closed:
            # `He said "Stop!" and left.` keeps going; `"Stop!" He left.` does not.
            needs_capital = True
        if not needs_capital:
            return True
        j = end
        while j < len(buf) and buf[j] in " \t":
            j += 1
        if j == len(buf):
            return True if final else None
        nxt = buf[j]
        return nxt == "\n" or nxt.isupper() or nxt in "\"“‘'(*#" or nxt.isdigit() or is_emoji(nxt)


def _word_before(buf: str, index: int) -> str:
    start = index
    while start > 0 and not buf[start - 1].isspace():
        start -= 1
    return buf[start:index]
