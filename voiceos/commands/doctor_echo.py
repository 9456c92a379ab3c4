"""`voiceos doctor`'s echo check: chirp on the speaker, record the mic, judge barge-in.

It reports the echo delay and the echo reduction the canceller reached, says whether
barge-in is safe on this speaker and microphone, and stores the delay as the echo stage's
starting estimate (`echo.delay_ms` in the user's settings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from voiceos import config as config_mod
from voiceos.audio.calibrate import EchoMeasurement, chirp, measure, record_probe
from voiceos.config import Config

logger = logging.getLogger(__name__)

PROBE_RATE_HZ = 22050
MIN_PEAK = 0.15
"""Correlation below this: no echo of the chirp was found in the recording."""
FAINT_ECHO_DB = -45.0
"""An echo this far under what was played cannot be mistaken for the user."""
UNSAFE_FIX = "lower the speaker volume, move the microphone away from the speaker, or use a headset"
PROBES = 3
"""Chirps played at most. The clocks the echo is timed by can step by 5-15 ms every few
seconds (PulseAudio: bench/echo_record.py); a step during the chirp spoils that measure
(on the lab: "echo delay 42 ms, cancelled by 4 dB" once in a test run), so a measure that
finds barge-in unsafe is taken again, and the best one is reported."""


def _run_probe(config: Config) -> EchoMeasurement:
    from voiceos.audio.echo import open_canceller
    from voiceos.audio.mic import MicSource
    from voiceos.audio.player import Player
    from voiceos.audio.reference import ReferenceTap

    probe = chirp(1.5, PROBE_RATE_HZ)
    tap = ReferenceTap()
    player = Player(config["audio.output_device"], rate_hz=PROBE_RATE_HZ)
    player.tap = tap

    async def record() -> EchoMeasurement:
        player.start()
        try:
            async with MicSource(config["audio.input_device"]) as mic:
                chunks = await record_probe(mic, player, probe, PROBE_RATE_HZ)
        finally:
            player.close()
        canceller = open_canceller(config["echo.backend"], config["echo.tail_ms"])
        try:
            return measure(chunks, tap, canceller)
        finally:
            canceller.close()

    return asyncio.run(record())


def _safe(m: EchoMeasurement, min_erle_db: float) -> bool:
    return m.echo_db < FAINT_ECHO_DB or (m.peak >= MIN_PEAK and m.erle_db >= min_erle_db)


def _measure(config: Config, probe: Callable[[Config], EchoMeasurement]) -> EchoMeasurement:
    """The first measure that finds barge-in safe, else the best of `PROBES`."""
    min_erle_db = config["echo.min_erle_db"]
    best: EchoMeasurement | None = None
    for attempt in range(1, PROBES + 1):
        m = probe(config)
        if _safe(m, min_erle_db):
            return m
        logger.info(
            "echo probe %d of %d: delay %.0f ms, correlation %.2f, cancelled by %.0f dB",
            attempt,
            PROBES,
            m.delay_ms,
            m.peak,
            m.erle_db,
        )
        if best is None or (m.peak >= MIN_PEAK, m.erle_db) > (best.peak >= MIN_PEAK, best.erle_db):
            best = m
    assert best is not None
    return best


def echo_check(
    config: Config, probe: Callable[[Config], EchoMeasurement] = _run_probe
) -> tuple[bool, str, str]:
    """(ok, detail, fix) of the echo path between the configured speaker and microphone;
    `probe` plays the chirp and measures its echo."""
    if not config["echo.cancel"]:
        return (
            True,
            "echo cancellation is off ([echo] cancel = false); barge-in needs a headset",
            "",
        )
    m = _measure(config, probe)
    if m.echo_db < FAINT_ECHO_DB:
        return (
            True,
            f"no echo of the speaker reached the microphone ({m.echo_db:.0f} dB): barge-in is safe",
            "",
        )
    if m.peak < MIN_PEAK:
        detail = f"the echo ({m.echo_db:.0f} dB) could not be timed (correlation {m.peak:.2f})"
        return False, f"{detail}: barge-in is not safe on this speaker and microphone", UNSAFE_FIX
    detail = (
        f"echo delay {m.delay_ms:.0f} ms, echo {m.echo_db:.0f} dB, cancelled by {m.erle_db:.0f} dB"
    )
    if config.user_file is not None:
        config_mod.set_value(config.user_file, "echo.delay_ms", f"{m.delay_ms:.0f}")
        detail += f" (delay saved in {config.user_file})"
    if m.erle_db < config["echo.min_erle_db"]:
        return False, f"{detail}: barge-in is not safe on this speaker and microphone", UNSAFE_FIX
    return True, f"{detail}: barge-in is safe", ""
