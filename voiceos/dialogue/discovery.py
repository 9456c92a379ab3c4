"""Finding a local OpenAI-compatible server (Ollama, LM Studio, llama.cpp, vLLM) by itself.

Only ports on 127.0.0.1 are ever asked, so nothing leaves the machine: the probe list is
port numbers, never hosts. Each port gets one `GET /v1/models` with a short deadline, all at
once. The first port in the list whose server has `[llm] model` wins; failing that, the
first with any chat model, and the line naming it says the configured model is missing.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT_S = 1.5
"""A local server answers /v1/models in milliseconds; a busy one gets this long."""
KNOWN_PORTS: dict[int, str] = {
    11434: "Ollama",
    1234: "LM Studio",
    8080: "a llama.cpp server",
    8000: "vLLM",
}
_NOT_CHAT = ("embed", "bge-", "minilm", "rerank", "whisper", "tts", "clip", "e5-")


@dataclass(frozen=True)
class FoundServer:
    """A local server that answered, and the model chosen on it."""

    port: int
    model: str
    models: tuple[str, ...]
    """Every model it listed."""
    missing: str = ""
    """The model the user configured, when no server found has it (else "")."""

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/v1"

    @property
    def kind(self) -> str:
        """What usually listens on this port ("Ollama"), or "a local server"."""
        return KNOWN_PORTS.get(self.port, "a local server")

    def describe(self) -> str:
        where = f"{self.kind} at {LOOPBACK}:{self.port}, model {self.model!r}"
        if self.missing:
            where += f" (it has no {self.missing!r}, your [llm] model)"
        return where


def pick_model(models: Sequence[str], wanted: str = "") -> str | None:
    """The configured model when the server has it, else its first chat model."""
    if wanted and wanted in models:
        return wanted
    chat = [m for m in models if not any(tag in m.lower() for tag in _NOT_CHAT)]
    return chat[0] if chat else None


def _model_ids(body: Any) -> list[str]:
    """Model ids from an OpenAI `/v1/models` answer; tolerates odd shapes."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        data = body.get("models") if isinstance(body, dict) else None  # Ollama's /api/tags
    ids = []
    for item in data or ():
        if isinstance(item, dict):
            name = item.get("id") or item.get("name") or item.get("model")
            if isinstance(name, str) and name.strip():
                ids.append(name.strip())
    return ids


async def _models_on(client: Any, port: int) -> list[str] | None:
    """The models a server on `port` lists, or None when nothing usable answers."""
    url = f"http://{LOOPBACK}:{port}/v1/models"
    try:
        response = await client.get(url)
    except Exception as exc:  # refused, reset, timed out: nobody usable there
        logger.debug("discovery: port %d: %s", port, type(exc).__name__)
        return None
    if response.status_code != 200:
        logger.debug("discovery: port %d answered %d", port, response.status_code)
        return None
    try:
        return _model_ids(response.json())
    except ValueError:
        return None


async def find_server(
    ports: Iterable[int], wanted_model: str = "", timeout_s: float = PROBE_TIMEOUT_S
) -> FoundServer | None:
    """Probe `ports` on 127.0.0.1 at once; the server to use, or None.

    `wanted_model` is the model the user configured ("" when they set none): the first port
    whose server lists it wins; otherwise the first port with a chat model.
    """
    ports = list(dict.fromkeys(int(p) for p in ports))
    if not ports:
        return None
    # Imported off the event loop: a conversation may be playing or listening meanwhile.
    httpx2 = await asyncio.to_thread(importlib.import_module, "httpx2")
    timeout = httpx2.Timeout(timeout_s)
    # trust_env=False: a proxy from the environment must never see these requests.
    async with httpx2.AsyncClient(timeout=timeout, trust_env=False) as client:
        answers = await asyncio.gather(*(_models_on(client, p) for p in ports))
    listed = [(port, models) for port, models in zip(ports, answers, strict=True) if models]
    found = next(
        (FoundServer(p, wanted_model, tuple(m)) for p, m in listed if wanted_model in m), None
    )
    for port, models in listed:
        if found is not None:
            break
        model = pick_model(models)
        if model is not None:
            found = FoundServer(port, model, tuple(models), missing=wanted_model)
    if found is not None:
        logger.info("discovery: found %s", found.describe())
    return found


def find_server_now(
    ports: Iterable[int], wanted_model: str = "", timeout_s: float = PROBE_TIMEOUT_S
) -> FoundServer | None:
    """find_server for code that is not async (doctor)."""
    return asyncio.run(find_server(ports, wanted_model, timeout_s))
