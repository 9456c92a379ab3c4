"""Helpers for tests on the virtual audio lab (scripts/audiolab.sh). Not tests themselves.

The lab is PulseAudio in system mode with a virtual speaker sink ``vspeaker`` (voiceos
plays here; record it from ``vspeaker.monitor``) and a virtual microphone: clips played
into the sink ``vmic_in`` come out of the default source ``vmic``.

Usage::

    from lab import SpeakerRecorder, feed_mic

    with SpeakerRecorder() as rec:
        ...                        # make voiceos speak
        rec.wait_for_samples(16000)
    audio = rec.samples            # int16, 16 kHz mono
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import wave
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np
import numpy.typing as npt

PULSE_SERVER = "unix:/run/pulse/native"
SPEAKER_SINK = "vspeaker"
SPEAKER_MONITOR = "vspeaker.monitor"
MIC_FEED_SINK = "vmic_in"
MIC_SOURCE = "vmic"
RECORD_RATE_HZ = 16000
REPO = Path(__file__).resolve().parent.parent
AUDIOLAB = REPO / "scripts" / "audiolab.sh"

Int16Array = npt.NDArray[np.int16]


class LabError(RuntimeError):
    """The lab is missing or misbehaves."""


def lab_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for subprocesses that pins PulseAudio clients to the lab server."""
    env = dict(os.environ if base is None else base)
    env["PULSE_SERVER"] = PULSE_SERVER
    return env


