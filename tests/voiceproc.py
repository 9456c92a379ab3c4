"""Run `voiceos` as a subprocess and follow what it prints. A test helper, not tests.

Reader threads collect stdout and stderr lines; tests wait on patterns with timeouts.
"""

from __future__ import annotations

import functools
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent


_STATE = re.compile(r"^\s*\[[a-z][a-z :-]*\]\s*$")
"""A state line on stderr: "  [listening]", "  [waiting: you seem mid-thought]"."""


class VoiceosProcess:
    """`python -m voiceos ARGS` with pipes; stdin stays open until close()."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.args = args
        self.env = env
        self.out: list[str] = []
        self.err: list[str] = []
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> VoiceosProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "voiceos", *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            cwd=REPO,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        for pipe, sink in ((self._proc.stdout, self.out), (self._proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(pipe, sink), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pump(self, pipe: IO[bytes], sink: list[str]) -> None:
        for raw in iter(pipe.readline, b""):
            with self._cond:
                sink.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_for(
        self, pattern: str, *, stream: str = "out", after: int = 0, timeout_s: float = 30.0
    ) -> tuple[int, str]:
        """Wait for a line matching `pattern` at index >= `after`; returns (index, line)."""
        lines = self.out if stream == "out" else self.err
        regex = re.compile(pattern)
        found: list[tuple[int, str]] = []

        def seen() -> bool:
            for i in range(after, len(lines)):
                if regex.search(lines[i]):
                    found.append((i, lines[i]))
                    return True
            return not self.running

        with self._cond:
            self._cond.wait_for(seen, timeout_s)
        if not found:
            raise AssertionError(
                f"no line matching {pattern!r} on std{stream} within {timeout_s} s;\n"
                f"stdout: {self.out[-15:]}\nstderr: {self.err[-15:]}"
            )
        return found[0]

    def wait_until(self, predicate: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
        """Wait until `predicate()` holds (checked as lines arrive), or fail naming `what`."""
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate() or not self.running, timeout_s)
        if not ok or not predicate():
            raise AssertionError(
                f"{what}: not within {timeout_s} s;\nstdout: {self.out[-15:]}\n"
                f"stderr: {self.err[-15:]}"
            )

    def listening(self) -> bool:
        """The last state line shown is "[listening]"."""
        states = [ln.strip() for ln in self.err if _STATE.match(ln)]
        return bool(states) and states[-1] == "[listening]"

    def settled(self, silent: Callable[[str], bool] | None = None) -> bool:
        """Every turn heard has been answered, and it is listening again. Turns for which
        `silent` is true are answered by silence (the stop skill says nothing)."""
        heard = self.heard()
        quiet = sum(1 for text in heard if silent is not None and silent(text))
        answered = len(self.replies()) >= len(heard) - quiet + 1  # the greeting first
        return answered and self.listening()

    def wait_heard(self, count: int, timeout_s: float = 60) -> None:
        """Wait until `count` turns have been heard ("you: ..." lines)."""
        self.wait_until(lambda: len(self.heard()) >= count, f"{count} turns heard", timeout_s)

    def wait_settled(self, timeout_s: float = 120) -> None:
        """Wait until every turn heard has been answered and it is listening again."""
        self.wait_until(self.settled, "all turns answered, back to listening", timeout_s)

    def send(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(line.encode() + b"\n")
        self._proc.stdin.flush()

    def interrupt(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGINT)

    def close(self, timeout_s: float = 20.0) -> int:
        """End input, let it finish, and return its exit code (killing it if it hangs).

        Voice mode does not read its input: Ctrl-C ends it, as at a terminal, where the
        first press stops a reply under way and the next ends the conversation."""
        assert self._proc is not None
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            return self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
        for _ in range(2):
            self.interrupt()
            try:
                return self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._proc.kill()
        self._proc.wait()
        raise AssertionError(f"voiceos did not exit; stderr: {self.err[-10:]}")

    def replies(self) -> list[str]:
        return [ln.split(": ", 1)[1] for ln in self.out if ln.startswith("Samantha: ")]

    def heard(self) -> list[str]:
        return [ln.split(": ", 1)[1] for ln in self.out if ln.startswith("you: ")]

    def transcript(self, width: int = 70) -> str:
        """The conversation printed so far, each line cut to `width` characters but for
        an "[interrupted]" at its end: a short account for a failure's message."""
        lines = []
        for line in self.out:
            cut = line if len(line) <= width else line[:width] + "..."
            lines.append(
                cut + (" [interrupted]" if line.endswith("[interrupted]") and cut != line else "")
            )
        return "\n".join(lines)

    def log_of(self, *loggers: str, last: int = 80) -> str:
        """The last `last` lines its log (stderr) has from these loggers, to explain a
        failure; "voiceos.interrupting" also matches its children.

        The double-talk detector's many counts and set-asides are left out: a failure's
        message is read in a CI log that keeps only its head and tail.
        """
        alternatives = "|".join(re.escape(n) for n in loggers)
        names = re.compile(rf" (?:{alternatives})[.:]")
        return "\n".join([ln for ln in self.err if names.search(ln) and _CHATTY not in ln][-last:])


BARGE_IN_LOGGERS = (
    "voiceos.interrupting",
    "voiceos.listen.bargein",
    "voiceos.listening",
    "voiceos.stt.whisper",
    "voiceos.audio.echostage",
    "voiceos.audio.delay",
)
"""Whose debug lines tell why she was held or stopped, shown when a test fails."""

_CHATTY = "double-talk detector "
"""How the lines of the double-talk detector's frequent changes of mind begin."""


def said_stop(text: str) -> bool:
    """The turn asked her to stop ("Stop.", "Stop it.", "Quiet."), which the stop skill
    answers with silence."""
    from voiceos.dialogue.skills.basics import asks_for_silence
    from voiceos.dialogue.skills.text import normalise, strip_fillers

    return asks_for_silence(strip_fillers(normalise(text), ("Samantha",)))


def synthesize_clip(text: str, voice: str = "en-us", rate_wpm: int = 150) -> npt.NDArray[np.int16]:
    """Speech for `text` from espeak-ng at 16 kHz, with half a second of silence around it."""
    from voiceos.audio.pcm import read_wav, resample

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(path), text],
            capture_output=True,
            check=True,
            timeout=30,
        )
        samples, rate = read_wav(path)
    speech = resample(samples, rate, 16000).astype(np.int16)
    pad = np.zeros(8000, dtype=np.int16)
    return np.concatenate([pad, speech, pad])


@functools.cache
def _piper() -> Any:
    from voiceos.speak.piper_synth import PiperSynth

    synth = PiperSynth()
    synth.start()
    return synth


def natural_clip(text: str) -> npt.NDArray[np.int16]:
    """Speech for `text` in Piper's bundled neural voice at 16 kHz, half a second of silence
    around it. For the user's side of end-to-end tests: Whisper tiny.en mishears espeak-ng
    ("What time is it?" came back as "What kind of it?" through the virtual mic)."""
    from voiceos.audio.pcm import resample
    from voiceos.types import VoiceSettings

    spoken = _piper().synthesize(text, VoiceSettings(engine="piper"))
    speech = resample(spoken.samples, spoken.sample_rate_hz, 16000).astype(np.int16)
    pad = np.zeros(8000, dtype=np.int16)
    return np.concatenate([pad, speech, pad])
