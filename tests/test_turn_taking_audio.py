"""Turn taking through the virtual microphone, with real recorded speech.

- Paused sentences (real clips cut after words that do not end a thought, with their own
  room tone put back) become one turn each, with the whole transcript and one reply.
- Speech that resumes while voiceos is still thinking joins the turn: one reply, one user
  turn in the history, muted or not.
- Speech that resumes just after the turn ended (100-400 ms) joins it too.
- A finished question's transcript is ready sooner than with silence alone, in one run.
- A broken or missing end-of-turn model falls back to silence mode with one line.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from faultkit import run_voiceos, served
from lab import PrivateLab
from llm_server import Request, Response, reply_events
from paused_speech import Paused, paused_clips, room_tone
from speech_data import clip
from voiceproc import VoiceosProcess, natural_clip

from voiceos.audio.pcm import write_wav

RATE = 16000
TURN_LOGGERS = (
    "voiceos.listening",
    "voiceos.listen",
    "voiceos.interrupting",
    "voiceos.stt.whisper",
)
"""Whose debug lines tell how turns were ended, joined or taken for a request to stop."""

pytestmark = pytest.mark.audio


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()


def share_heard(reference: str, heard: str) -> float:
    """The share of the reference's words found in what was heard."""
    said, got = words(reference), set(words(heard))
    return sum(w in got for w in said) / max(1, len(said))


def covers(paused: Paused, heard: str) -> bool:
    """Most of the sentence, and something of each part between its pauses, was heard.

    (tiny.en mishears some words whatever the pauses: "ill-disposed" as "old-sposed".)
    """
    parts_heard = all(share_heard(part, heard) > 0 for part in paused.halves)
    return share_heard(paused.transcript, heard) >= 0.7 and parts_heard


@pytest.fixture
def voice_env(private_lab: PrivateLab, isolated_env: dict[str, str]) -> dict[str, str]:
    return {**isolated_env, **private_lab.env, "VOICEOS_LLM_BACKEND": "offline"}


def _listening(vo: VoiceosProcess, after: int) -> int:
    index, _ = vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=120)
    return index + 1


def _greeted(vo: VoiceosProcess) -> tuple[int, int]:
    """Wait for voiceos to listen and greet; (the stderr line after "[listening]", the
    number of replies so far)."""
    err_at = _listening(vo, 0)
    vo.wait_for(r"^Samantha: .*\S", timeout_s=60)  # the greeting (stdout is read apart)
    return err_at, len(vo.replies())


