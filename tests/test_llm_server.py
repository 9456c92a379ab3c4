"""The OpenAI-compatible brain against a real server: llama.cpp serving Gemma 3 270M.

The model is a base model, so these tests assert behaviour and protocol, never the wisdom
of its words. Faults a real server will not produce on demand (a rejected model name,
429/5xx, malformed or empty streams) come from a small stub HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import (
    DONE,
    MODEL_ALIAS,
    SENTINEL_KEY,
    LlamaServer,
    QuietDisplay,
    Request,
    Response,
    StubServer,
    chunk,
    error_json,
    free_port,
    model_file,
    reply_events,
)

from voiceos.conversation import Conversation, TurnResult
from voiceos.dialogue.llm import OpenAIBrain
from voiceos.dialogue.llm_errors import LLMErrorKind
from voiceos.dialogue.memory import Memory
from voiceos.dialogue.persona import Persona, load_persona
from voiceos.dialogue.router import Dialogue, failure_line
from voiceos.types import Spoken, UserTurn

pytestmark = pytest.mark.llm


def settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "backend": "openai",
        "base_url": base_url,
        "model": MODEL_ALIAS,
        "temperature": 0.0,
        "max_tokens": 40,
        "connect_timeout_s": 2.0,
        "first_token_timeout_s": 60.0,  # generous: two shared cores
        "stream_timeout_s": 30.0,
        "max_retries": 2,
        "context_chars": 6000,
        **overrides,
    }


class NoSkills:
    def handle(self, text: str) -> None:
        return None


def offline_brain(persona: Persona, memory: Memory) -> Any:
    try:
        from voiceos.dialogue.offline import OfflineBrain
    except ImportError:  # pragma: no cover - until the offline brain lands

        class OfflineBrain:  # type: ignore[no-redef]
            def __init__(self, *_: Any) -> None:
                pass

            async def reply(self, turn: UserTurn) -> AsyncIterator[str]:
                yield "Tell me more."

    return OfflineBrain(persona, memory, random.Random(7))


class RecordingSpeaker:
    """Takes sentences like a Speaker and notes when each arrived."""

    def __init__(self) -> None:
        self.sentences: list[tuple[float, str]] = []

    async def say(self, sentence: str) -> Spoken:
        self.sentences.append((time.monotonic(), sentence))
        return Spoken(sentence, first_audio_s=time.monotonic())

    def stop(self) -> None:
        pass


class TimedBrain(OpenAIBrain):
    """Notes when each delta arrives and when the stream ends; can run a hook after delta n."""

    def __init__(self, *args: Any, after_delta: tuple[int, Any] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.delta_times: list[float] = []
        self.end_s = 0.0
        self.after_delta = after_delta

    async def stream(self, turn: UserTurn) -> AsyncIterator[str]:
        try:
            async for delta in super().stream(turn):
                self.delta_times.append(time.monotonic())
                yield delta
                if self.after_delta and len(self.delta_times) == self.after_delta[0]:
                    self.after_delta[1]()
        finally:
            self.end_s = time.monotonic()


@pytest.fixture
def persona() -> Persona:
    return load_persona("samantha")


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    with Memory(tmp_path / "memory.sqlite3") as store:
        yield store


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert SENTINEL_KEY not in caplog.text


async def talk(
    dialogue: Dialogue, memory: Memory, text: str
) -> tuple[TurnResult, RecordingSpeaker]:
    speaker = RecordingSpeaker()
    conversation = Conversation(dialogue, speaker, QuietDisplay(), memory)
    return await conversation.turn(UserTurn(text)), speaker


# --- streaming into speech and what the server is sent -----------------------------------


async def test_first_sentence_reaches_the_speaker_before_the_stream_ends(
    llama_server: LlamaServer, persona: Persona, memory: Memory
) -> None:
    brain = TimedBrain(
        persona, memory, settings(llama_server.base_url, max_tokens=48), api_key=SENTINEL_KEY
    )
    dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)
    result, speaker = await talk(dialogue, memory, "Tell me about your day.")
    assert dialogue.last_error is None, dialogue.last_error
    assert len(brain.delta_times) > 5
    first_sentence_s = speaker.sentences[0][0]
    assert first_sentence_s < brain.end_s, "the first sentence waited for the whole reply"
    later = [t for t in brain.delta_times if t > first_sentence_s]
    assert later, "no text arrived after the first sentence was handed over"
    print(
        f"first sentence {1000 * (first_sentence_s - brain.delta_times[0]):.0f} ms after the "
        f"first delta; stream ended {1000 * (brain.end_s - first_sentence_s):.0f} ms later"
    )
    assert result.heard and memory.recent_turns(2)[-1].text == result.heard


async def test_server_receives_persona_facts_and_bounded_history(
    llama_server: LlamaServer, persona: Persona, memory: Memory
) -> None:
    memory.set_user_name("Theo")
    memory.remember("my sister Ada plays the cello")
    for i in range(30):
        memory.add_turn("user", f"old question {i:02d} about the weather")
        memory.add_turn("assistant", f"old answer {i:02d} about clouds")
    budget = 700
    brain = OpenAIBrain(
        persona,
        memory,
        settings(llama_server.base_url, max_tokens=4, context_chars=budget),
        api_key=SENTINEL_KEY,
    )
    before = len(llama_server.prompts())
    async for _ in brain.stream(UserTurn("What do you remember about me?")):
        pass
    prompts = llama_server.prompts()
    assert len(prompts) == before + 1
    prompt = prompts[-1]
    for line in persona.system_prompt.strip().splitlines():
        assert line.strip() in prompt
    assert "Theo" in prompt
    assert "my sister Ada plays the cello" in prompt
    assert "old answer 29 about clouds" in prompt and "old question 29" in prompt
    assert "old question 00" not in prompt, "history beyond the budget was sent"
    history = prompt.split("cello", 1)[1].rsplit("What do you remember", 1)[0]
    for markup in ("<start_of_turn>user\n", "<start_of_turn>model\n", "<end_of_turn>\n"):
        history = history.replace(markup, "")
    assert len(history.strip()) <= budget
    assert prompt.rstrip().endswith("<start_of_turn>model")
    assert prompt.count("What do you remember about me?") == 1


# --- every failure: one short line, the offline reply, and the next turn tries again ----


async def assert_falls_back_then_retries(
    dialogue: Dialogue, memory: Memory, kind: LLMErrorKind, fix: Any, sent: Any
) -> None:
    """Turn 1 fails with `kind`; after `fix()`, turn 2 reaches the server (sent() grows)."""
    result, speaker = await talk(dialogue, memory, "Hello there")
    line = failure_line(kind)
    assert result.said.startswith(line), result.said
    assert len(result.said) > len(line) + 3, "no offline reply followed the line"
    assert speaker.sentences[0][1] == line
    assert dialogue.last_error is not None and dialogue.last_error.kind is kind
    assert SENTINEL_KEY not in dialogue.last_error.message
    count = sent()
    fix()
    result, _ = await talk(dialogue, memory, "Are you back?")
    assert sent() > count, "the next turn did not try the server again"
    assert dialogue.last_error is None, dialogue.last_error  # cleared only by a success
    assert result.said.strip()


async def test_server_not_running(persona: Persona, memory: Memory) -> None:
    port = free_port()  # nothing listens here during the first turn
    brain = OpenAIBrain(
        persona, memory, settings(f"http://127.0.0.1:{port}/v1"), api_key=SENTINEL_KEY
    )
    dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)
    stub = StubServer(lambda r: Response(events=reply_events(["I'm here."])), port)
    started = time.monotonic()

    result, _ = await talk(dialogue, memory, "Hello there")
    assert result.said.startswith(failure_line(LLMErrorKind.UNREACHABLE))
    assert time.monotonic() - started < 5.0, "a refused connection took long to notice"
    try:
        await stub.__aenter__()  # the server comes up
        result, _ = await talk(dialogue, memory, "Are you back?")
        assert result.said == "I'm here."
        assert len(stub.requests) == 1 and dialogue.last_error is None
    finally:
        await stub.__aexit__()


async def test_wrong_api_key(llama_server: LlamaServer, persona: Persona, memory: Memory) -> None:
    brain = OpenAIBrain(persona, memory, settings(llama_server.base_url), api_key="sk-wrong-key")
    dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)

    def refusals() -> int:
        return llama_server.log_text().count("401 Unauthorized")

    before = refusals()
    result, _ = await talk(dialogue, memory, "Hello there")
    assert result.said.startswith(failure_line(LLMErrorKind.AUTH))
    assert refusals() == before + 1

    def fix() -> None:
        brain._api_key, brain._client = SENTINEL_KEY, None

    await assert_falls_back_then_retries(
        dialogue, memory, LLMErrorKind.AUTH, fix, lambda: len(llama_server.prompts())
    )


async def test_unknown_model_names_are_served_anyway_by_llama_cpp(
    llama_server: LlamaServer, persona: Persona, memory: Memory
) -> None:
    """llama-cpp-python falls back to its default model for any name; nothing to reject."""
    brain = OpenAIBrain(
        persona,
        memory,
        settings(llama_server.base_url, model="no-such-model", max_tokens=3),
        api_key=SENTINEL_KEY,
    )
    deltas = [d async for d in brain.stream(UserTurn("Hi"))]
    assert deltas


async def test_model_name_rejected(persona: Persona, memory: Memory) -> None:
    known = {"good-model"}

    def serve(request: Request) -> Response:
        model = request.json()["model"]
        if model not in known:
            return Response(404, [error_json(f"model '{model}' not found", code="model_not_found")])
        return Response(events=reply_events(["Found it."]))

    async with StubServer(serve) as stub:
        brain = OpenAIBrain(
            persona, memory, settings(stub.base_url, model="bad-model"), api_key=SENTINEL_KEY
        )
        dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)
        await assert_falls_back_then_retries(
            dialogue,
            memory,
            LLMErrorKind.MODEL,
            lambda: known.add("bad-model"),
            lambda: len(stub.requests),
        )


async def test_first_token_slower_than_the_timeout(
    llama_server: LlamaServer, persona: Persona, memory: Memory
) -> None:
    brain = OpenAIBrain(
        persona,
        memory,
        settings(llama_server.base_url, first_token_timeout_s=0.001),
        api_key=SENTINEL_KEY,
    )
    dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)
    started = time.monotonic()

    def fix() -> None:
        brain.settings["first_token_timeout_s"] = 60.0

    await assert_falls_back_then_retries(
        dialogue, memory, LLMErrorKind.TIMEOUT, fix, lambda: len(llama_server.prompts())
    )
    assert time.monotonic() - started < 60.0


async def test_server_killed_mid_stream(persona: Persona, memory: Memory, tmp_path: Path) -> None:
    from llm_server import llama_available

    if not llama_available():
        pytest.skip("llama-cpp-python is not installed")
    server = LlamaServer(tmp_path / "doomed", SENTINEL_KEY)
    server.start(model_file())
    try:
        brain = TimedBrain(
            persona,
            memory,
            settings(server.base_url, max_tokens=200),
            api_key=SENTINEL_KEY,
            after_delta=(3, server.kill),
        )
        dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)
        result, speaker = await talk(dialogue, memory, "Tell me a long story about the sea.")
        assert server.proc is not None and server.proc.returncode is not None
        assert 3 <= len(brain.delta_times) < 200
        assert dialogue.last_error is not None
        assert dialogue.last_error.kind is LLMErrorKind.BROKEN_STREAM
        assert not any(failure_line(k) in result.said for k in LLMErrorKind)
        heard = " ".join(text for _, text in speaker.sentences)
        assert result.heard == heard and heard
        turns = memory.recent_turns(2)
        assert (turns[0].role, turns[0].text) == ("user", "Tell me a long story about the sea.")
        assert (turns[1].role, turns[1].text) == ("assistant", heard)

        # The next turn tries again, finds nothing, and says so once.
        result, _ = await talk(dialogue, memory, "Are you still there?")
        assert result.said.startswith(failure_line(LLMErrorKind.UNREACHABLE))
    finally:
        server.stop()


async def test_cancelling_a_stream_stops_at_once(
    llama_server: LlamaServer, persona: Persona, memory: Memory
) -> None:
    """Ctrl-C or barge-in cancels the turn's task: it ends at once and the server stays usable."""
    brain = OpenAIBrain(
        persona, memory, settings(llama_server.base_url, max_tokens=200), api_key=SENTINEL_KEY
    )
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in brain.stream(UserTurn("Tell me a long story about the sea.")):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 60)
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 0.5
    deltas = [d async for d in brain.stream(UserTurn("Hi"))]
    assert deltas


