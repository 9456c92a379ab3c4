"""Builds the listening side from the [listen] settings: Silero, the endpointer, turn taking."""

from __future__ import annotations

import logging
from typing import NamedTuple

from voiceos.config import Config
from voiceos.listen.endpointer import Endpointer
from voiceos.listen.turns import EndMode, TurnDetector, endpointer_timing

logger = logging.getLogger(__name__)


def build_endpointer(config: Config, mode: EndMode = EndMode.SILENCE) -> Endpointer:
    """Silero behind the pure endpointer, with the [listen] settings for `mode`."""
    from voiceos.listen.vad import SileroVad

    listen = config.section("listen")
    end_silence_ms, pause_fraction = endpointer_timing(
        mode,
        listen["end_silence_ms"],
        listen["pause_fraction"],
        listen["complete_silence_ms"],
        listen["max_silence_ms"],
    )
    vad = SileroVad(listen["vad_threshold"])
    vad.start()
    return Endpointer(
        vad,
        sample_rate_hz=16000,
        threshold=listen["vad_threshold"],
        end_silence_ms=end_silence_ms,
        min_speech_ms=listen["min_speech_ms"],
        max_utterance_s=listen["max_utterance_s"],
        pre_roll_ms=listen["pre_roll_ms"],
        pause_fraction=pause_fraction,
    )


class Turns(NamedTuple):
    detector: TurnDetector
    notice: str
    """One line: which end-of-turn mode is active, and why."""
    fell_back: bool = False
    """Smart mode was asked for but its model could not be loaded."""


def build_turns(config: Config) -> Turns:
    """The turn detector for `[listen] end_of_turn`, and one line saying which mode and why.

    Smart mode falls back to silence when its model cannot be loaded; the line says so.
    """
    from voiceos.listen.smart_turn import SmartTurn, SmartTurnError

    listen = config.section("listen")
    silence = f"turns end after {listen['end_silence_ms']} ms of silence"
    if listen["end_of_turn"] == "silence":
        return Turns(TurnDetector(build_endpointer(config)), f'{silence} (end_of_turn = "silence")')
    model = SmartTurn()
    try:
        model.start()
    except SmartTurnError as exc:
        logger.info("smart end of turn unavailable: %s", exc)
        return Turns(TurnDetector(build_endpointer(config)), f"{exc} — {silence} instead", True)
    detector = TurnDetector(
        build_endpointer(config, EndMode.SMART), model, listen["finished_threshold"]
    )
    line = (
        f"smart end of turn (Smart Turn v3.2 and your last words): a finished sentence is "
        f"answered from {listen['complete_silence_ms']} ms of silence, an unfinished one "
        f"waits up to {listen['max_silence_ms'] / 1000:g} s"
    )
    return Turns(detector, line)