@pytest.mark.timeout(900)  # 20 clips are about 110 s of audio, fed in real time
def test_paused_sentences_are_one_turn_each(
    private_lab: PrivateLab, voice_env: dict[str, str]
) -> None:
    clips = paused_clips()
    assert len(clips) >= 20
    with VoiceosProcess(["--mute"], voice_env) as vo:
        err_at = _listening(vo, 0)
        for number, paused in enumerate(clips):
            lead = np.zeros(RATE // 8, np.int16)
            private_lab.feed_mic(np.concatenate([lead, paused.samples, lead]))
            vo.wait_until(lambda n=number: len(vo.replies()) > n, f"a reply to {paused.name}")
            err_at = _listening(vo, err_at)
        # Room for a late second turn (the longest wait is max_silence_ms, 2 s).
        private_lab.feed_mic(room_tone(clips[0].samples, 2.5, seed=1))
        _listening(vo, len(vo.err) - 1)
        heard, replies = vo.heard(), vo.replies()[1:]  # after the greeting
    # One split in 20 is tolerated: int8 decoding differs between CPUs, and a cut part
    # that tiny.en hears as a whole sentence ("Eight of spades.") can end a turn.
    assert len(clips) <= len(replies) <= len(clips) + 1, "\n".join(heard)
    missed = [p.name for p in clips if not any(covers(p, h) for h in heard)]
    assert len(missed) <= 1, (missed, heard)


def _slow_thinker(requests: list[str]) -> object:
    """An OpenAI-compatible server that thinks for 2 s, then answers in one sentence."""

    async def answer(request: Request) -> Response:
        requests.append(json.dumps(request.json()))
        await asyncio.sleep(2.0)
        return Response(events=reply_events(["I see. ", "Tell me more about that."]))

    return answer


@dataclass
class Thinker:
    """voiceos's settings for a slow-thinking LLM server, and the requests it received."""

    env: dict[str, str]
    requests: list[str]

    def assert_one_merged_turn(self, vo: VoiceosProcess, greeted: int) -> None:
        """One reply, to both parts as one user turn; the first part alone never answered."""
        first, second = clip("another_engineer"), clip("testing_routine")
        # Why a turn was ended, withdrawn or taken for a request to stop, if it fails.
        why = f"{vo.transcript()}\n{vo.log_of(*TURN_LOGGERS, last=60)}"
        done = [r for r in vo.replies()[greeted:] if "[interrupted]" not in r]
        assert len(done) == 1, why
        assert len(self.requests) == 2, f"the first part's reply was not withdrawn\n{why}"
        last = json.loads(self.requests[-1])["messages"]
        users = [m["content"] for m in last if m["role"] == "user"]
        assert share_heard(first.transcript, users[-1]) >= 0.7, users[-1]
        assert share_heard(second.transcript, users[-1]) >= 0.7, users[-1]
        # History holds one user turn: the first part alone was never recorded.
        assert sum("engineer" in u.lower() for u in users) == 1, users


@pytest.fixture
def thinker(voice_env: dict[str, str]) -> Iterator[Thinker]:
    requests: list[str] = []
    with served(_slow_thinker(requests)) as server:  # type: ignore[arg-type]
        env = {
            **voice_env,
            "VOICEOS_LLM_BACKEND": "openai",
            "VOICEOS_LLM_BASE_URL": server.base_url,
        }
        yield Thinker(env, requests)


@pytest.mark.parametrize("mute", [True, False], ids=["muted", "spoken"])
def test_speech_resuming_while_thinking_joins_the_turn(
    private_lab: PrivateLab, thinker: Thinker, mute: bool
) -> None:
    a, b = clip("another_engineer").samples(), clip("testing_routine").samples()
    # A finished sentence, then 1.0 s of its own room tone: the turn ends a few hundred ms
    # into that silence (when its transcript confirms it), and the user goes on.
    stream = np.concatenate([np.zeros(RATE // 4, np.int16), a, room_tone(a, 1.0, 3), b])
    stream = np.concatenate([stream, np.zeros(RATE, np.int16)])
    with VoiceosProcess(["--debug", *(["--mute"] if mute else [])], thinker.env) as vo:
        err_at, greeted = _greeted(vo)
        private_lab.feed_mic(stream)
        vo.wait_until(lambda: len(vo.replies()) > greeted, "a reply", timeout_s=90)
        _listening(vo, err_at)
        assert vo.close() == 0
    thinker.assert_one_merged_turn(vo, greeted)


def _speech_from(samples: np.ndarray, lead_s: float = 0.05, level: int = 800) -> np.ndarray:
    """`samples` from `lead_s` before its first loud sample."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > level)
    start = max(0, int(loud[0]) - int(lead_s * RATE)) if loud.size else 0
    return samples[start:]


@pytest.mark.parametrize("mute", [True, False], ids=["muted", "spoken"])
def test_speech_resuming_just_after_the_turn_ended_joins_it(
    private_lab: PrivateLab, thinker: Thinker, mute: bool
) -> None:
    a = clip("another_engineer").samples()
    opening = np.concatenate([np.zeros(RATE // 4, np.int16), a, room_tone(a, 1.5, 5)])
    going_on = _speech_from(clip("testing_routine").samples())
    with VoiceosProcess(["--debug", *(["--mute"] if mute else [])], thinker.env) as vo:
        err_at, greeted = _greeted(vo)
        feeding = private_lab.feed_mic(opening, wait=False)
        assert feeding is not None
        # The turn has ended when voiceos starts thinking about it; the user goes on
        # at once: paplay's start and the clip's 50 ms lead put the onset about
        # 100-300 ms after the end of the turn.
        vo.wait_for(r"\[thinking\]", stream="err", after=err_at, timeout_s=60)
        private_lab.feed_mic(going_on)
        feeding.wait(timeout=30)
        vo.wait_until(lambda: len(vo.replies()) > greeted, "a reply", timeout_s=90)
        _listening(vo, err_at)
        assert vo.close() == 0
    thinker.assert_one_merged_turn(vo, greeted)


READY = re.compile(r"timing: end of turn → transcript (\d+) ms")


def test_a_finished_question_is_transcribed_sooner_than_with_silence_alone(
    private_lab: PrivateLab, voice_env: dict[str, str]
) -> None:
    # Both modes in one run, on the same questions (Piper's voice: tiny.en hears it).
    questions = [natural_clip(q) for q in ("What time is it?", "What day is it today?")] * 2
    ready: dict[str, list[int]] = {}
    for mode in ("smart", "silence"):
        env = {**voice_env, "VOICEOS_LISTEN_END_OF_TURN": mode}
        with VoiceosProcess(["--mute", "--debug"], env) as vo:
            err_at = _listening(vo, 0)
            for question in questions:
                private_lab.feed_mic(question)
                index, line = vo.wait_for(READY.pattern, stream="err", after=err_at, timeout_s=60)
                found = READY.search(line)
                assert found is not None
                ready.setdefault(mode, []).append(int(found.group(1)))
                err_at = _listening(vo, index)
            assert vo.close() == 0
    medians = {mode: sorted(ms)[len(ms) // 2] for mode, ms in ready.items()}
    assert medians["smart"] < medians["silence"], ready


def _fake_pipecat(root: Path, model: bytes | None) -> dict[str, str]:
    """A `pipecat` package earlier on the path, with a broken model or none."""
    data = root / "pipecat" / "audio" / "turn" / "smart_turn" / "data"
    data.mkdir(parents=True)
    (root / "pipecat" / "__init__.py").write_text("")
    if model is not None:
        (data / "smart-turn-v3.2-cpu.onnx").write_bytes(model)
    return {"PYTHONPATH": str(root)}


@pytest.mark.parametrize("model", [b"\x08\x07garbage" * 500, None], ids=["broken", "missing"])
def test_a_bad_model_means_silence_mode_and_one_line(
    isolated_env: dict[str, str], tmp_path: Path, model: bytes | None
) -> None:
    recording = tmp_path / "in.wav"
    write_wav(recording, clip("another_engineer").samples(), RATE)
    env = {**isolated_env, **_fake_pipecat(tmp_path / "site", model)}
    env["PYTHONPATH"] += ":" + str(Path(__file__).resolve().parent.parent)
    run = run_voiceos(["--input-wav", str(recording)], env)
    assert run.code == 0, run.err
    [notice] = run.notices()
    assert "Smart Turn" in notice and "500 ms of silence instead" in notice, notice
    assert "Traceback" not in run.err
    assert len(run.replies()) == 1