def _stalled_first() -> Response:
    return Response(events=[b": keep-alive\n\n", chunk("late")], pause=asyncio.Event())


PROTOCOL_FAULTS: dict[str, tuple[Any, LLMErrorKind]] = {
    "malformed stream": (
        lambda: Response(events=[b'data: {"choices": [{\n\n', DONE]),
        LLMErrorKind.BROKEN_STREAM,
    ),
    "empty stream": (lambda: Response(events=[]), LLMErrorKind.BROKEN_STREAM),
    "only [DONE]": (lambda: Response(events=[DONE]), LLMErrorKind.BROKEN_STREAM),
    "html instead of events": (
        lambda: Response(events=[b"<html>oops</html>"]),
        LLMErrorKind.BROKEN_STREAM,
    ),
    "429 every time": (
        lambda: Response(429, [error_json("slow down")], {"retry-after": "0"}),
        LLMErrorKind.RATE_LIMIT,
    ),
    "500 every time": (lambda: Response(500, [b"{}"], {"retry-after": "0"}), LLMErrorKind.SERVER),
    "503 every time": (lambda: Response(503, [b"{}"], {"retry-after": "0"}), LLMErrorKind.SERVER),
    "keep-alives but no words": (_stalled_first, LLMErrorKind.TIMEOUT),
}


