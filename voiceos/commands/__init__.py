"""The `voiceos` subcommands. Each module has `register(subparsers)` and a `run(args, ctx)`.

These modules are part of the command line, so they may print; nothing below them does.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from voiceos import config as config_mod

logger = logging.getLogger(__name__)


@dataclass
class Context:
    """What every command gets: parsed settings and where to print."""

    args: argparse.Namespace
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    flags: dict[str, Any] = field(default_factory=dict)
    _config: config_mod.Config | None = None

    @property
    def config(self) -> config_mod.Config:
        """Settings merged from every layer; raises ConfigError with a clear line."""
        if self._config is None:
            user_file = getattr(self.args, "config", None)
            self._config = config_mod.load(user_file=user_file, flags=self.flags)
        return self._config

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def warn(self, line: str) -> None:
        print(f"voiceos: {line}", file=self.err, flush=True)


Runner = Callable[[Context], int]
