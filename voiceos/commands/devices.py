"""`voiceos devices`: the microphones and speakers PortAudio sees, with their indexes."""

from __future__ import annotations

import argparse
import logging

from voiceos.audio.devices import (
    NO_DEVICES_HINT,
    AudioDeviceError,
    DeviceInfo,
    Kind,
    list_devices,
    resolve_device,
)
from voiceos.commands import Context

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "devices",
        help="list microphones and speakers",
        description="List audio input and output devices. Use an index or part of a name "
        "in [audio] input_device / output_device, or --input-device / --output-device.",
    )
    parser.set_defaults(run=run)


def _configured(ctx: Context, kind: Kind) -> tuple[int | None, str]:
    """The index the settings choose (None = system default) and the raw setting."""
    spec = str(ctx.config[f"audio.{kind}_device"])
    try:
        return resolve_device(spec, kind), spec
    except AudioDeviceError as exc:
        ctx.warn(f"audio.{kind}_device = {spec!r}: {exc}")
        return -1, spec


def _section(ctx: Context, devices: list[DeviceInfo], kind: Kind) -> None:
    title = "Input devices (microphones)" if kind == "input" else "Output devices (speakers)"
    chosen, spec = _configured(ctx, kind)
    usable = [d for d in devices if d.channels(kind) > 0]
    ctx.say(f"{title}:")
    if not usable:
        ctx.say("  none")
        return
    for device in usable:
        is_default = device.is_default_input if kind == "input" else device.is_default_output
        marks = []
        if is_default:
            marks.append("default")
        if (chosen is None and is_default) or (chosen == device.index and spec):
            marks.append("configured" if spec else "in use")
        note = f"  [{', '.join(marks)}]" if marks else ""
        ctx.say(
            f"  {device.index:>3}  {device.name}  "
            f"({device.channels(kind)} ch, {device.default_rate_hz} Hz){note}"
        )


def run(ctx: Context) -> int:
    try:
        devices = list_devices()
    except AudioDeviceError as exc:
        ctx.warn(str(exc))
        return 1
    if not devices:
        ctx.say(NO_DEVICES_HINT)
        return 0
    _section(ctx, devices, "input")
    ctx.say()
    _section(ctx, devices, "output")
    return 0