@pytest.mark.parametrize("name", PROTOCOL_FAULTS)
async def test_protocol_faults(name: str, persona: Persona, memory: Memory) -> None:
    make, kind = PROTOCOL_FAULTS[name]
    failing = [True]

    def serve(request: Request) -> Response:
        return make() if failing[0] else Response(events=reply_events(["All good."]))

    async with StubServer(serve) as stub:
        brain = OpenAIBrain(
            persona,
            memory,
            settings(stub.base_url, first_token_timeout_s=1.0),
            api_key=SENTINEL_KEY,
        )
        dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)
        await assert_falls_back_then_retries(
            dialogue,
            memory,
            kind,
            lambda: failing.__setitem__(0, False),
            lambda: len(stub.requests),
        )
        if kind in (LLMErrorKind.RATE_LIMIT, LLMErrorKind.SERVER):
            assert len(stub.requests) == 1 + 3  # 1 + max_retries, then the next turn's one


@pytest.mark.parametrize("code", [429, 500, 502, 503])
async def test_429_and_5xx_are_retried_within_the_budget(
    code: int, persona: Persona, memory: Memory
) -> None:
    def serve(request: Request) -> Response:
        if len(stub.requests) <= 2:
            return Response(code, [b"{}"], {"retry-after": "0"})
        return Response(events=reply_events(["Made it."]))

    async with StubServer(serve) as stub:
        brain = OpenAIBrain(
            persona, memory, settings(stub.base_url, max_retries=2), api_key=SENTINEL_KEY
        )
        dialogue = Dialogue(NoSkills(), offline_brain(persona, memory), brain)
        result, _ = await talk(dialogue, memory, "Hello there")
        assert result.said == "Made it."
        assert len(stub.requests) == 3
        assert dialogue.last_error is None


