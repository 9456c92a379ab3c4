"""Barge-in on loudspeakers, end to end: the virtual speaker is looped back into the mic.

voiceos runs as a subprocess on this test's own virtual devices with an acoustic echo path
(`PrivateLab.echo_path`, PulseAudio's loopback: 30-60 ms, like a laptop's speakers and
mic). Nothing is configured: cancellation and barge-in are on by default on a real speaker.
User speech is real recordings from tests/data/speech; backchannels the corpus lacks
("yeah", "mm-hmm", "okay", "uh-huh") and "wait" are espeak-ng in several voices.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from lab import PrivateLab, SpeakerRecorder
from speech_data import clip
from voiceproc import VoiceosProcess, synthesize_clip

from voiceos.stt.wer import normalise_words

RATE = 16000
HELP = "What can you do?"
"""Its answer is the longest reply voiceos has offline: about 15 s of speech."""

pytestmark = pytest.mark.audio


def cut(name: str, start_s: float, end_s: float) -> np.ndarray:
    """A word cut from a real recording, with a little margin (positions measured by level)."""
    samples = clip(name).samples()
    return samples[int(max(0.0, start_s - 0.12) * RATE) : int((end_s + 0.15) * RATE)]


REAL_YES = ("kws_yes_no_go_stop", 0.32, 0.77)
REAL_NO = ("kws_yes_no_go_stop", 1.05, 1.41)
REAL_STOP = ("kws_yes_no_go_stop", 3.14, 3.68)
REAL_RIGHT = ("kws_right_left_up", 0.34, 0.83)


@pytest.fixture
def echo_env(private_lab: PrivateLab, isolated_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """This test's own speaker and mic, with the speaker echoing into the mic."""
    private_lab.echo_path(latency_ms=30)
    yield {**isolated_env, **private_lab.env}


def _listening(vo: VoiceosProcess, after: int = 0) -> None:
    vo.wait_for(r"\[listening\]", stream="err", after=after, timeout_s=240)


def _reply_starts(rec: SpeakerRecorder) -> int:
    """Wait until she is audibly speaking; the lab sample where it began."""
    return rec.wait_for_sound(rec.sample_count(), threshold=1000, timeout_s=60)


def _ask_and_wait(lab: PrivateLab, vo: VoiceosProcess, text: str) -> str:
    out_before, err_before = len(vo.out), len(vo.err)
    lab.feed_mic(synthesize_clip(text))
    vo.wait_for(r"^Samantha: .*\S", after=out_before, timeout_s=120)
    _listening(vo, after=err_before)
    return vo.out[-1] if vo.out else ""


def test_long_replies_on_loudspeakers_play_to_their_end(
    private_lab: PrivateLab, echo_env: dict[str, str]
) -> None:
    replies = 10
    with private_lab.recorder() as rec, VoiceosProcess(["--debug"], echo_env) as vo:
        _listening(vo)
        start = rec.sample_count()
        for _ in range(replies):
            _ask_and_wait(private_lab, vo, HELP)
        spoken_s = (rec.sample_count() - start) / RATE
        assert vo.close() == 0
    said = vo.replies()[1:]  # after the greeting
    assert len(said) == replies, vo.out
    assert not [r for r in said if r.endswith("[interrupted]")], said
    # Her own voice never became a turn: every turn is the question that was asked.
    assert [h.lower() for h in vo.heard()] == ["what can you do?"] * replies, vo.heard()
    assert spoken_s > replies * 10  # the replies were long and really played
    assert any("barge-in armed" in line for line in vo.err)  # barge-in was on all along


def test_a_user_talking_over_her_stops_her_and_is_answered(
    private_lab: PrivateLab, echo_env: dict[str, str]
) -> None:
    user = clip("another_engineer")
    with private_lab.recorder() as rec, VoiceosProcess(["--debug"], echo_env) as vo:
        _listening(vo)
        _ask_and_wait(private_lab, vo, HELP)  # the canceller learns the room on a first reply
        out_before = len(vo.out)
        private_lab.feed_mic(synthesize_clip(HELP))
        rec.wait_for_samples(_reply_starts(rec) + 3 * RATE)
        private_lab.feed_mic(user.samples())  # speech plus her echo at the mic
        vo.wait_for(r"\[interrupted\]", after=out_before, timeout_s=60)
        vo.wait_for(r"^Samantha: ", after=out_before + 2, timeout_s=120)
        assert vo.close() == 0
    heard = vo.heard()
    assert len(heard) == 3, vo.out
    expected = set(normalise_words(user.transcript))
    got = set(normalise_words(heard[-1]))
    assert len(expected & got) >= 0.7 * len(expected), heard[-1]
    last_reply = vo.replies()[-1]
    assert last_reply and not last_reply.startswith("I can tell you the time"), last_reply


