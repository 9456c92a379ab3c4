"""What can go wrong with an OpenAI-compatible server, in words that are safe to show.

Every failure becomes an `LLMError` with a kind and one short line. The line never holds
the API key or an Authorization header, whatever the server or the client library said.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


class LLMErrorKind(enum.Enum):
    NO_KEY = "no API key"
    UNREACHABLE = "unreachable"
    AUTH = "key refused"
    MODEL = "unknown model"
    TIMEOUT = "timed out"
    RATE_LIMIT = "rate limited"
    SERVER = "server error"
    BROKEN_STREAM = "broken stream"


class LLMError(Exception):
    """A failure of the language server, with a short message that is safe to show."""

    def __init__(self, kind: LLMErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        """The HTTP status when the server answered with one."""

    @property
    def retryable(self) -> bool:
        """A 429 or 5xx: worth another try while no words have been spoken."""
        return self.status is not None and (self.status == 429 or self.status >= 500)

    def __repr__(self) -> str:
        return f"LLMError({self.kind.name}, {self.message!r})"


_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s,;\"'}]+")
_HEADER = re.compile(
    r"(?i)\b(authorization|api[-_ ]?key)([\"']?\s*[:=]\s*[\"']?)(?!bearer)[^\s,;\"'}]+"
)
_KEYLIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` on one line, at most 200 characters, with keys and auth headers masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _BEARER.sub(lambda m: f"{m.group(1)}***", text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _KEYLIKE.sub("sk-***", text)
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def where(base_url: str | None) -> str:
    """The server as scheme://host:port, without any user:password part or path."""
    if not base_url:
        return "api.openai.com"
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured base_url"
    return f"{parts.scheme}://{host}{port}" if parts.scheme else f"{host}{port}"


_MISSING = ("not found", "does not exist", "not exist", "unknown", "invalid model", "no such")
"""Words servers use when refusing a model name (OpenAI, Ollama, vLLM, LM Studio)."""


def _body_text(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if body is None:
        return str(getattr(exc, "message", "") or "")
    try:
        return json.dumps(body) if not isinstance(body, str) else body
    except (TypeError, ValueError):
        return str(body)


def classify(exc: Exception, *, server: str, model: str, streaming: bool) -> LLMError:
    """Map an exception from the openai client (or a stream) to an LLMError."""
    import openai

    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return LLMError(LLMErrorKind.TIMEOUT, f"the language server at {server} timed out")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        body = _body_text(exc).lower()
        mentions_model = "model" in body and any(hint in body for hint in _MISSING)
        if status in (401, 403):
            return LLMError(
                LLMErrorKind.AUTH,
                f"the language server at {server} refused the API key (HTTP {status})",
                status,
            )
        if status in (400, 404, 422) and mentions_model:
            return LLMError(
                LLMErrorKind.MODEL,
                f"the language server at {server} has no model {model!r}",
                status,
            )
        if status == 404:
            return LLMError(
                LLMErrorKind.SERVER,
                f"no chat endpoint at {server} (HTTP 404); [llm] base_url usually ends in /v1",
                status,
            )
        if status == 429:
            return LLMError(
                LLMErrorKind.RATE_LIMIT, f"the language server at {server} is busy (HTTP 429)", 429
            )
        return LLMError(
            LLMErrorKind.SERVER, f"the language server at {server} failed (HTTP {status})", status
        )
    if isinstance(exc, openai.APIConnectionError):
        if streaming:
            return LLMError(LLMErrorKind.BROKEN_STREAM, f"the connection to {server} broke off")
        return LLMError(LLMErrorKind.UNREACHABLE, f"cannot reach the language server at {server}")
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return LLMError(LLMErrorKind.BROKEN_STREAM, f"the language server at {server} gave up")
    if isinstance(exc, openai.OpenAIError):
        return LLMError(
            LLMErrorKind.NO_KEY,
            "no API key: set OPENAI_API_KEY, or [llm] base_url for a local server",
        )
    if isinstance(exc, ValueError):  # malformed JSON in the stream
        return LLMError(LLMErrorKind.BROKEN_STREAM, f"the language server at {server} sent garbage")
    logger.debug("unexpected LLM failure: %s", type(exc).__name__)
    kind = LLMErrorKind.BROKEN_STREAM if streaming else LLMErrorKind.UNREACHABLE
    return LLMError(kind, f"the language server at {server} failed ({type(exc).__name__})")