def test_doctor_probe(llama_server: LlamaServer) -> None:
    from voiceos.dialogue.llm import probe

    assert probe(settings(llama_server.base_url), api_key=SENTINEL_KEY) is None
    problem = probe(settings(llama_server.base_url), api_key="sk-wrong-key-123456")
    assert problem is not None and "refused the API key" in problem
    assert "sk-wrong-key-123456" not in problem


# --- secrets -----------------------------------------------------------------------------


def test_the_key_never_reaches_a_file(
    llama_server: LlamaServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Runs last in this module: every file written so far, the server's logs included."""
    root = tmp_path_factory.getbasetemp()
    needle = SENTINEL_KEY.encode()
    checked = 0
    for path in [*root.rglob("*"), llama_server.log_file, llama_server.prompt_log]:
        if path.is_file():
            checked += 1
            assert needle not in path.read_bytes(), f"the API key leaked into {path}"
    assert checked >= 3
    assert "Authorization" not in llama_server.log_text()


def test_fact_heard_in_passing_reaches_the_prompt_after_a_restart(
    llama_server: LlamaServer, isolated_env: dict[str, str]
) -> None:
    """Told in passing in one `voiceos --text` process, sent to the model by the next."""
    import subprocess
    import sys

    env = {
        **isolated_env,
        "OPENAI_BASE_URL": llama_server.base_url,
        "OPENAI_API_KEY": SENTINEL_KEY,
        "VOICEOS_LLM_MODEL": MODEL_ALIAS,
        "VOICEOS_LLM_MAX_TOKENS": "6",
        "VOICEOS_LLM_TEMPERATURE": "0",
        "VOICEOS_LLM_FIRST_TOKEN_TIMEOUT_S": "120",
        "VOICEOS_LLM_STREAM_TIMEOUT_S": "60",
        "PULSE_SERVER": "unix:/nonexistent/pulse/native",
    }

    def chat(line: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "voiceos", "--text", "--mute"],
            input=f"{line}\n".encode(),
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    chat("Oh by the way, my cat is called Miso and she's a terror.")
    before = len(llama_server.prompts())
    chat("I'm thinking of getting a new toy for the cat.")
    prompts = llama_server.prompts()[before:]
    assert prompts, "the second session never reached the server"
    # From the remembered facts, not only from the replayed history of the last session.
    facts = prompts[-1].split("What they have told you about themselves", 1)
    assert len(facts) == 2, prompts[-1]
    assert "- my cat is called Miso" in facts[1], prompts[-1]
