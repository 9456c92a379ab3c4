"""Listing commands piped into a reader that leaves early (`voiceos voices | head`).

They must end quietly with status 0: no "Exception ignored ... BrokenPipeError", no 120.
The pipes are real OS pipes, shrunk to one page so the writer really hits the closed end.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

F_SETPIPE_SZ = 1031
LISTINGS = [
    ["voices"],
    ["voices", "--lang", "en"],
    ["devices"],
    ["config", "show"],
    ["memory", "show"],
    ["--help"],
]


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))
    env.pop("PYTHONWARNINGS", None)
    return env


def small_pipe() -> tuple[int, int]:
    read, write = os.pipe()
    fcntl.fcntl(write, F_SETPIPE_SZ, 4096)
    return read, write


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_reader_gone_before_the_first_line(home: dict[str, str], args: list[str]) -> None:
    read, write = small_pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "voiceos", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            env=home,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert result.returncode == 0, result.stderr
    assert "BrokenPipe" not in result.stderr and "Exception ignored" not in result.stderr


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_reader_leaves_after_one_line(home: dict[str, str], args: list[str]) -> None:
    read, write = small_pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceos", *args],
        stdout=write,
        stderr=subprocess.PIPE,
        env=home,
        text=True,
    )
    os.close(write)
    with os.fdopen(read, "rb") as reader:
        first = reader.readline()  # what `head -1` does, then it exits
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert first.strip(), "the command printed nothing"
    assert process.returncode == 0, err
    assert "BrokenPipe" not in err and "Exception ignored" not in err


STDOUT_LIKE_PYTHON_313 = '''
import io, os, sys

class KeepsPending(io.TextIOBase):
    """stdout as on Python 3.13: a flush that fails on a closed pipe keeps its data, so
    the flush at exit fails again ("Exception ignored on flushing sys.stdout", status 120)."""

    def __init__(self):
        self.pending = b""

    def writable(self):
        return True

    def fileno(self):
        return 1

    def write(self, text):
        self.pending += text.encode()
        return len(text)

    def flush(self):
        if self.pending:
            os.write(1, self.pending)
            self.pending = b""

sys.stdout = KeepsPending()
from voiceos.cli import main
raise SystemExit(main())
'''


@pytest.mark.parametrize("args", LISTINGS[:4], ids=" ".join)
def test_exit_flush_after_a_broken_pipe_is_quiet(home: dict[str, str], args: list[str]) -> None:
    read, write = small_pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-c", STDOUT_LIKE_PYTHON_313, *args],
            stdout=write,
            stderr=subprocess.PIPE,
            env=home,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert result.returncode == 0, result.stderr
    assert "BrokenPipe" not in result.stderr and "Exception ignored" not in result.stderr
