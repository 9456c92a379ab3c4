"""The OpenAI-compatible brain with the real openai client over an in-process transport.

The transport (httpx2's MockTransport, the HTTP library openai 3.x is built on) serves
server-sent events, so streaming, what is sent, and every failure are exercised without a
network. The real server is in test_llm_server.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from llm_server import DONE, chunk, error_json, reply_events

from bench.offline_transcript import FixedVoice
from voiceos.dialogue.llm import PLACEHOLDER_KEY, OpenAIBrain
from voiceos.dialogue.llm_errors import LLMError, LLMErrorKind, scrub
from voiceos.dialogue.memory import Memory
from voiceos.dialogue.persona import load_persona
from voiceos.dialogue.router import Dialogue, failure_line
from voiceos.types import Action, Source, UserTurn

KEY = "sk-unit-SENTINEL-0123456789abcdef"
SETTINGS: dict[str, Any] = {
    "backend": "openai",
    "base_url": "http://llm.test/v1",
    "model": "test-model",
    "temperature": 0.5,
    "max_tokens": 64,
    "connect_timeout_s": 1.0,
    "first_token_timeout_s": 2.0,
    "stream_timeout_s": 2.0,
    "max_retries": 2,
    "context_chars": 6000,
}

Handler = Callable[[httpx2.Request], Any]


class Recorder:
    """Serves each request through `handler` and keeps what was sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx2.Request] = []
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        self.bodies.append(json.loads(request.content or b"null"))
        answer = self.handler(request)
        return await answer if asyncio.iscoroutine(answer) else answer


def sse(events: list[bytes], status: int = 200, **headers: str) -> httpx2.Response:
    return httpx2.Response(
        status, headers={"content-type": "text/event-stream", **headers}, content=b"".join(events)
    )


def streamed(parts: AsyncIterator[bytes]) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=parts)


def status(code: int, body: bytes, **headers: str) -> httpx2.Response:
    return httpx2.Response(
        code, headers={"content-type": "application/json", **headers}, content=body
    )


@pytest.fixture
def persona() -> Any:
    return load_persona("samantha")


@pytest.fixture
def memory(tmp_path: Path) -> Any:
    with Memory(tmp_path / "memory.sqlite3") as store:
        yield store


def brain(
    recorder: Recorder, persona: Any, memory: Any, api_key: str | None = KEY, **overrides: Any
) -> OpenAIBrain:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(recorder))
    return OpenAIBrain(persona, memory, {**SETTINGS, **overrides}, client, api_key)


async def collect(stream: AsyncIterator[str]) -> list[str]:
    return [delta async for delta in stream]


