"""Hearing when someone speaks: Silero voice activity and the pure Endpointer."""

from voiceos.listen.endpointer import (
    Endpointer,
    EndReason,
    Event,
    SpeechDiscarded,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    State,
)
from voiceos.listen.vad import SileroVad, SpeechProbability, VadError

__all__ = [
    "EndReason",
    "Endpointer",
    "Event",
    "SileroVad",
    "SpeechDiscarded",
    "SpeechEnded",
    "SpeechPaused",
    "SpeechProbability",
    "SpeechResumed",
    "SpeechStarted",
    "State",
    "VadError",
]