def _pactl(*args: str, timeout_s: float = 10) -> str:
    result = subprocess.run(
        ["pactl", *args], env=lab_env(), capture_output=True, text=True, timeout=timeout_s
    )
    if result.returncode != 0:
        raise LabError(f"pactl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def lab_available() -> bool:
    """True when the lab server answers and has the virtual speaker and microphone."""
    if shutil.which("pactl") is None or not Path(PULSE_SERVER[5:]).exists():
        return False
    try:
        sinks = _pactl("list", "short", "sinks", timeout_s=5)
        sources = _pactl("list", "short", "sources", timeout_s=5)
    except (LabError, subprocess.SubprocessError, OSError):
        return False
    sink_names = {line.split("\t")[1] for line in sinks.splitlines() if "\t" in line}
    source_names = {line.split("\t")[1] for line in sources.splitlines() if "\t" in line}
    return {SPEAKER_SINK, MIC_FEED_SINK} <= sink_names and MIC_SOURCE in source_names


def write_wav(samples: npt.ArrayLike, rate: int, path: Path) -> None:
    data = np.asarray(samples)
    if data.dtype.kind == "f":
        data = np.clip(data, -1.0, 1.0) * 32767.0
    pcm = data.astype(np.int16)
    if pcm.ndim != 1:
        raise ValueError("feed_mic wants mono samples")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def feed_mic(
    clip: str | Path | npt.ArrayLike,
    rate: int = RECORD_RATE_HZ,
    wait: bool = True,
    sink: str = MIC_FEED_SINK,
) -> subprocess.Popen[bytes] | None:
    """Play a WAV file or mono samples (int16, or float in -1..1 at `rate`) into the mic.

    With wait=True it returns when the clip has been played; with wait=False it returns
    the running `paplay` (call `.wait()` or `.terminate()` on it).
    """
    handle: IO[bytes]
    if isinstance(clip, str | Path):
        handle = open(clip, "rb")  # noqa: SIM115 - handed to paplay as stdin
    else:
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - unlinked already, fd keeps it
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "clip.wav"
            write_wav(clip, rate, path)
            handle.write(path.read_bytes())
        handle.seek(0)
    with handle:
        proc = subprocess.Popen(
            ["paplay", "-d", sink],
            stdin=handle,
            env=lab_env(),
            stderr=subprocess.PIPE,
        )
    if not wait:
        return proc
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        raise LabError(f"paplay failed ({proc.returncode}): {err.decode(errors='replace')}")
    return None


def _input_of(module: str) -> str:
    """The sink input a module (a loopback) plays into. `pactl list short` leaves its
    owner out ("-"); the long listing names it."""
    for block in _pactl("list", "sink-inputs").split("Sink Input #")[1:]:
        if re.search(rf"^\s*Owner Module: {module}$", block, re.MULTILINE):
            return block.split(None, 1)[0]
    raise LabError(f"module {module} plays into no sink input")


class SpeakerRecorder:
    """Records the virtual speaker (16 kHz mono int16) while the `with` block runs.

    A reader thread collects what `parecord` delivers, so tests wait on sample counts
    through a condition rather than sleeping. After the block, `samples` holds it all.
    """

    def __init__(self, source: str = SPEAKER_MONITOR, ready_timeout_s: float = 5.0) -> None:
        self.source = source
        self.ready_timeout_s = ready_timeout_s
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._eof = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.samples: Int16Array = np.zeros(0, dtype=np.int16)

    def __enter__(self) -> SpeakerRecorder:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start recording and wait until the first audio arrives (the stream is live)."""
        self._proc = subprocess.Popen(
            [
                "parecord",
                "--raw",
                "-d",
                self.source,
                f"--rate={RECORD_RATE_HZ}",
                "--channels=1",
                "--format=s16le",
                "--latency-msec=20",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=lab_env(),
        )
        self._thread = threading.Thread(target=self._read, name="speaker-recorder", daemon=True)
        self._thread.start()
        try:
            self.wait_for_samples(1, self.ready_timeout_s)
        except LabError:
            self.stop()
            raise

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while True:
            block = os.read(fd, 4096)
            with self._cond:
                if not block:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._buf += block
                self._cond.notify_all()

    def sample_count(self) -> int:
        """Samples recorded so far: the lab's clock for latency measurements."""
        with self._cond:
            return len(self._buf) // 2

    def snapshot(self) -> Int16Array:
        """A copy of everything recorded so far."""
        with self._cond:
            data = bytes(self._buf[: len(self._buf) // 2 * 2])
        return np.frombuffer(data, dtype=np.int16).copy()

    def tail(self, count: int) -> Int16Array:
        """The last `count` samples recorded (fewer at the start)."""
        with self._cond:
            data = bytes(self._buf[-2 * count :]) if count else b""
        return np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16).copy()

    def wait_quiet(self, seconds: float = 1.0, level: int = 300, timeout_s: float = 120) -> None:
        """Wait, on the recording's clock, until it has been quiet (no sample above
        `level`) for the last `seconds`."""
        need = int(seconds * RECORD_RATE_HZ)
        for _ in range(int(timeout_s * 10)):
            tail = self.tail(need)
            if len(tail) == need and int(np.abs(tail.astype(np.int32)).max()) < level:
                return
            self.wait_for_samples(self.sample_count() + RECORD_RATE_HZ // 10)
        raise LabError(f"{self.source} never fell quiet for {seconds} s within {timeout_s} s")

    def wait_for_samples(self, count: int, timeout_s: float = 10.0) -> int:
        """Block until at least `count` samples are recorded; return the count."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self._buf) // 2 >= count or self._eof, timeout_s)
            have = len(self._buf) // 2
        if not ok or have < count:
            raise LabError(
                f"recorded {have} of {count} samples from {self.source} within {timeout_s} s"
                + (" (parecord ended)" if self._eof else "")
            )
        return have

    def wait_for_sound(
        self, start_sample: int = 0, threshold: int = 300, timeout_s: float = 10.0
    ) -> int:
        """Block until a sample after `start_sample` exceeds `threshold` in magnitude.

        Returns that sample's index (the lab's clock: 16000 samples per second).
        """
        scanned = start_sample
        found: list[int] = []

        def loud() -> bool:
            nonlocal scanned
            end = len(self._buf) // 2
            if end > scanned:
                tail = np.frombuffer(bytes(self._buf[scanned * 2 : end * 2]), np.int16)
                hits = np.flatnonzero(np.abs(tail.astype(np.int32)) > threshold)
                if hits.size:
                    found.append(scanned + int(hits[0]))
                    return True
                scanned = end
            return self._eof

        with self._cond:
            self._cond.wait_for(loud, timeout_s)
        if not found:
            raise LabError(
                f"no sound above {threshold} on {self.source} within {timeout_s} s "
                f"(from sample {start_sample})"
            )
        return found[0]

    def stop(self) -> Int16Array:
        """Stop recording (SIGINT, as parecord expects) and return all samples."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
            if self._thread is not None:
                self._thread.join(timeout=5)
            for pipe in (self._proc.stdout, self._proc.stderr):
                if pipe is not None:
                    pipe.close()
            self._proc = None
        self.samples = self.snapshot()
        return self.samples


PRIVATE_TAG = "_t"
"""Private device names end in _t<pid> of the test process that made them."""


def _unload_orphans() -> None:
    """Remove private devices left behind by test processes that died."""
    pattern = re.compile(r"(?:sink|source)_name=\w+" + PRIVATE_TAG + r"(\d+)\b")
    for line in _pactl("list", "short", "modules").splitlines():
        fields = line.split("\t")
        found = pattern.search(fields[2]) if len(fields) >= 3 else None
        if found is None:
            continue
        pid = int(found.group(1))
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            try:
                _pactl("unload-module", fields[0])
            except LabError as exc:  # another test process removed it first
                if "No such entity" not in str(exc):
                    raise


class PrivateLab:
    """A virtual speaker and microphone of this test process's own.

    Several people's test runs share the lab, and anything they play or feed lands on
    the shared devices. Put `env` (PULSE_SINK, PULSE_SOURCE) into the environment before
    a PortAudio stream opens, here or in a subprocess, and its default output and input
    are these devices: record the speaker with `recorder()`, feed the mic with
    `feed_mic()`.
    """

    def __init__(self) -> None:
        tag = f"{PRIVATE_TAG}{os.getpid()}"
        self.speaker = f"{SPEAKER_SINK}{tag}"
        self.mic_feed = f"{MIC_FEED_SINK}{tag}"
        self.mic = f"{MIC_SOURCE}{tag}"
        self.env = {
            "PULSE_SERVER": PULSE_SERVER,
            "PULSE_SINK": self.speaker,
            "PULSE_SOURCE": self.mic,
        }
        self._modules: list[str] = []
        self._echo_paths: list[str] = []
        self._keepalives: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> PrivateLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Create the devices with silent keep-alive streams; return once both deliver."""
        _unload_orphans()
        try:
            self._load("module-null-sink", f"sink_name={self.speaker}", "rate=48000", "channels=2")
            self._load("module-null-sink", f"sink_name={self.mic_feed}", "rate=16000", "channels=1")
            self._load(
                "module-remap-source", f"master={self.mic_feed}.monitor", f"source_name={self.mic}"
            )
            # An idle null sink renders in ~2 s blocks; a silent stream keeps it real-time.
            self._keep_alive(self.speaker, 48000, 2)
            self._keep_alive(self.mic_feed, 16000, 1)
            for source in (f"{self.speaker}.monitor", self.mic):
                with SpeakerRecorder(source, ready_timeout_s=10.0):
                    pass
        except (LabError, OSError, subprocess.SubprocessError):
            self.stop()
            raise

    def _load(self, *args: str) -> None:
        self._modules.append(_pactl("load-module", *args).strip())

    def _keep_alive(self, sink: str, rate: int, channels: int) -> None:
        with open("/dev/zero", "rb") as zeros:
            self._keepalives.append(
                subprocess.Popen(
                    [
                        "pacat",
                        "--playback",
                        "-d",
                        sink,
                        "--raw",
                        "--format=s16le",
                        f"--rate={rate}",
                        f"--channels={channels}",
                        "--latency-msec=20",
                    ],
                    stdin=zeros,
                    env=lab_env(),
                )
            )

    def echo_path(self, latency_ms: int = 30, gain_db: float = 0.0) -> str:
        """Loop this speaker back into this microphone, like a laptop's speakers and mic,
        `gain_db` louder (negative: quieter) than her voice.

        Several calls add several paths (a direct one and a later, weaker reflection).
        Returns the module id; `remove_echo_path(id)` or `remove_echo_paths()` removes
        it (the `private_lab` fixture does after each test), else `stop()`.
        """
        module = _pactl(
            "load-module",
            "module-loopback",
            f"source={self.speaker}.monitor",
            f"sink={self.mic_feed}",
            f"latency_msec={latency_ms}",
            "source_dont_move=true",
            "sink_dont_move=true",
        ).strip()
        self._echo_paths.append(module)
        if gain_db:
            # In dB: pactl's percentages are on a cubic scale (50% is -18 dB).
            _pactl("set-sink-input-volume", _input_of(module), f"{gain_db:.1f}dB")
        return module

    def remove_echo_path(self, module: str) -> None:
        _pactl("unload-module", module)
        self._echo_paths.remove(module)

    def remove_echo_paths(self) -> None:
        """Remove every echo path still loaded."""
        for module in reversed(self._echo_paths):
            self.remove_echo_path(module)

    def recorder(self) -> SpeakerRecorder:
        """Records this process's speaker (16 kHz mono)."""
        return SpeakerRecorder(f"{self.speaker}.monitor")

    def mic_recorder(self) -> SpeakerRecorder:
        """Records this process's microphone, as a program listening to it would hear."""
        return SpeakerRecorder(self.mic)

    def feed_mic(
        self, clip: str | Path | npt.ArrayLike, rate: int = RECORD_RATE_HZ, wait: bool = True
    ) -> subprocess.Popen[bytes] | None:
        """Play a clip into this process's microphone (see `feed_mic`)."""
        return feed_mic(clip, rate, wait, sink=self.mic_feed)

    def stop(self) -> None:
        for proc in self._keepalives:
            proc.terminate()
            proc.wait(timeout=5)
        self._keepalives.clear()
        self.remove_echo_paths()
        for module in reversed(self._modules):
            _pactl("unload-module", module)
        self._modules.clear()


def lab_status() -> str:
    """The lab script's one-line status, for error messages."""
    try:
        result = subprocess.run(
            [str(AUDIOLAB), "status"], capture_output=True, text=True, timeout=20
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return f"cannot run {AUDIOLAB}: {exc}"
    return (result.stdout + result.stderr).strip()
