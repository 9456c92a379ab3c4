"""Command line: argument parsing, logging set-up and dispatch. The only place that prints."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

from voiceos import __version__
from voiceos.commands import Context
from voiceos.config import ConfigError

logger = logging.getLogger(__name__)

# Subcommand modules under voiceos.commands; each has register(subparsers).
COMMANDS = ("chat", "config_cmd", "voices", "say", "memory_cmd", "devices", "doctor")


def _add_conversation_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", action="store_true", help="type instead of talking")
    parser.add_argument("--mute", action="store_true", default=None, help="print replies only")
    parser.add_argument("--engine", choices=("pyttsx3", "piper"), help="speech engine for this run")
    parser.add_argument("--voice", help="espeak-ng voice id for this run")
    parser.add_argument("--rate", type=int, help="speaking rate in words per minute")
    parser.add_argument("--volume", type=float, help="loudness, 0.0-1.0")
    parser.add_argument("--persona", help="persona name or path to a persona .toml")
    parser.add_argument("--input-device", help="microphone index or name")
    parser.add_argument("--output-device", help="speaker index or name")
    parser.add_argument(
        "--barge-in", action="store_true", default=None, help="let speech interrupt replies"
    )
    parser.add_argument("--offline", action="store_true", help="never use an LLM server")
    parser.add_argument("--input-wav", type=Path, help="run the pipeline over a recording")
    parser.add_argument("--output-wav", type=Path, help="write what voiceos said to a WAV")


def flags_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line flags as config keys (highest precedence)."""
    mapping = {
        "voice": "voice.voice",
        "engine": "voice.engine",
        "rate": "voice.rate_wpm",
        "volume": "voice.volume",
        "persona": "persona.name",
        "input_device": "audio.input_device",
        "output_device": "audio.output_device",
        "mute": "conversation.mute",
        "barge_in": "conversation.barge_in",
    }
    flags = {
        key: getattr(args, attr)
        for attr, key in mapping.items()
        if getattr(args, attr, None) is not None
    }
    if getattr(args, "offline", False):
        flags["llm.backend"] = "offline"
    if getattr(args, "debug", False):
        flags["ui.timings"] = True
    return flags


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceos",
        description="A voice companion that listens, remembers and talks back.",
    )
    parser.add_argument("--version", action="version", version=f"voiceos {__version__}")
    parser.add_argument("--config", type=Path, help="settings file to use instead of your own")
    parser.add_argument("--debug", action="store_true", help="verbose logs and timing lines")
    _add_conversation_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"voiceos.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"voiceos.commands.{name}":
                raise
            continue  # a command still being built
        module.register(sub)
    return parser


def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.debug)
    ctx = Context(args=args, flags=flags_from_args(args))
    runner = getattr(args, "run", None)
    if runner is None:
        from voiceos.commands import chat

        runner = chat.run
    try:
        code = int(runner(ctx))
        sys.stdout.flush()  # here, so a reader that left early is handled below
        return code
    except ConfigError as exc:
        ctx.warn(str(exc))
        return 2
    except KeyboardInterrupt:
        ctx.say()
        return 130
    except BrokenPipeError:
        # The reader (`| head`) left: nothing more can be shown, which is not an error.
        _detach_stdout()
        return 0


def _detach_stdout() -> None:
    """Point stdout at /dev/null so the flush at exit cannot fail on the broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor: nothing to flush
        pass
