"""Voice mode's echo cancellation and barge-in on loudspeakers, built from the [echo] settings.

Only a real speaker gets a canceller: muted runs, file mode and a missing device keep the
microphone path exactly as it was.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from voiceos.audio.delay import EchoDelayTracker
from voiceos.audio.echo import EchoError, open_canceller, open_detector
from voiceos.audio.echostage import EchoStage, Residue
from voiceos.audio.reference import ReferenceTap
from voiceos.config import Config
from voiceos.interrupting import Interrupter
from voiceos.listen.bargein import BargeInPolicy, BargeInSettings, residue_for
from voiceos.listening import Pending
from voiceos.types import AudioChunk, Speaker

logger = logging.getLogger(__name__)

HEADSET_HINT = "use a headset, or lower the speaker volume and move the microphone away from it"


@dataclass
class EchoSetup:
    """The stage in front of the endpointer, and the barge-in driver, when there are any."""

    stage: EchoStage | None = None
    interrupter: Interrupter[Pending] | None = None
    notice: str | None = None
    """One line for the user when barge-in stays off for a reason they can fix."""

    def chunks(self, source: AsyncIterator[AudioChunk]) -> AsyncIterator[AudioChunk]:
        return source if self.stage is None else self.stage.chunks(source)


def build_echo(config: Config, speaker: Speaker, interrupt: Callable[[], None]) -> EchoSetup:
    """Cancel the echo of `speaker` when it is a real device and [echo] cancel is on."""
    player = getattr(speaker, "player", None)
    if player is None or not config["echo.cancel"]:
        return EchoSetup()
    try:
        canceller = open_canceller(config["echo.backend"], config["echo.tail_ms"])
    except EchoError as exc:
        return EchoSetup(notice=f"Barge-in is off: {exc}. Or {HEADSET_HINT}.")
    detector = None
    if config["echo.barge_in"]:
        try:
            detector = open_detector(config["echo.detector"], config["echo.tail_ms"])
        except EchoError as exc:
            canceller.close()
            return EchoSetup(notice=f"Barge-in is off: {exc}. Or {HEADSET_HINT}.")
    tap = ReferenceTap()
    player.tap = tap
    settings = BargeInSettings(
        residue=residue_for(canceller.name), min_erle_db=config["echo.min_erle_db"]
    )
    stage = EchoStage(
        canceller,
        tap,
        config["echo.delay_ms"],
        config["echo.tail_ms"],
        gate=Residue(),  # stricter than the hold's: Silero hears speech in a faint residue
        detector=detector,
        tracker=None if detector is None else EchoDelayTracker(),
    )
    if not config["echo.barge_in"]:
        return EchoSetup(stage)
    policy = BargeInPolicy(settings)
    logger.info("echo cancelled with %s; barge-in on", config["echo.backend"])

    def playing() -> str:
        return str(getattr(speaker, "playing", ""))

    return EchoSetup(stage, Interrupter(stage, policy, player.hold, interrupt, playing))
