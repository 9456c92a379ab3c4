"""`voiceos` (the default command): picks voice, text or file mode. Imports stay light."""

from __future__ import annotations

import argparse
import logging

from voiceos.commands import Context

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("chat", help="start a conversation (the default)")
    parser.set_defaults(run=run)


def run(ctx: Context) -> int:
    config = ctx.config  # raises ConfigError before anything starts
    args = ctx.args
    if args.input_wav is not None:
        from voiceos.commands import filemode

        return filemode.run(ctx)
    text_mode = bool(args.text)
    reason = None
    if not text_mode:
        from voiceos.commands import voicemode

        reason = voicemode.microphone_problem(config)
        if reason is None:
            return voicemode.run(ctx)
        text_mode = True
    if reason:
        ctx.warn(f"{reason} — switching to text mode. Type to talk; Ctrl-D to leave.")
    from voiceos.commands import textmode

    return textmode.run(ctx)
