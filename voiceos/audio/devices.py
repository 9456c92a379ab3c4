"""Audio devices as PortAudio sees them, and choosing one by index or name.

sounddevice is imported lazily here, so text mode never loads PortAudio.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

logger = logging.getLogger(__name__)

Kind = Literal["input", "output"]

NO_DEVICES_HINT = "no audio devices found: is PulseAudio/PipeWire running?"


class AudioDeviceError(Exception):
    """A microphone or speaker that is missing, unusable or gone. The message is one line."""


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_rate_hz: int
    """The device's preferred sample rate."""
    is_default_input: bool = False
    is_default_output: bool = False

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels


def sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing PortAudio library into AudioDeviceError."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the wheel does not bundle libportaudio on Linux
        raise AudioDeviceError(
            f"PortAudio is not available ({exc}); install it, e.g. `apt install libportaudio2`"
        ) from None
    except ImportError as exc:
        raise AudioDeviceError(f"sounddevice is not installed ({exc})") from None
    return sd


def list_devices() -> list[DeviceInfo]:
    """All devices PortAudio knows; empty when there is no sound server or card."""
    sd = sounddevice()
    try:
        raw = list(sd.query_devices())
        default_in, default_out = (int(i) for i in sd.default.device)
    except sd.PortAudioError as exc:
        # "Error querying device -1" is what PortAudio says when nothing is there.
        logger.debug("query_devices failed: %s", exc)
        return []
    devices = []
    for entry in raw:
        index = int(entry["index"])
        devices.append(
            DeviceInfo(
                index=index,
                name=str(entry["name"]),
                max_input_channels=int(entry["max_input_channels"]),
                max_output_channels=int(entry["max_output_channels"]),
                default_rate_hz=int(entry["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return devices


def _describe(devices: list[DeviceInfo]) -> str:
    return ", ".join(f"{d.index}: {d.name}" for d in devices) or "none"


def resolve_device(spec: str, kind: Kind) -> int | None:
    """Turn a device setting into a PortAudio index.

    Args:
        spec: "" for the system default, an index such as "3", or part of a device name
            (case-insensitive).
        kind: "input" for a microphone, "output" for a speaker.

    Returns:
        The index, or None for the system default.

    Raises:
        AudioDeviceError: no device of that kind exists, or none matches `spec`.
    """
    candidates = [d for d in list_devices() if d.channels(kind) > 0]
    noun = "microphone" if kind == "input" else "speaker"
    if not candidates:
        raise AudioDeviceError(f"no {noun} found ({NO_DEVICES_HINT})")
    text = spec.strip()
    if not text:
        defaults = [
            d for d in candidates if (d.is_default_input, d.is_default_output)[kind != "input"]
        ]
        if defaults:
            return None
        logger.info(
            "no default %s device; using %d: %s", kind, candidates[0].index, candidates[0].name
        )
        return candidates[0].index
    if text.lstrip("-").isdigit():
        index = int(text)
        if any(d.index == index for d in candidates):
            return index
        raise AudioDeviceError(
            f"no {noun} with index {index}; {kind} devices are {_describe(candidates)}"
        )
    matches = [d for d in candidates if text.lower() in d.name.lower()]
    exact = [d for d in matches if d.name.lower() == text.lower()]
    if exact:
        return exact[0].index
    if len(matches) == 1:
        return matches[0].index
    if matches:
        raise AudioDeviceError(
            f"{noun} {text!r} is ambiguous: it matches {_describe(matches)}; use an index"
        )
    raise AudioDeviceError(
        f"no {noun} matching {text!r}; {kind} devices are {_describe(candidates)}"
    )
