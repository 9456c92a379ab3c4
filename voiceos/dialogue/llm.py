"""The OpenAI-compatible brain: streams a reply from OpenAI, Ollama, llama.cpp, vLLM or LM Studio.

Every wait is bounded: connecting (`connect_timeout_s`), the first words
(`first_token_timeout_s`, which also bounds retries) and each pause between words
(`stream_timeout_s`). Every failure is raised as an `LLMError` with a safe message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from voiceos.dialogue.context import MemoryView, Message, PersonaLike, build_messages
from voiceos.dialogue.llm_errors import LLMError, LLMErrorKind, classify, scrub, where
from voiceos.types import UserTurn

if TYPE_CHECKING:
    import httpx2
    import openai

logger = logging.getLogger(__name__)

PLACEHOLDER_KEY = "no-key-needed"
"""Sent to servers that take no key (Ollama, LM Studio, llama.cpp without --api_key)."""

RETRY_BASE_S = 0.25


def resolve_base_url(settings: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """`[llm] base_url`, else OPENAI_BASE_URL, else None (OpenAI itself)."""
    return (settings.get("base_url") or env.get("OPENAI_BASE_URL") or "").strip() or None


def _is_openai(base_url: str | None) -> bool:
    host = (urlsplit(base_url).hostname or "") if base_url else "api.openai.com"
    return host == "openai.com" or host.endswith(".openai.com")


class OpenAIBrain:
    """Streams replies from an OpenAI-compatible chat completions endpoint.

    Args:
        persona: gives the system prompt.
        memory: remembered facts, the user's name and recent history (None: nothing).
        settings: the `[llm]` section of the config.
        http_client: an `httpx2.AsyncClient` to send requests through (tests use this).
        api_key: the key; None reads OPENAI_API_KEY from the environment.
    """

    def __init__(
        self,
        persona: PersonaLike,
        memory: MemoryView | None,
        settings: Mapping[str, Any],
        http_client: httpx2.AsyncClient | None = None,
        api_key: str | None = None,
    ) -> None:
        self.persona = persona
        self.memory = memory
        self.settings = dict(settings)
        self._http_client = http_client
        self._api_key = api_key
        self._client: openai.AsyncOpenAI | None = None
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    @property
    def model(self) -> str:
        return str(self.settings.get("model", ""))

    @property
    def server(self) -> str:
        """Where replies come from, safe to show (no credentials, no path)."""
        return where(resolve_base_url(self.settings, os.environ))

    def prepare(self) -> None:
        """Import the openai client and build it now (blocking; run it in a thread).

        The import alone takes about 0.7 s on a small machine: done at start-up, it is
        not paid by the first reply. Problems such as a missing key wait for that reply.
        """
        with contextlib.suppress(LLMError):
            self._get_client()

    def _get_client(self) -> openai.AsyncOpenAI:
        with self._lock:
            return self._client or self._build_client()

    def _build_client(self) -> openai.AsyncOpenAI:
        import httpx2
        import openai

        base_url = resolve_base_url(self.settings, os.environ)
        key = self._api_key or os.environ.get("OPENAI_API_KEY", "").strip()
        if not key:
            if not base_url or _is_openai(base_url):
                raise LLMError(
                    LLMErrorKind.NO_KEY,
                    "no API key: set OPENAI_API_KEY, or [llm] base_url for a local server",
                )
            key = PLACEHOLDER_KEY
        self._secrets = (key,)
        connect = float(self.settings.get("connect_timeout_s", 3.0))
        longest_wait = max(
            float(self.settings.get("first_token_timeout_s", 8.0)),
            float(self.settings.get("stream_timeout_s", 10.0)),
        )
        # Backstops only: the asyncio deadlines in stream() fire first.
        timeout = httpx2.Timeout(
            connect=connect, read=longest_wait + 1.0, write=connect, pool=connect
        )
        try:
            self._client = openai.AsyncOpenAI(
                api_key=key,
                base_url=base_url,
                max_retries=0,  # retried here instead, within the first-words deadline
                timeout=timeout,
                http_client=self._http_client,
            )
        except openai.OpenAIError as exc:
            raise self._error(exc, streaming=False) from None
        return self._client

    def _error(self, exc: Exception, *, streaming: bool) -> LLMError:
        error = classify(exc, server=self.server, model=self.model, streaming=streaming)
        error.message = scrub(error.message, self._secrets)
        if error is not exc:
            logger.debug("%s: %s", error.kind.name, scrub(repr(exc), self._secrets))
        return error

    def reply(self, turn: UserTurn) -> AsyncIterator[str]:
        """The Brain protocol: same as stream()."""
        return self.stream(turn)

    async def stream(self, turn: UserTurn) -> AsyncIterator[str]:
        """Yield the reply's text deltas as they arrive.

        Raises:
            LLMError: before or during the stream; text already yielded stays valid.
        """
        loop = asyncio.get_running_loop()
        first_timeout = float(self.settings.get("first_token_timeout_s", 8.0))
        gap_timeout = float(self.settings.get("stream_timeout_s", 10.0))
        # The first build imports openai (~0.7 s): off the loop, unless prepare() did it.
        client = self._client
        if client is None:
            client = await asyncio.to_thread(self._get_client)
        budget = int(self.settings.get("context_chars", 6000))
        try:
            messages = build_messages(self.persona, self.memory, turn.text, budget)
        except Exception as exc:  # a locked or broken memory store must not cost the reply
            logger.warning("memory unreadable, replying without it: %s", type(exc).__name__)
            messages = build_messages(self.persona, None, turn.text, budget)
        deadline = loop.time() + first_timeout
        response = await self._open(client, messages, deadline)
        got_text = finished = False
        try:
            chunks = response.__aiter__()
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    waited = gap_timeout if got_text else first_timeout
                    what = "stalled for" if got_text else "sent no words within"
                    raise LLMError(
                        LLMErrorKind.TIMEOUT, f"the language server {what} {waited:g} s"
                    ) from None
                except Exception as exc:
                    raise self._error(exc, streaming=True) from None
                text, done = _delta(chunk)
                finished = finished or done
                if text:
                    got_text = True
                    deadline = loop.time() + gap_timeout
                    yield text
        finally:
            with contextlib.suppress(Exception):
                await response.close()
        if not got_text:
            raise LLMError(LLMErrorKind.BROKEN_STREAM, "the language server sent an empty reply")
        if not finished:
            raise LLMError(LLMErrorKind.BROKEN_STREAM, "the reply stream ended without finishing")

    async def _open(
        self, client: openai.AsyncOpenAI, messages: list[Message], deadline: float
    ) -> openai.AsyncStream[Any]:
        """Start the streamed completion, retrying 429/5xx while the deadline allows."""
        loop = asyncio.get_running_loop()
        retries = int(self.settings.get("max_retries", 1))
        attempt = 0
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    stream = await client.chat.completions.create(
                        model=self.model,
                        messages=messages,  # type: ignore[arg-type]
                        temperature=float(self.settings.get("temperature", 0.8)),
                        max_tokens=int(self.settings.get("max_tokens", 300)),
                        stream=True,
                    )
                return cast("openai.AsyncStream[Any]", stream)
            except TimeoutError:
                raise LLMError(
                    LLMErrorKind.TIMEOUT,
                    f"the language server sent no words within "
                    f"{float(self.settings.get('first_token_timeout_s', 8.0)):g} s",
                ) from None
            except Exception as exc:
                error = self._error(exc, streaming=False)
                delay = _retry_delay(exc, attempt)
                if not error.retryable or attempt >= retries or loop.time() + delay >= deadline:
                    raise error from None
            attempt += 1
            logger.info("%s; retry %d of %d in %.2f s", error.message, attempt, retries, delay)
            await asyncio.sleep(delay)

    async def complete(self, messages: list[Message], max_tokens: int, timeout_s: float) -> str:
        """One short non-streamed completion (for side tasks such as proposing facts)."""
        client = self._client
        if client is None:
            client = await asyncio.to_thread(self._get_client)
        try:
            async with asyncio.timeout(timeout_s):
                response = await client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=0.0,
                    max_tokens=max_tokens,
                )
        except TimeoutError:
            raise LLMError(LLMErrorKind.TIMEOUT, f"no answer within {timeout_s:g} s") from None
        except LLMError:
            raise
        except Exception as exc:
            raise self._error(exc, streaming=False) from None
        choices = getattr(response, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        return str(getattr(message, "content", "") or "")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


@dataclass(frozen=True)
class _ProbePersona:
    name: str = "voiceos"
    system_prompt: str = "Answer in one word."


def probe(settings: Mapping[str, Any], api_key: str | None = None) -> str | None:
    """Ask the server for a few words (for `voiceos doctor`).

    Returns:
        None when words came back, else one safe line saying what went wrong.
    """

    async def ask() -> None:
        brain = OpenAIBrain(_ProbePersona(), None, {**settings, "max_tokens": 8}, api_key=api_key)
        try:
            async for _ in brain.stream(UserTurn("Say hello.")):
                break
        finally:
            await brain.aclose()

    try:
        asyncio.run(ask())
    except LLMError as exc:
        return exc.message
    return None


def _delta(chunk: Any) -> tuple[str, bool]:
    """The text in one stream chunk, and whether it finished the reply. Tolerates junk."""
    text = ""
    done = False
    for choice in getattr(chunk, "choices", None) or ():
        content = getattr(getattr(choice, "delta", None), "content", None)
        if isinstance(content, str):
            text += content
        if getattr(choice, "finish_reason", None):
            done = True
    return text, done


def _retry_delay(exc: Exception, attempt: int) -> float:
    """Honour Retry-After; otherwise back off exponentially from RETRY_BASE_S."""
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        with contextlib.suppress(ValueError):
            return max(float(header), 0.0)  # too long for the deadline: not retried
    return RETRY_BASE_S * (2**attempt)