BACKCHANNELS = [
    ("real 'yes'", cut(*REAL_YES)),
    ("real 'right'", cut(*REAL_RIGHT)),
    ("espeak 'yeah' en-us", synthesize_clip("yeah", "en-us", 170)),
    ("espeak 'mm-hmm' en-gb", synthesize_clip("mm hmm", "en-gb", 160)),
    ("espeak 'okay' en-us+f3", synthesize_clip("okay", "en-us+f3", 170)),
    ("espeak 'uh-huh' en-029", synthesize_clip("uh huh", "en-029", 160)),
]


@pytest.mark.xfail(
    reason="flaky on the loaded lab: one false stop in 1 of 3 runs, and clips taken as turns "
    "in another (see /work/notes/issue-10.md)",
    strict=False,
)
def test_backchannels_let_her_go_on(private_lab: PrivateLab, echo_env: dict[str, str]) -> None:
    with private_lab.recorder() as rec, VoiceosProcess(["--debug"], echo_env) as vo:
        _listening(vo)
        _ask_and_wait(private_lab, vo, HELP)
        fed = 0
        for group in (BACKCHANNELS[:3], BACKCHANNELS[3:]):
            out_before, err_before = len(vo.out), len(vo.err)
            private_lab.feed_mic(synthesize_clip(HELP))
            at = _reply_starts(rec) + 2 * RATE
            for _, samples in group:
                rec.wait_for_samples(at)
                if len(vo.replies()) > len([ln for ln in vo.out[:out_before] if "Samantha" in ln]):
                    break  # her reply is over: a "yeah" now would be a turn of its own
                private_lab.feed_mic(samples)
                fed += 1
                at = rec.sample_count() + int(1.5 * RATE)
            vo.wait_for(r"^Samantha: ", after=out_before, timeout_s=120)
            _listening(vo, after=err_before)
            assert not vo.replies()[-1].endswith("[interrupted]"), (group, vo.err[-30:])
        assert vo.close() == 0
    assert fed >= 4, fed  # most backchannels were said while she spoke
    assert [h.lower() for h in vo.heard()] == ["what can you do?"] * 3, vo.heard()


SHORT_WORD = pytest.mark.xfail(
    reason="known limit: a short word said over her was missed in about half the lab runs on "
    "the loaded machine (see /work/notes/issue-10.md); a sentence over her stops her",
    strict=False,
)
INTERRUPTIONS = [
    pytest.param("real 'stop'", cut(*REAL_STOP), marks=SHORT_WORD),
    pytest.param("real 'no'", cut(*REAL_NO), marks=SHORT_WORD),
    pytest.param("espeak 'wait' en-us", synthesize_clip("wait", "en-us", 160), marks=SHORT_WORD),
    pytest.param(
        "espeak 'hold on' en-gb", synthesize_clip("hold on", "en-gb", 160), marks=SHORT_WORD
    ),
]


@pytest.mark.parametrize("name,samples", INTERRUPTIONS, ids=[p.values[0] for p in INTERRUPTIONS])
def test_wait_and_stop_stop_her(
    private_lab: PrivateLab, echo_env: dict[str, str], name: str, samples: np.ndarray
) -> None:
    with private_lab.recorder() as rec, VoiceosProcess(["--debug"], echo_env) as vo:
        _listening(vo)
        _ask_and_wait(private_lab, vo, HELP)
        out_before = len(vo.out)
        private_lab.feed_mic(synthesize_clip(HELP))
        rec.wait_for_samples(_reply_starts(rec) + 3 * RATE)
        private_lab.feed_mic(samples)
        try:
            vo.wait_for(r"\[interrupted\]", after=out_before, timeout_s=60)
        finally:
            print("\n".join(line for line in vo.err if "barge" in line or "voiceos.interr" in line))
        assert vo.close() == 0


def test_doctor_measures_the_echo_path(private_lab: PrivateLab, echo_env: dict[str, str]) -> None:
    with VoiceosProcess(["doctor"], echo_env) as vo:
        vo.wait_for(r"check\(s\) failed|all checks passed", timeout_s=240)
        vo.close()
    line = next((ln for ln in vo.out if "] echo:" in ln), "")
    found = re.search(r"echo delay (\d+) ms, echo (-?\d+) dB, cancelled by (-?\d+) dB", line)
    assert found, vo.out
    delay_ms, erle_db = int(found.group(1)), int(found.group(3))
    assert abs(delay_ms - 30) <= 10, line  # the loopback's configured latency
    assert erle_db > 0, line
    assert "barge-in is" in line
    saved = (Path(echo_env["XDG_CONFIG_HOME"]) / "voiceos" / "config.toml").read_text()
    assert f"delay_ms = {delay_ms}" in saved, saved
