"""The offline brain: conversation without a language model or a network."""

from voiceos.dialogue.offline.brain import OfflineBrain

__all__ = ["OfflineBrain"]