async def test_streams_deltas_in_order(persona: Any, memory: Any) -> None:
    recorder = Recorder(lambda _: sse(reply_events(["Hello", " there", ". How are", " you?"])))
    got = await collect(brain(recorder, persona, memory).stream(UserTurn("hi")))
    assert got == ["Hello", " there", ". How are", " you?"]
    sent = recorder.bodies[0]
    assert sent["stream"] is True
    assert sent["model"] == "test-model"
    assert sent["temperature"] == 0.5
    assert sent["max_tokens"] == 64
    assert recorder.requests[0].url.path == "/v1/chat/completions"
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_sends_persona_facts_name_and_history(persona: Any, memory: Any) -> None:
    memory.set_user_name("Theo")
    memory.remember("my sister is called Ada")
    memory.add_turn("user", "I went hiking today")
    memory.add_turn("assistant", "That sounds lovely. Where did you go?")
    recorder = Recorder(lambda _: sse(reply_events(["Nice."])))
    await collect(brain(recorder, persona, memory).stream(UserTurn("Up the hill")))
    messages = recorder.bodies[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    system = messages[0]["content"]
    assert system.startswith(persona.system_prompt.strip())
    assert "Theo" in system
    assert "my sister is called Ada" in system
    assert messages[1]["content"] == "I went hiking today"
    assert messages[2]["content"] == "That sounds lovely. Where did you go?"
    assert messages[3]["content"] == "Up the hill"


async def test_history_is_bounded_by_the_budget_and_keeps_the_newest(
    persona: Any, memory: Any
) -> None:
    for i in range(60):
        memory.add_turn("user", f"question number {i:02d} " + "x" * 80)
        memory.add_turn("assistant", f"answer number {i:02d} " + "y" * 80)
    for i in range(40):
        memory.remember(f"fact number {i:02d} " + "z" * 60)
    recorder = Recorder(lambda _: sse(reply_events(["Ok."])))
    budget = 2000
    await collect(
        brain(recorder, persona, memory, context_chars=budget).stream(UserTurn("and now?"))
    )
    messages = recorder.bodies[0]["messages"]
    history = messages[1:-1]
    system_extra = len(messages[0]["content"]) - len(persona.system_prompt.strip())
    assert sum(len(m["content"]) for m in history) + system_extra <= budget + 200
    assert history, "no history was sent at all"
    assert "answer number 59" in history[-1]["content"]
    assert history[0]["role"] == "user"
    assert not any("number 00" in m["content"] for m in history)
    assert "fact number 39" in messages[0]["content"]
    assert "fact number 00" not in messages[0]["content"]
    assert messages[-1] == {"role": "user", "content": "and now?"}


async def test_a_local_server_without_a_key_gets_a_placeholder(
    persona: Any, memory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    recorder = Recorder(lambda _: sse(reply_events(["Hi."])))
    await collect(brain(recorder, persona, memory, api_key=None).stream(UserTurn("hi")))
    assert recorder.requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


async def test_openai_without_a_key_is_no_key(
    persona: Any, memory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    recorder = Recorder(lambda _: sse(reply_events(["Hi."])))
    with pytest.raises(LLMError) as caught:
        await collect(
            brain(recorder, persona, memory, api_key=None, base_url="").stream(UserTurn("hi"))
        )
    assert caught.value.kind is LLMErrorKind.NO_KEY
    assert recorder.requests == []


def _refuse(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("Connection refused", request=request)


async def _stall_first(request: httpx2.Request) -> httpx2.Response:
    async def parts() -> AsyncIterator[bytes]:
        await asyncio.Event().wait()  # never set: the first words never come
        yield chunk("late")

    return streamed(parts())


async def _stall_later(request: httpx2.Request) -> httpx2.Response:
    async def parts() -> AsyncIterator[bytes]:
        yield chunk("Hello")
        await asyncio.Event().wait()
        yield chunk(" never")

    return streamed(parts())


async def _drop_later(request: httpx2.Request) -> httpx2.Response:
    async def parts() -> AsyncIterator[bytes]:
        yield chunk("Hello")
        raise httpx2.ReadError("connection reset by peer", request=request)

    return streamed(parts())


FAILURES: dict[str, tuple[Handler, LLMErrorKind]] = {
    "unreachable": (_refuse, LLMErrorKind.UNREACHABLE),
    "wrong key": (
        lambda _: status(
            401, error_json(f"Incorrect API key provided: {KEY}", code="invalid_api_key")
        ),
        LLMErrorKind.AUTH,
    ),
    "unknown model": (
        lambda _: status(
            404, error_json("The model `nope` does not exist", code="model_not_found")
        ),
        LLMErrorKind.MODEL,
    ),
    "no endpoint": (lambda _: status(404, b'{"detail":"Not Found"}'), LLMErrorKind.SERVER),
    "prompt too long": (
        lambda _: status(400, error_json("This model's maximum context length is 8192 tokens")),
        LLMErrorKind.SERVER,
    ),
    "first words too slow": (_stall_first, LLMErrorKind.TIMEOUT),
    "rate limited": (
        lambda _: status(429, error_json("slow down", "rate_limit"), **{"retry-after": "0"}),
        LLMErrorKind.RATE_LIMIT,
    ),
    "server error": (
        lambda _: status(503, b'{"error":"overloaded"}', **{"retry-after": "0"}),
        LLMErrorKind.SERVER,
    ),
    "malformed stream": (lambda _: sse([b"data: {not json\n\n", DONE]), LLMErrorKind.BROKEN_STREAM),
    "empty stream": (lambda _: sse([DONE]), LLMErrorKind.BROKEN_STREAM),
    "not a stream": (lambda _: sse([b"<html>hello</html>"]), LLMErrorKind.BROKEN_STREAM),
    "error event": (
        lambda _: sse([b'data: {"error": {"message": "model crashed"}}\n\n']),
        LLMErrorKind.BROKEN_STREAM,
    ),
}


@pytest.mark.parametrize("name", FAILURES)
async def test_each_failure_is_one_kind(
    name: str, persona: Any, memory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handler, kind = FAILURES[name]
    recorder = Recorder(handler)
    timeouts: dict[str, Any] = {"first_token_timeout_s": 0.3} if "slow" in name else {}
    with pytest.raises(LLMError) as caught:
        await collect(brain(recorder, persona, memory, **timeouts).stream(UserTurn("hi")))
    assert caught.value.kind is kind, caught.value.message
    assert KEY not in caught.value.message
    assert KEY not in caplog.text
    assert "\n" not in caught.value.message and len(caught.value.message) <= 200


@pytest.mark.parametrize("code", [429, 500, 502, 503])
async def test_429_and_5xx_are_retried_within_the_budget(
    code: int, persona: Any, memory: Any
) -> None:
    answers = iter([status(code, b"{}", **{"retry-after": "0"})] * 2)
    recorder = Recorder(lambda _: next(answers, None) or sse(reply_events(["Back."])))
    got = await collect(brain(recorder, persona, memory, max_retries=2).stream(UserTurn("hi")))
    assert got == ["Back."]
    assert len(recorder.requests) == 3


async def test_retries_stop_at_max_retries(persona: Any, memory: Any) -> None:
    recorder = Recorder(lambda _: status(500, b"{}", **{"retry-after": "0"}))
    with pytest.raises(LLMError):
        await collect(brain(recorder, persona, memory, max_retries=1).stream(UserTurn("hi")))
    assert len(recorder.requests) == 2


async def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    persona: Any, memory: Any
) -> None:
    recorder = Recorder(lambda _: status(429, b"{}", **{"retry-after": "30"}))
    with pytest.raises(LLMError) as caught:
        await collect(brain(recorder, persona, memory).stream(UserTurn("hi")))
    assert caught.value.kind is LLMErrorKind.RATE_LIMIT
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("handler", "kind"),
    [
        (_stall_later, LLMErrorKind.TIMEOUT),
        (_drop_later, LLMErrorKind.BROKEN_STREAM),
        (lambda _: sse([chunk("Hello"), chunk(" world")]), LLMErrorKind.BROKEN_STREAM),
    ],
    ids=["stalls", "connection drops", "ends without finishing"],
)
async def test_failure_mid_stream_keeps_what_was_yielded(
    handler: Handler, kind: LLMErrorKind, persona: Any, memory: Any
) -> None:
    got: list[str] = []
    stream = brain(Recorder(handler), persona, memory, stream_timeout_s=0.3).stream(UserTurn("hi"))
    with pytest.raises(LLMError) as caught:
        async for delta in stream:
            got.append(delta)
    assert got[0] == "Hello"
    assert caught.value.kind is kind


def test_scrub_masks_keys_and_headers() -> None:
    text = (
        f"Authorization: Bearer {KEY}\nheaders={{'api-key': 'abc123xyz'}} key={KEY} sk-abcdefghijkl"
    )
    clean = scrub(text, (KEY,))
    assert KEY not in clean and "abc123xyz" not in clean and "sk-abcdefghijkl" not in clean
    assert "\n" not in clean


# --- the router with the real brain ------------------------------------------------------


class NoSkills:
    def handle(self, text: str) -> None:
        return None


class Offline:
    async def reply(self, turn: UserTurn) -> AsyncIterator[str]:
        yield f"(offline answer to {turn.text})"


@pytest.mark.parametrize("name", FAILURES)
async def test_router_falls_back_once_per_failed_turn_and_tries_again(
    name: str, persona: Any, memory: Any
) -> None:
    handler, kind = FAILURES[name]
    failing = [True]

    def serve(request: httpx2.Request) -> Any:
        return handler(request) if failing[0] else sse(reply_events(["From the server."]))

    recorder = Recorder(serve)
    timeouts: dict[str, Any] = {"first_token_timeout_s": 0.3} if "slow" in name else {}
    dialogue = Dialogue(NoSkills(), Offline(), brain(recorder, persona, memory, **timeouts))
    reply = dialogue.respond(UserTurn("hello"))
    text = "".join(await collect(reply.deltas))
    assert text == failure_line(kind) + " (offline answer to hello)"
    assert reply.action is Action.NONE
    assert dialogue.last_error is not None and dialogue.last_error.kind is kind
    sent_before = len(recorder.requests)
    failing[0] = False
    reply = dialogue.respond(UserTurn("again"))
    assert reply.source is Source.LLM
    assert "".join(await collect(reply.deltas)) == "From the server."
    assert len(recorder.requests) == sent_before + 1
    assert dialogue.last_error is None


async def test_warm_up_builds_the_client_early_and_keeps_errors_for_the_reply(
    persona: Any, memory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    recorder = Recorder(lambda _: sse(reply_events(["Hi."])))
    ready = brain(recorder, persona, memory)
    await Dialogue(NoSkills(), Offline(), ready).warm_up()
    assert ready._client is not None
    keyless = brain(recorder, persona, memory, api_key=None, base_url="")
    dialogue = Dialogue(NoSkills(), Offline(), keyless)
    await dialogue.warm_up()  # no key: nothing raised yet
    text = "".join(await collect(dialogue.respond(UserTurn("hi")).deltas))
    assert text.startswith(failure_line(LLMErrorKind.NO_KEY))
    assert recorder.requests == []


def test_probe_reports_what_is_wrong_in_one_safe_line(
    persona: Any, memory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceos.dialogue.llm import probe

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    problem = probe({**SETTINGS, "base_url": ""})
    assert problem is not None and "OPENAI_API_KEY" in problem
    port_with_nothing = {**SETTINGS, "base_url": "http://127.0.0.1:9/v1"}
    problem = probe(port_with_nothing, api_key=KEY)
    assert problem is not None and "cannot reach" in problem and KEY not in problem


async def test_fact_heard_in_passing_is_sent_after_a_restart(persona: Any, tmp_path: Path) -> None:
    from voiceos.dialogue.skills import Skills

    path = tmp_path / "restart.sqlite3"
    with Memory(path) as first:
        skills = Skills(first, FixedVoice(), persona)
        assert skills.handle("oh and my cat is called Miso, she's a terror") is None
        for i in range(300):  # many facts: only the relevant ones and the newest fit
            first.remember(f"I once bought a blue umbrella number {i} at the market")
    with Memory(path) as again:
        recorder = Recorder(lambda _: sse(reply_events(["Aw."])))
        turn = UserTurn("I'm getting a new toy for my cat")
        await collect(brain(recorder, persona, again, context_chars=2000).stream(turn))
    system = recorder.bodies[0]["messages"][0]["content"]
    assert "my cat is called Miso" in system
    assert "umbrella number 299" in system and "umbrella number 0 " not in system
    facts = system.split("own words", 1)[1]
    assert len(facts) <= 1000 + 200  # facts get at most half of context_chars


# --- facts proposed by the model, off the critical path ---------------------------------


def test_proposals_are_kept_only_in_the_users_own_words() -> None:
    from voiceos.dialogue.proposing import parse

    said = "I spent ten years as a sailor, and I don't have a boat any more. Is that odd?"
    answer = "\n".join(
        [
            "work | I spent ten years as a sailor",  # the user's words: kept
            "boat | I don't have a boat any more",  # negated: dropped
            "family | my sister is a pilot",  # invented: dropped
            "question | Is that odd",  # a question: dropped
            "nonsense without a bar",
        ]
    )
    assert [(h.subject, h.key, h.text) for h in parse(answer, said)] == [
        ("work", "llm:work", "I spent ten years as a sailor")
    ]
    assert parse("NONE", said) == []


def completion(content: str) -> httpx2.Response:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content},
             "finish_reason": "stop"}
        ],
    }  # fmt: skip
    return httpx2.Response(200, json=body)


async def test_the_model_proposes_facts_after_the_reply_has_started(
    persona: Any, memory: Any
) -> None:
    from voiceos.dialogue.proposing import FactProposer
    from voiceos.dialogue.skills import Skills

    def serve(request: httpx2.Request) -> httpx2.Response:
        if json.loads(request.content).get("stream"):
            return sse(reply_events(["Ten years!", " What was that like?"]))
        return completion(
            "work | I spent ten years as a sailor in the navy\nfamily | my sister is a pilot"
        )

    recorder = Recorder(serve)
    llm = brain(recorder, persona, memory)
    dialogue = Dialogue(
        Skills(memory, FixedVoice(), persona), offline_stub(), llm,
        proposer=FactProposer(llm, memory),
    )  # fmt: skip
    reply = dialogue.respond(UserTurn("I spent ten years as a sailor in the navy"))
    first = await anext(reply.deltas)
    assert first == "Ten years!"
    assert recorder.bodies[0]["stream"] is True  # the reply was asked for first
    rest = [d async for d in reply.deltas]
    await dialogue.settle(timeout_s=10)
    assert "".join([first, *rest]) == "Ten years! What was that like?"
    assert len(recorder.bodies) == 2 and not recorder.bodies[1].get("stream")
    (fact,) = [f for f in memory.facts() if f.source == "llm"]
    assert (fact.topic, fact.text) == ("work", "I spent ten years as a sailor in the navy")
    assert "pilot" not in " ".join(f.text for f in memory.facts())


def offline_stub() -> Any:
    class Offline:
        async def reply(self, turn: UserTurn) -> AsyncIterator[str]:
            yield "offline"

        def greeting(self) -> str:
            return "hi"

    return Offline()
