"""voiceos: an offline-first voice companion."""

__version__ = "0.1.0"
