"""Typed input at its worst, through the CLI (test_text_cli.py covers the everyday oddities:
escapes, broken UTF-8, right-to-left text, a 100,000-character line)."""

from __future__ import annotations

import re

from faultkit import SAID_TIME, run_voiceos

TIME = re.compile(SAID_TIME)


def test_lines_past_the_read_limit_windows_endings_and_no_final_newline(
    isolated_env: dict[str, str],
) -> None:
    env = {**isolated_env, "PULSE_SERVER": "unix:/nonexistent/pulse/native"}
    data = b"".join(
        [
            b"what time is it\r\n",  # Windows line ending
            b"la " * 1_500_000 + b"\n",  # 4.5 MB: more than one read of the line reader
            b"\x00" * 70_000 + b"what time is it\x00\n",  # NULs around words
            "\u202ewhat time is it\u202c\n".encode(),  # right-to-left override, invisible
            b"\x1b]0;pwned\x07\x1b[2J\x1b[31mwhat time is it\n",  # title, clear, colour
            b"what time is it",  # the last line has no newline
        ]
    )
    run = run_voiceos(["--text", "--mute"], env, data)
    assert run.code == 0, run.err
    replies = run.replies()
    assert len(replies) == 1 + 6, run.out
    for index in (1, 3, 4, 5, 6):
        assert TIME.search(replies[index]), replies[index]
    assert run.notices().count("that line was very long; I read the first part.") == 1
    assert "\x1b" not in run.out and "\u202e" not in run.out and "\x00" not in run.out
    assert len(run.out) < 20_000  # the long line was not echoed back
