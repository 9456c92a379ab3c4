"""Spoken arithmetic: "what is twelve times seven", "15% of 80", "square root of 81".

A small recursive-descent parser over words; nothing is ever passed to eval.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from voiceos.dialogue.skills.text import normalise, read_number, say_number

logger = logging.getLogger(__name__)

_SYMBOLS = (
    (re.compile(r"\+"), " plus "),
    (re.compile(r"[*×]"), " times "),
    (re.compile(r"[/÷]"), " divided by "),
    (re.compile(r"\^|\*\*"), " to the power of "),
    (re.compile(r"%"), " percent "),
    (re.compile(r"(?<=\d)\s*x\s*(?=\d)"), " times "),
    (re.compile(r"(?<![a-z])-(?=\s*\d)|(?<=[\d\s])-(?=\s)"), " minus "),
)
_LEAD = re.compile(
    r"^(?:so |and |hey |ok |okay )*(?:what(?:'s| is)|whats|how much is|calculate|compute|"
    r"work out|tell me|what do you get (?:if you|when you)|solve|quick maths?|math|maths)\s*"
)
_TAIL = re.compile(r"\s*(?:equals?|make|come to|give you|is)$")
# Multi-word operators first, so "divided by" wins over a bare "by".
_OPS = (
    ("to the power of", "^"),
    ("multiplied by", "*"),
    ("divided by", "/"),
    ("take away", "-"),
    ("percent of", "%"),
    ("square root of", "sqrt"),
    ("the square root of", "sqrt"),
    ("plus", "+"),
    ("add", "+"),
    ("minus", "-"),
    ("times", "*"),
    ("over", "/"),
    ("squared", "sq"),
    ("cubed", "cube"),
)
_SPOKEN = {
    "+": "plus",
    "-": "minus",
    "*": "times",
    "/": "divided by",
    "^": "to the power of",
    "%": "percent of",
    "sqrt": "the square root of",
    "sq": "squared",
    "cube": "cubed",
}


class MathError(ValueError):
    """The sum has no answer (division by zero, a number too big to say)."""


@dataclass(frozen=True)
class Answer:
    spoken: str
    """The question read back: "12 times 7"."""
    value: float


def _tokens(text: str) -> list[str | float] | None:
    words = text.split()
    out: list[str | float] = []
    i = 0
    while i < len(words):
        for phrase, op in _OPS:
            n = len(phrase.split())
            if words[i : i + n] == phrase.split():
                out.append(op)
                i += n
                break
        else:
            number = read_number(words, i)
            if number is None:
                return None  # a word that is neither a number nor an operator
            out.append(number[0])
            i = number[1]
    return out


class _Parser:
    def __init__(self, tokens: list[str | float]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | float | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | float | None:
        token = self.peek()
        self.pos += 1
        return token

    def expression(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            op, right = self.take(), self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self) -> float:
        value = self.power()
        while self.peek() in ("*", "/", "%"):
            op, right = self.take(), self.power()
            if op == "*":
                value *= right
            elif op == "%":
                value = value / 100 * right
            elif right == 0:
                raise MathError("Dividing by zero is one of the few things I really can't do.")
            else:
                value /= right
        return value

    def power(self) -> float:
        value = self.unary()
        while self.peek() in ("^", "sq", "cube"):
            op = self.take()
            exponent = 2.0 if op == "sq" else 3.0 if op == "cube" else self.unary()
            if abs(exponent) > 1000:
                raise MathError("That number is too big for me to say out loud.")
            try:
                value = math.pow(value, exponent)
            except (OverflowError, ValueError):
                raise MathError("That number is too big for me to say out loud.") from None
        return value

    def unary(self) -> float:
        token = self.take()
        if token == "-":
            return -self.unary()
        if token == "sqrt":
            inner = self.unary()
            if inner < 0:
                raise MathError("Negative numbers don't have a real square root.")
            return math.sqrt(inner)
        if isinstance(token, float):
            return token
        raise ValueError("not a sum")


def solve(text: str) -> Answer | None:
    """The answer to a spoken sum, None when `text` is not one.

    Raises:
        MathError: it is a sum, but it has no answer worth saying.
    """
    lowered = text.lower()
    for pattern, word in _SYMBOLS:
        lowered = pattern.sub(word, lowered)
    words = _TAIL.sub("", _LEAD.sub("", normalise(lowered)))
    tokens = _tokens(words)
    if not tokens or not any(isinstance(t, str) for t in tokens):
        return None
    parser = _Parser(tokens)
    try:
        value = parser.expression()
    except (ValueError, IndexError) as exc:
        if isinstance(exc, MathError):
            raise
        return None
    if parser.pos != len(tokens):
        return None
    if math.isinf(value) or math.isnan(value) or abs(value) > 1e15:
        raise MathError("That number is too big for me to say out loud.")
    spoken = " ".join(say_number(t) if isinstance(t, float) else _SPOKEN[t] for t in tokens)
    return Answer(spoken, value)
