"""Routing: skills first, then the server, then the offline brain; back-off; mid-stream faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from voiceos.dialogue.llm_errors import LLMError, LLMErrorKind
from voiceos.dialogue.router import Backoff, Dialogue, choose_backend, failure_line
from voiceos.types import Action, Source, UserTurn


@dataclass(frozen=True)
class SkillReply:
    text: str
    skill: str
    action: Action


class Skills:
    def handle(self, text: str) -> SkillReply | None:
        if text == "what time is it":
            return SkillReply("It's noon.", "time", Action.NONE)
        if text == "be quiet":
            return SkillReply("", "stop", Action.STOP)
        return None


class Offline:
    async def reply(self, turn: UserTurn) -> AsyncIterator[str]:
        yield "offline: "
        yield turn.text


class FakeLLM:
    """Yields `pieces`, then raises `fail_after` (if any) instead of finishing."""

    def __init__(self) -> None:
        self.pieces: list[str] = ["Hi", " there."]
        self.fail: LLMError | Exception | None = None
        self.fail_at = 0
        self.calls = 0
        self.closed = 0

    async def stream(self, turn: UserTurn) -> AsyncIterator[str]:
        self.calls += 1
        try:
            for index, piece in enumerate(self.pieces):
                if self.fail is not None and index == self.fail_at:
                    raise self.fail
                yield piece
            if self.fail is not None and self.fail_at >= len(self.pieces):
                raise self.fail
        finally:
            self.closed += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def text_of(dialogue: Dialogue, said: str) -> tuple[str, Source]:
    reply = dialogue.respond(UserTurn(said))
    return "".join([d async for d in reply.deltas]), reply.source


async def test_skills_answer_first_even_with_a_server() -> None:
    llm = FakeLLM()
    dialogue = Dialogue(Skills(), Offline(), llm)
    assert await text_of(dialogue, "what time is it") == ("It's noon.", Source.SKILL)
    assert dialogue.respond(UserTurn("be quiet")).action is Action.STOP
    assert llm.calls == 0


async def test_without_a_server_the_offline_brain_answers() -> None:
    dialogue = Dialogue(Skills(), Offline(), None)
    assert await text_of(dialogue, "hello") == ("offline: hello", Source.OFFLINE)
    assert not dialogue.backing_off and dialogue.last_error is None


async def test_the_server_answers_when_it_works() -> None:
    dialogue = Dialogue(Skills(), Offline(), FakeLLM())
    assert await text_of(dialogue, "hello") == ("Hi there.", Source.LLM)


@pytest.mark.parametrize("kind", list(LLMErrorKind))
async def test_failure_before_any_text_gives_one_line_then_offline(kind: LLMErrorKind) -> None:
    llm = FakeLLM()
    llm.fail = LLMError(kind, "safe message")
    dialogue = Dialogue(Skills(), Offline(), llm)
    text, _ = await text_of(dialogue, "hello")
    assert text == f"{failure_line(kind)} offline: hello"
    assert failure_line(kind).count(".") == 1  # one short sentence
    assert dialogue.last_error is llm.fail


async def test_an_unexpected_exception_is_a_failure_too() -> None:
    llm = FakeLLM()
    llm.fail = RuntimeError("boom")
    dialogue = Dialogue(Skills(), Offline(), llm)
    text, _ = await text_of(dialogue, "hello")
    assert text.endswith("offline: hello")
    assert dialogue.last_error is not None


async def test_failure_mid_stream_keeps_what_was_said_and_adds_nothing() -> None:
    llm = FakeLLM()
    llm.pieces = ["One.", " Two.", " Three."]
    llm.fail, llm.fail_at = LLMError(LLMErrorKind.BROKEN_STREAM, "broke"), 2
    dialogue = Dialogue(Skills(), Offline(), llm)
    assert await text_of(dialogue, "count") == ("One. Two.", Source.LLM)
    assert dialogue.last_error is llm.fail
    llm.fail = None
    assert await text_of(dialogue, "again") == ("One. Two. Three.", Source.LLM)
    assert dialogue.last_error is None


async def test_closing_the_reply_early_closes_the_server_stream() -> None:
    llm = FakeLLM()
    dialogue = Dialogue(Skills(), Offline(), llm)
    deltas = dialogue.respond(UserTurn("hello")).deltas
    assert await anext(deltas) == "Hi"
    await deltas.aclose()  # type: ignore[attr-defined]
    assert llm.closed == 1


async def test_repeated_failures_rest_the_server_and_say_so_once() -> None:
    clock = Clock()
    llm = FakeLLM()
    llm.fail = LLMError(LLMErrorKind.UNREACHABLE, "down")
    dialogue = Dialogue(Skills(), Offline(), llm, clock=clock, backoff=Backoff(3, 30.0, 120.0))
    line = failure_line(LLMErrorKind.UNREACHABLE)
    for _ in range(2):
        assert await text_of(dialogue, "hi") == (f"{line} offline: hi", Source.LLM)
        assert not dialogue.backing_off
    resting = failure_line(LLMErrorKind.UNREACHABLE, resting=True)
    assert await text_of(dialogue, "hi") == (f"{resting} offline: hi", Source.LLM)
    assert dialogue.backing_off and llm.calls == 3

    # While resting: straight to the offline brain, no line, no request.
    clock.now += 29
    assert await text_of(dialogue, "hi") == ("offline: hi", Source.OFFLINE)
    assert llm.calls == 3

    # After the rest the server is tried again; failing doubles the rest, told only once.
    clock.now += 2
    assert await text_of(dialogue, "hi") == (f"{line} offline: hi", Source.LLM)
    assert llm.calls == 4
    clock.now += 59
    assert dialogue.backing_off
    clock.now += 2
    assert not dialogue.backing_off

    # The rests are capped.
    for _ in range(5):
        await text_of(dialogue, "hi")
        clock.now += 121
    await text_of(dialogue, "hi")
    clock.now += 119
    assert dialogue.backing_off
    clock.now += 2
    assert not dialogue.backing_off

    # Success resets everything.
    llm.fail = None
    assert await text_of(dialogue, "hi") == ("Hi there.", Source.LLM)
    llm.fail = LLMError(LLMErrorKind.TIMEOUT, "slow")
    await text_of(dialogue, "hi")
    assert not dialogue.backing_off


def test_backoff_schedule() -> None:
    backoff = Backoff(after_failures=3, first_s=30.0, max_s=600.0)
    assert [backoff.rest_s(n) for n in range(1, 10)] == [0, 0, 30, 60, 120, 240, 480, 600, 600]


@pytest.mark.parametrize(
    ("backend", "env", "base_url", "expected"),
    [
        ("auto", {}, "", "offline"),
        ("auto", {"OPENAI_API_KEY": "k"}, "", "openai"),
        ("auto", {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}, "", "openai"),
        ("auto", {}, "http://127.0.0.1:8080/v1", "openai"),
        ("offline", {"OPENAI_API_KEY": "k"}, "", "offline"),
        ("openai", {}, "", "openai"),
    ],
)
def test_choose_backend(backend: str, env: dict[str, str], base_url: str, expected: str) -> None:
    assert choose_backend({"backend": backend, "base_url": base_url}, env) == expected
