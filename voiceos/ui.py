"""The terminal display: the conversation on stdout, state and notices on stderr."""

from __future__ import annotations

import logging
from typing import TextIO

from voiceos.types import Timings, TurnState

logger = logging.getLogger(__name__)


class TerminalDisplay:
    """Prints the conversation as it streams. Part of the command-line edge."""

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        persona_name: str,
        *,
        show_state: bool = False,
        show_timings: bool = False,
    ) -> None:
        self._out = out
        self._err = err
        self._name = persona_name
        self._show_state = show_state
        self._show_timings = show_timings
        self._mid_reply = False
        self._last_state: TurnState | None = None

    def state(self, state: TurnState) -> None:
        if self._show_state and state is not self._last_state and not self._mid_reply:
            print(f"  [{state.value}]", file=self._err, flush=True)
        self._last_state = state

    def heard(self, text: str) -> None:
        print(f"you: {text}", file=self._out, flush=True)

    def reply_delta(self, text: str) -> None:
        if not self._mid_reply:
            print(f"{self._name}: ", end="", file=self._out)
            self._mid_reply = True
        print(text, end="", file=self._out, flush=True)

    def reply_done(self, interrupted: bool) -> None:
        if self._mid_reply:
            print(" [interrupted]" if interrupted else "", file=self._out, flush=True)
        self._mid_reply = False

    def notice(self, line: str) -> None:
        print(f"voiceos: {line}", file=self._err, flush=True)

    def prompt(self) -> None:
        print("you> ", end="", file=self._out, flush=True)

    def timings(self, timings: Timings) -> None:
        if not self._show_timings:
            return
        stages = (
            ("transcript", timings.transcript_s),
            ("first text", timings.first_text_s),
            ("first sentence", timings.first_sentence_s),
            ("first audio", timings.first_audio_s),
        )
        parts = []
        for label, t in stages:
            ms = timings.since_end(t)
            if ms is not None:
                parts.append(f"{label} {ms:.0f} ms")
        for label, value in timings.extras.items():
            parts.append(f"{label} {value:.2f}" if value < 1 else f"{label} {value:.0f}")
        if parts:
            print("  timing: end of turn → " + ", ".join(parts), file=self._err, flush=True)
