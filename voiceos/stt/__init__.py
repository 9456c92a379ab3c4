"""Speech to text: the Transcriber protocol, faster-whisper (default) and other engines.

Engines load their libraries in `start()`, so importing this package stays light.
"""

from voiceos.stt.base import Transcriber, TranscriberError, clean_transcript

__all__ = ["Transcriber", "TranscriberError", "clean_transcript"]
