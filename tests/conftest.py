"""Shared fixtures. Test helpers for the audio lab live in tests/lab.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab import PrivateLab, lab_available, lab_env, lab_status


@pytest.fixture
def audio_lab(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The virtual audio lab. Skips when it is not running, unless LAB_REQUIRED=1 (then fails).

    Returns an environment for subprocesses pinned to the lab's PulseAudio server; the
    test process itself is pinned too (PULSE_SERVER).
    """
    if not lab_available():
        message = (
            f"the virtual audio lab is not running ({lab_status()}); "
            "start it with: scripts/audiolab.sh start"
        )
        if os.environ.get("LAB_REQUIRED") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    env = lab_env()
    monkeypatch.setenv("PULSE_SERVER", env["PULSE_SERVER"])
    return env


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Config and data in temporary folders; no API keys; no VOICEOS_* settings but an
    empty discovery list.

    Applied to this process too; returns the environment for subprocesses.
    """
    for name in list(os.environ):
        if name.startswith("VOICEOS_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name)
    # Never probe the developer's own local LLM servers (Ollama, LM Studio...): a test that
    # wants discovery names its ports.
    monkeypatch.setenv("VOICEOS_LLM_DISCOVER", "")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        folder = tmp_path / name.lower()
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))
    yield dict(os.environ)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The real llama.cpp server (voiceos[llm-test]) on 127.0.0.1, warmed up, for the session.

    Skips when llama-cpp-python is not installed, unless LLM_REQUIRED=1 (then fails).
    """
    from llm_server import SENTINEL_KEY, running_llama_server

    yield from running_llama_server(tmp_path_factory.mktemp("llama-server"), SENTINEL_KEY)


@pytest.fixture(scope="session")
def private_lab_session() -> Iterator[PrivateLab]:
    """One private virtual speaker and mic for this test session (see lab.PrivateLab)."""
    if not lab_available():
        message = "the virtual audio lab is not running; start it with: scripts/audiolab.sh start"
        if os.environ.get("LAB_REQUIRED") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with PrivateLab() as lab:
        yield lab


@pytest.fixture
def private_lab(
    audio_lab: dict[str, str], private_lab_session: PrivateLab, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PrivateLab]:
    """A virtual speaker and mic only this test process uses, safe from other test runs
    sharing the lab. PortAudio streams opened during the test (here, or in a subprocess
    given `private_lab.env`) default to them; see lab.PrivateLab for recording/feeding.

    Echo paths a test loaded go with it: left loaded, test_echo_e2e's three added
    themselves to every later test's (test_voice_e2e's own loop included)."""
    for name, value in private_lab_session.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield private_lab_session
    finally:
        private_lab_session.remove_echo_paths()


@pytest.fixture(scope="session", autouse=True)
def no_key_in_any_written_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole run: no file any test wrote holds one of the sentinel API keys the
    tests hand to voiceos (servers' logs and voiceos's memory, config and WAVs included)."""
    yield
    from faultkit import SECRET_KEY
    from llm_server import SENTINEL_KEY

    needles = [key.encode() for key in (SENTINEL_KEY, SECRET_KEY)]
    leaks = [
        path
        for path in tmp_path_factory.getbasetemp().rglob("*")
        if path.is_file() and not path.is_symlink() and any(n in path.read_bytes() for n in needles)
    ]
    assert not leaks, f"a sentinel API key was written to {leaks}"
