"""Devices and engines failing under the whole program: no sound server, the microphone or
speaker vanishing mid-session, espeak-ng missing. voiceos runs as a subprocess each time.

Devices vanish on a PulseAudio server of the test's own (faultkit.PrivatePulse), which can
be stopped or stripped without disturbing the shared lab.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import (
    REPO,
    SAID_TIME,
    PrivatePulse,
    assert_no_crash,
    pulse_available,
    run_voiceos,
    served,
    wait_for_sound,
)
from lab import PrivateLab
from llm_server import Request, Response, error_json
from voiceproc import VoiceosProcess, synthesize_clip

NOWHERE = "unix:/nonexistent/pulse/native"
TIME_ANSWER = rf"^Samantha: .*({SAID_TIME})"


@pytest.fixture
def no_audio(isolated_env: dict[str, str]) -> dict[str, str]:
    """Isolated settings and no sound server at all."""
    return {**isolated_env, "PULSE_SERVER": NOWHERE}


@pytest.fixture
def pulse_speaker_only() -> Iterator[PrivatePulse]:
    yield from _private_pulse(mic=False)


@pytest.fixture
def pulse_with_mic() -> Iterator[PrivatePulse]:
    yield from _private_pulse(mic=True)


def _private_pulse(mic: bool) -> Iterator[PrivatePulse]:
    if not pulse_available():
        if os.environ.get("LAB_REQUIRED") == "1":
            pytest.fail("pulseaudio is not installed", pytrace=False)
        pytest.skip("pulseaudio is not installed")
    with PrivatePulse(speaker=True, mic=mic) as server:
        yield server


def test_no_sound_server_falls_back_to_text_with_clear_lines(no_audio: dict[str, str]) -> None:
    chat = run_voiceos([], no_audio, ["what time is it"])
    assert chat.code == 0
    notices = "\n".join(chat.notices())
    assert re.search(r"no microphone found.*switching to text mode", notices), notices
    assert "Replies are printed only; there is no speaker" in notices
    assert len(chat.replies()) == 2 and re.search(SAID_TIME, chat.replies()[1]), chat.out

    say = run_voiceos(["say", "hello"], no_audio)
    assert say.code == 1
    assert "hello" in say.out
    assert say.notices() == [
        "this cannot be heard: no speaker found (no audio devices found: "
        "is PulseAudio/PipeWire running?)"
    ]
    devices = run_voiceos(["devices"], no_audio)
    assert devices.code == 0 and "no audio devices found" in devices.out


@pytest.mark.audio
def test_sound_server_dying_mid_session_continues_in_text(
    pulse_with_mic: PrivatePulse, isolated_env: dict[str, str]
) -> None:
    env = {**isolated_env, **pulse_with_mic.env}
    with VoiceosProcess([], env) as vo:
        vo.wait_for(r"\[listening\]", stream="err", timeout_s=90)
        pulse_with_mic.kill()
        vo.wait_for(r"microphone disconnected.*continuing in text mode", stream="err")
        before = len(vo.out)
        vo.send("what time is it")
        vo.wait_for(TIME_ANSWER, after=before)
        assert vo.close() == 0
    err = "\n".join(vo.err)
    assert_no_crash(err)
    assert err.count("replies are printed only from now on") <= 1


@pytest.mark.audio
def test_speaker_vanishing_mid_reply_prints_it_says_so_once_and_goes_on(
    pulse_speaker_only: PrivatePulse, isolated_env: dict[str, str]
) -> None:
    env = {**isolated_env, **pulse_speaker_only.env}
    with VoiceosProcess(["--text"], env) as vo:
        vo.wait_for("^Samantha: ", timeout_s=60)
        vo.send("what can you do?")  # a reply of about 15 s
        wait_for_sound(env, "spk.monitor")
        # The only sink goes: PulseAudio has nowhere to move the stream, so it ends.
        pulse_speaker_only.unload("sink_name=spk")
        index, reply = vo.wait_for("^Samantha: ", after=1, timeout_s=30)
        assert "goodbye when you're done" in reply  # printed whole, not cut at the failure
        vo.send("what time is it")
        vo.wait_for(TIME_ANSWER, after=index + 1)
        vo.send("and the date?")
        vo.wait_for("^Samantha: ", after=index + 2)
        assert vo.close() == 0
    notices = [ln for ln in vo.err if ln.startswith("voiceos: ")]
    assert sum("replies are printed only from now on" in n for n in notices) == 1, vo.err
    assert sum("went away" in ln for ln in vo.err) == 1, vo.err  # said once, not logged too
    assert_no_crash("\n".join(vo.err))


def test_espeak_data_missing_means_printed_replies_and_one_line(
    no_audio: dict[str, str], tmp_path: Path
) -> None:
    """espeak-ng's data folder is empty. espeak-ng's own initialisation would end the
    process (exit 1) before any reply; voiceos must say so and carry on in text."""
    empty = tmp_path / "espeak-ng-data"
    empty.mkdir()
    env = {**no_audio, "ESPEAK_DATA_PATH": str(empty)}
    chat = run_voiceos(["--text"], env, ["hello", "use a british voice", "what time is it"])
    assert chat.code == 0
    assert len(chat.replies()) == 4, chat.out + chat.err
    notices = "\n".join(chat.notices())
    assert "speech is unavailable: espeak-ng's data files are missing or damaged" in notices
    for command in (["say", "hello"], ["voices"]):
        result = run_voiceos(command, env)
        assert result.code == 1
        assert any("espeak-ng's data files" in n for n in result.notices()), result.err


def _can_hide_files() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=10
    )
    return probe.returncode == 0


def _libespeak() -> Path | None:
    """The file of the libespeak-ng that pyttsx3 really loads."""
    from pyttsx3.drivers import _espeak  # noqa: F401 - loads the library into this process

    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1]
        if "libespeak-ng" in path:
            return Path(path).resolve()
    return None


@pytest.mark.skipif(not _can_hide_files(), reason="needs root and mount namespaces (unshare -m)")
def test_espeak_library_missing_means_printed_replies_and_one_line(
    no_audio: dict[str, str],
) -> None:
    """libespeak-ng is hidden (bind-mounted over with an empty file) in a private mount
    namespace: to voiceos it is not installed, and nothing outside the test changes."""
    library = _libespeak()
    assert library is not None, "cannot find libespeak-ng"
    hide = f'mount --bind /dev/null {library} && exec "$@"'
    for args, lines, code in (
        (["--text"], ["hello", "use a british voice"], 0),
        (["say", "hello"], [], 1),
        (["voices"], [], 1),
    ):
        command = ["unshare", "-m", "--propagation", "private", "sh", "-c", hide, "sh"]
        data = "".join(f"{ln}\n" for ln in lines).encode()
        result = subprocess.run(
            [*command, sys.executable, "-m", "voiceos", *args],
            input=data,
            env=no_audio,
            cwd=REPO,
            capture_output=True,
            timeout=120,
        )
        err = result.stderr.decode()
        assert_no_crash(err)
        assert result.returncode == code, err
        assert "espeak-ng is not installed" in err
        if args == ["--text"]:
            assert result.stdout.decode().count("Samantha: ") == 3


@pytest.mark.audio
def test_speech_recognition_failing_mid_session_continues_in_text(
    private_lab: PrivateLab, isolated_env: dict[str, str]
) -> None:
    """An online speech engine that refuses the key: known only once someone speaks."""

    def refuse(request: Request) -> Response:
        return Response(401, [error_json("Incorrect API key provided", code="invalid_api_key")])

    with served(refuse) as server:
        env = {
            **isolated_env,
            **private_lab.env,
            "OPENAI_API_KEY": "sk-test-wrong-key-000000000000",
            "VOICEOS_STT_ENGINE": "openai",
            "VOICEOS_STT_OPENAI_BASE_URL": server.base_url,
        }
        with VoiceosProcess(["--mute"], env) as vo:
            vo.wait_for(r"\[listening\]", stream="err", timeout_s=90)
            private_lab.feed_mic(synthesize_clip("What time is it?"))
            vo.wait_for(r"API key was refused.*continuing in text mode", stream="err")
            before = len(vo.out)
            vo.send("what time is it")
            vo.wait_for(TIME_ANSWER, after=before)
            assert vo.close() == 0
    assert_no_crash("\n".join(vo.err))
