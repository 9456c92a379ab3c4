"""Audio in: PCM formats, devices, the microphone and WAV files as sources of chunks.

sounddevice (PortAudio) is only imported when a device is listed or opened.
"""

from collections.abc import AsyncIterator
from typing import Protocol

from voiceos.audio.devices import AudioDeviceError, DeviceInfo
from voiceos.audio.pcm import AudioFormatError
from voiceos.types import AudioChunk

__all__ = ["AudioChunk", "AudioDeviceError", "AudioFormatError", "AudioSource", "DeviceInfo"]


class AudioSource(Protocol):
    """Anything that yields 16 kHz mono chunks: the microphone or a WAV file."""

    def chunks(self) -> AsyncIterator[AudioChunk]: ...
