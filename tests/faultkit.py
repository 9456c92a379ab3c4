"""Helpers for the fault, long-session and security tests. Not tests themselves.

- `run_voiceos`: one `voiceos` run as a subprocess, with its output and exit code.
- `PrivatePulse`: a PulseAudio server of the test's own (user mode, its own socket), so a
  test can stop it or pull its devices out from under a running voiceos without touching
  the shared lab that other test runs use.
- `served` / `SilentServer`: an OpenAI-compatible stub on a background thread, and a
  server that accepts connections and never answers (a language server stuck thinking).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
from llm_server import Handler, StubServer
from voiceproc import VoiceosProcess

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "sk-proj-SENTINEL-h5-9d27c4e1b08f5a63"
"""A sentinel OPENAI_API_KEY: conftest checks that no file written by the tests holds it."""
CRASH_MARKS = ("Traceback (most recent call last)", "Fatal Python error", "Segmentation fault")

SAID_TIME = r"\d:\d\d|\d o'clock|\bmidnight\b|\bnoon\b"
"""The time skill's answer in a reply: "4:05", "4 o'clock" on the hour, and "midnight" or
"noon" at 0:00 and 12:00 (`speak_time`; a CI run at midnight failed on that)."""


@dataclass(frozen=True)
class Run:
    """What one `voiceos` run printed and returned."""

    code: int
    out: str
    err: str

    def replies(self, name: str = "Samantha") -> list[str]:
        prefix = f"{name}: "
        return [ln[len(prefix) :] for ln in self.out.splitlines() if ln.startswith(prefix)]

    def notices(self) -> list[str]:
        """The one-line messages voiceos itself printed on stderr (not log records)."""
        return [
            ln[len("voiceos: ") :] for ln in self.err.splitlines() if ln.startswith("voiceos: ")
        ]


def assert_no_crash(text: str) -> None:
    for mark in CRASH_MARKS:
        assert mark not in text, text[-3000:]


def run_voiceos(
    args: list[str],
    env: dict[str, str],
    lines: list[str] | bytes = b"",
    timeout_s: float = 120,
    prefix: list[str] | None = None,
) -> Run:
    """`python -m voiceos ARGS` with `lines` on stdin; asserts it did not crash.

    `prefix` goes before the command, e.g. `file_permissions_apply()`.
    """
    data = lines if isinstance(lines, bytes) else "".join(f"{ln}\n" for ln in lines).encode()
    result = subprocess.run(
        [*(prefix or []), sys.executable, "-m", "voiceos", *args],
        input=data,
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=timeout_s,
    )
    run = Run(result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode())
    assert_no_crash(run.err)
    assert run.code >= 0, f"killed by signal {-run.code}: {run.err[-2000:]}"
    return run


def wait_exit(vo: VoiceosProcess, timeout_s: float = 30) -> int:
    """Wait for voiceos to leave on its own (its input still open) and return its code.

    If it hangs, SIGABRT makes Python's fault handler (PYTHONFAULTHANDLER=1 in its
    environment) print every thread's stack, and the failure shows it.
    """
    assert vo._proc is not None
    try:
        return vo._proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        vo._proc.send_signal(signal.SIGABRT)
        vo._proc.wait(timeout=30)
        seen = -1
        while seen != len(vo.err):  # let the reader thread drain what the dump printed
            seen = len(vo.err)
            threading.Event().wait(0.3)
        stacks = "\n".join(vo.err[-80:])
        raise AssertionError(f"voiceos did not exit within {timeout_s} s:\n{stacks}") from None


def file_permissions_apply() -> list[str]:
    """A command prefix under which file modes bind even root, as they bind a user.

    Root reads and writes anything; without the two capabilities that let it, a mode-000
    file or a mode-500 folder stops it as it would stop anyone.
    """
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        raise RuntimeError("running as root without setpriv: file modes cannot be tested")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition()` (external state with nothing to wait on) until it holds."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()  # never set: a wait that cannot be cut short
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        pause.wait(0.05)


# --- a PulseAudio server of our own ------------------------------------------------------


def pulse_available() -> bool:
    return shutil.which("pulseaudio") is not None and shutil.which("pactl") is not None


class PrivatePulse:
    """A PulseAudio server in user mode on a socket of its own, with the given devices.

    Args:
        speaker: create a null sink "spk" (the default output).
        mic: create a microphone "mic" fed by a null sink "micin" (the default input),
            kept streaming by a silent feed as the shared lab does.
    """

    def __init__(self, speaker: bool = True, mic: bool = True) -> None:
        self.speaker = speaker
        self.mic = mic
        self.dir = Path(tempfile.mkdtemp(prefix="pulse-fault-"))
        self.socket = self.dir / "native"
        self.env = {"PULSE_SERVER": f"unix:{self.socket}"}
        self._server: subprocess.Popen[bytes] | None = None
        self._feeds: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> PrivatePulse:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def pactl(self, *args: str) -> str:
        result = subprocess.run(
            ["pactl", *args], env=self._client_env(), capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def _answers(self) -> bool:
        try:
            self.pactl("info")
        except (RuntimeError, subprocess.SubprocessError):
            return False
        return True

    def start(self) -> None:
        script = [f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}"]
        if self.speaker:
            script += [
                "load-module module-null-sink sink_name=spk rate=48000 channels=2",
                "set-default-sink spk",
            ]
        if self.mic:
            script += [
                "load-module module-null-sink sink_name=micin rate=16000 channels=1",
                "load-module module-remap-source master=micin.monitor source_name=mic",
                "set-default-source mic",
            ]
        config = self.dir / "server.pa"
        config.write_text("\n".join(script) + "\n")
        home = {k: str(self.dir) for k in ("HOME", "XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}
        with open(self.dir / "server.log", "wb") as log:
            self._server = subprocess.Popen(
                [
                    "pulseaudio",
                    "-n",
                    "-F",
                    str(config),
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "--realtime=no",
                    "--high-priority=no",
                    "--no-cpu-limit",
                    "--use-pid-file=no",
                    "--log-target=stderr",
                ],
                env={**os.environ, **home, "PULSE_STATE_PATH": str(self.dir)},
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            wait_until(self._answers, 20, "the private PulseAudio server")
            if self.mic:
                self._feed_silence("micin", 16000, 1)
            if self.speaker:
                self._feed_silence("spk", 48000, 2)
        except BaseException:
            self.stop()
            raise

    def _feed_silence(self, sink: str, rate: int, channels: int) -> None:
        """An idle null sink renders in ~2 s bursts; a silent stream keeps it real-time."""
        with open("/dev/zero", "rb") as zeros:
            self._feeds.append(
                subprocess.Popen(
                    ["pacat", "--playback", "-d", sink, "--raw", "--format=s16le"]
                    + [f"--rate={rate}", f"--channels={channels}", "--latency-msec=20"],
                    stdin=zeros,
                    env=self._client_env(),
                    stderr=subprocess.DEVNULL,
                )
            )

    def unload(self, name: str) -> None:
        """Remove the device module whose arguments name `name` (e.g. "sink_name=spk")."""
        for line in self.pactl("list", "short", "modules").splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and name in fields[2]:
                self.pactl("unload-module", fields[0])
                return
        raise RuntimeError(f"no module with {name}")

    def streams(self, kind: str = "sink-inputs") -> list[str]:
        return [ln for ln in self.pactl("list", "short", kind).splitlines() if ln.strip()]

    def kill(self) -> None:
        """Stop the server abruptly, as a crash would."""
        if self._server is not None and self._server.poll() is None:
            self._server.send_signal(signal.SIGKILL)
            self._server.wait(timeout=10)

    def stop(self) -> None:
        for feed in self._feeds:
            feed.terminate()
            try:
                feed.wait(timeout=5)
            except subprocess.TimeoutExpired:
                feed.kill()
        self._feeds.clear()
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_sound(env: dict[str, str], source: str, timeout_s: float = 30) -> None:
    """Block until `source` carries a sample above a quiet threshold (something is playing)."""
    recorder = subprocess.Popen(
        ["parec", "-d", source, "--raw", "--format=s16le", "--rate=16000", "--channels=1"]
        + ["--latency-msec=20"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert recorder.stdout is not None
    heard = threading.Event()

    def read() -> None:
        assert recorder.stdout is not None
        while block := recorder.stdout.read(3200):
            if np.abs(np.frombuffer(block, np.int16).astype(np.int32)).max() > 300:
                heard.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not heard.wait(timeout_s):
            raise AssertionError(f"nothing played on {source} within {timeout_s} s")
    finally:
        recorder.terminate()
        recorder.wait(timeout=5)
        reader.join(timeout=5)


# --- language servers --------------------------------------------------------------------


@contextmanager
def served(handler: Handler) -> Iterator[StubServer]:
    """A `StubServer` running on a background thread's event loop, for subprocess tests."""
    loop = asyncio.new_event_loop()
    stub = StubServer(handler)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(stub.__aenter__(), loop).result(timeout=10)
        yield stub
    finally:
        asyncio.run_coroutine_threadsafe(stub.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers: a language server stuck thinking."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._conns: list[socket.socket] = []
        self._accepted = threading.Condition()
        self._closed = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def __enter__(self) -> SilentServer:
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._accepted:
                self._conns.append(conn)
                self._accepted.notify_all()

    def wait_for_request(self, timeout_s: float = 30) -> None:
        with self._accepted:
            if not self._accepted.wait_for(lambda: self._conns, timeout_s):
                raise AssertionError("nobody connected to the language server")

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        with self._accepted:
            for conn in self._conns:
                conn.close()
