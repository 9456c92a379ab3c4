"""Is her echo cancelled well enough for sound to hold her?

Where the room's echo path is one neither canceller models (a strong reflection, a speaker
turned up into distortion), much of her own voice goes unexplained at the microphone, and
every stretch of it would hold her: she would stop every second for herself. This check
counts how many of her latest chunks of voice her reply could not explain; over a bar,
nothing holds her until the share is well under it again, and a line says so and what to
do. Pure: one verdict per chunk in, one answer out; no clock.

The chunks that held her for the user (a backchannel, an interruption) say nothing of the
canceller: once the policy knows it was the user, they count as explained.
"""

from __future__ import annotations

import logging
from collections import deque

logger = logging.getLogger(__name__)


class CancellationCheck:
    """Counts her unexplained chunks of voice and decides whether barge-in may hold her.

    Args:
        chunks: how many of her latest chunks of voice are counted.
        max_share: share of them unexplained above which her echo is not cancelled well
            enough (counted once `chunks` have been seen).
        well_share: share at or under which it is cancelled well enough again.
    """

    def __init__(self, chunks: int, max_share: float, well_share: float) -> None:
        self._max_share = max_share
        self._well_share = well_share
        self._explained: deque[bool] = deque(maxlen=chunks)
        """Whether her reply explained each of her latest chunks of voice."""
        self._run = 0
        """Counted chunks in the current run of unexplained ones."""
        self._held = 0
        """The latest entries that the run which held her added."""
        self.well = True
        """Her echo is cancelled well enough for anything to hold her."""
        self._told_well = True
        """What the user was last told (nothing yet: barge-in is on)."""
        self._well_for = 0
        """Chunks of her voice counted since her echo was last found cancelled well enough."""

    @property
    def share(self) -> float:
        """The share of her latest chunks of voice that went unexplained."""
        seen = self._explained
        return (len(seen) - sum(seen)) / len(seen) if seen else 0.0

    def chunk(self, counted: bool, explained: bool) -> bool:
        """One chunk watched while she plays; `counted`: her voice was playing (not a pause
        between sentences). True when sound may hold her (logged when that changes)."""
        if counted:
            self._explained.append(explained)
        well = self._judge()
        self._run = 0 if explained or not well else self._run + counted
        self._well_for = self._well_for + counted if well else 0
        return well

    def held(self) -> None:
        """The current run of unexplained chunks held her."""
        self._held, self._run = self._run, 0

    def was_the_user(self) -> None:
        """What held her was the user: its chunks count as explained. Called while she is
        held or the user's words decide, before anything else is counted."""
        for k in range(1, min(self._held, len(self._explained)) + 1):
            self._explained[-k] = True
        self._held = 0

    def news(self) -> str | None:
        """One line for the user when barge-in has paused, or is on again, since they were
        last told; None otherwise. Where her echo is cancelled about as well as the bar
        asks, it pauses and comes back every half minute or so (a room that sends her
        voice back twice, on the lab): the user is told it is on again only once it has
        stayed on for two windows of her voice (about 20 s), and told nothing between."""
        if not self.well and self._told_well:
            self._told_well = False
            return (
                "barge-in paused: the speaker's echo is not cancelled well enough here, "
                "so speaking over a reply will not stop it; lower the speaker volume, move "
                "the microphone away from it, or use a headset."
            )
        settled = self._well_for >= 2 * (self._explained.maxlen or 0)
        if self.well and not self._told_well and settled:
            self._told_well = True
            return "barge-in is on again: the speaker's echo is cancelled well enough."
        return None

    def _judge(self) -> bool:
        share = self.share
        if len(self._explained) < (self._explained.maxlen or 0):
            well = True  # too little of her voice seen to judge
        elif self.well:
            well = share <= self._max_share
        else:
            well = share <= self._well_share
        if well != self.well:
            self.well = well
            if well:
                logger.info("barge-in on again: her echo is cancelled well enough")
            else:
                logger.info(
                    "barge-in paused: her echo is not cancelled well enough here (%.0f%% of "
                    "her latest voice not explained); lower the speaker volume, move the "
                    "microphone, or use a headset",
                    100 * share,
                )
        return well
