"""The doctor's echo measurement on synthetic echo paths (no devices), and its verdict.

The chirp is published as the player would publish it, with device times; the "mic" is its
echo through a known path. The measured delay is what is left after those times, so when
the times are off (a busy machine's PortAudio stamps jitter by -30 to +200 ms) it moves by
exactly that much, early or late.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from echo_paths import HARD, LAB_LIKE, EchoPath

from voiceos import config as config_mod
from voiceos.audio.calibrate import EchoMeasurement, chirp, measure
from voiceos.audio.echo import open_canceller
from voiceos.audio.reference import ReferenceTap
from voiceos.commands.doctor_echo import echo_check
from voiceos.types import AudioChunk

RATE = 16000
BLOCK = 512
T0 = 1000.0
"""Capture time of the recording's first sample (monotonic seconds, arbitrary)."""


def _recording(path: EchoPath, stamp_error_s: float) -> tuple[list[AudioChunk], ReferenceTap]:
    """0.3 s of quiet, a 1.5 s chirp, 0.6 s of tail: played and heard through `path`.

    The player's stamps are off by `stamp_error_s` (positive: it claims a later time)."""
    probe = chirp(1.5, RATE)
    played = np.concatenate([np.zeros(int(0.3 * RATE), np.int16), probe])
    played = np.concatenate([played, np.zeros(int(0.6 * RATE), np.int16)])
    tap = ReferenceTap()
    for start in range(0, len(played), BLOCK):
        tap.publish(played[start : start + BLOCK], RATE, T0 + start / RATE + stamp_error_s)
    rng = np.random.default_rng(7)
    mic = path.apply(played) + rng.normal(0, 30, len(played)).astype(np.int16)
    chunks = [
        AudioChunk(mic[i : i + BLOCK], RATE, T0 + i / RATE) for i in range(0, len(mic), BLOCK)
    ]
    return chunks, tap


@pytest.mark.parametrize("path", [LAB_LIKE, HARD], ids=["lab-like", "hard"])
@pytest.mark.parametrize("stamp_error_s", [0.0, 0.15, -0.2])
def test_the_echo_delay_is_found_whichever_way_the_stamps_are_off(
    path: EchoPath, stamp_error_s: float
) -> None:
    chunks, tap = _recording(path, stamp_error_s)
    canceller = open_canceller("speex")
    try:
        m = measure(chunks, tap, canceller)
    finally:
        canceller.close()
    expected_ms = path.delay_ms - stamp_error_s * 1000
    assert abs(m.delay_ms - expected_ms) <= 2, (m, expected_ms)
    assert m.peak > 0.3, m
    assert abs(m.echo_db - path.gain_db) < 6, m  # the echo's level against what was played


def test_no_echo_is_reported_as_faint_and_untimed() -> None:
    chunks, tap = _recording(LAB_LIKE, 0.0)
    rng = np.random.default_rng(3)
    quiet = [
        AudioChunk(rng.normal(0, 30, BLOCK).astype(np.int16), RATE, c.timestamp_s) for c in chunks
    ]
    canceller = open_canceller("speex")
    try:
        m = measure(quiet, tap, canceller)
    finally:
        canceller.close()
    assert m.echo_db < -45, m
    assert m.peak < 0.15, m


def _doctor_config(tmp_path: Path) -> config_mod.Config:
    user = tmp_path / "user.toml"
    user.write_text("")
    return config_mod.load(user, env={})


class Probes:
    """Stands in for the chirp played and measured: the measures given, in turn."""

    def __init__(self, *measures: EchoMeasurement) -> None:
        self.measures = list(measures)
        self.played = 0

    def __call__(self, config: config_mod.Config) -> EchoMeasurement:
        self.played += 1
        return self.measures.pop(0)


STEPPED = EchoMeasurement(delay_ms=42.0, echo_db=4.0, erle_db=4.0, peak=0.4)
"""A step of the clocks during the chirp (seen once on the lab)."""
GOOD = EchoMeasurement(delay_ms=31.0, echo_db=-1.0, erle_db=39.0, peak=0.9)


def test_a_spoilt_measure_is_taken_again_and_the_good_one_reported(tmp_path: Path) -> None:
    config = _doctor_config(tmp_path)
    probes = Probes(STEPPED, GOOD)
    ok, detail, fix = echo_check(config, probes)
    assert ok and probes.played == 2 and fix == ""
    assert "echo delay 31 ms" in detail and "barge-in is safe" in detail
    assert "delay_ms = 31" in (tmp_path / "user.toml").read_text()


def test_a_safe_path_is_measured_once_and_an_unsafe_one_three_times(tmp_path: Path) -> None:
    config = _doctor_config(tmp_path)
    once = Probes(GOOD, STEPPED)
    assert echo_check(config, once)[0] and once.played == 1
    worse = EchoMeasurement(delay_ms=90.0, echo_db=0.0, erle_db=2.0, peak=0.3)
    untimed = EchoMeasurement(delay_ms=0.0, echo_db=0.0, erle_db=20.0, peak=0.05)
    thrice = Probes(worse, untimed, STEPPED)
    ok, detail, fix = echo_check(config, thrice)
    assert not ok and thrice.played == 3 and fix
    assert "echo delay 42 ms" in detail and "not safe" in detail  # the best of the three
