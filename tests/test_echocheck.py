"""The cancellation check on its own: her unexplained voice counted, barge-in paused and on."""

from __future__ import annotations

import pytest

from voiceos.listen.echocheck import CancellationCheck


def _check() -> CancellationCheck:
    return CancellationCheck(chunks=100, max_share=0.08, well_share=0.04)


def _full(explained: bool = True) -> CancellationCheck:
    """A check whose window is full of her voice, all explained or none."""
    check = _check()
    for _ in range(100):
        check.chunk(True, explained)
    return check


def test_nothing_is_judged_until_the_window_is_full() -> None:
    check = _check()
    for _ in range(99):
        assert check.chunk(True, False)  # all unexplained, but too few seen
    assert check.share == 1.0
    assert not check.chunk(True, False)


def test_a_share_over_the_bar_pauses_and_a_lower_one_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = _check()
    with caplog.at_level("INFO", logger="voiceos.listen.echocheck"):
        for k in range(100):
            check.chunk(True, k % 10 != 0)  # 10% unexplained
        assert not check.well
        assert "barge-in paused: her echo is not cancelled well enough here (10%" in caplog.text
        for k in range(100):
            check.chunk(True, k % 20 != 0)  # 5%: under the bar, not yet well enough
        assert not check.well
        for _ in range(100):
            check.chunk(True, True)
        assert check.well and "barge-in on again" in caplog.text


def test_the_user_is_told_once_when_barge_in_pauses_and_once_it_is_back_for_good() -> None:
    """On the lab's harder path barge-in paused and came back six times in five minutes:
    the user hears of the pause once, and of its end only once it has lasted two windows
    of her voice."""
    check = _check()
    assert check.news() is None
    told = []
    for window in range(8):
        for k in range(100):
            if window in (0, 2):
                check.chunk(True, k % 10 != 0)  # 10% unexplained: paused
            else:
                check.chunk(True, True)  # on again after its first window
            told.append(check.news())
    lines = [(n, line) for n, line in enumerate(told) if line]
    # Paused at the end of the first window, not told of its return in the second nor of
    # the second pause; back at about 4% in the fourth window, told two windows later.
    assert len(lines) == 2 and lines[0][0] == 99 and 500 <= lines[1][0] < 600, lines
    assert lines[0][1].startswith("barge-in paused") and "headset" in lines[0][1]
    assert lines[1][1].startswith("barge-in is on again")
    assert not check.well or check.news() is None


def test_her_pauses_are_not_counted() -> None:
    check = _full()
    for _ in range(500):
        assert check.chunk(False, False)  # unexplained sound between her sentences
    assert check.share == 0.0


def test_the_run_that_held_her_for_the_user_counts_as_explained() -> None:
    check = _full()
    for _ in range(3):
        check.chunk(True, False)
    check.chunk(False, False)  # a pause inside the run: not counted, run goes on
    check.held()
    assert check.share == pytest.approx(0.03)
    check.was_the_user()
    assert check.share == 0.0
    check.was_the_user()  # once only: nothing else is flipped
    check.chunk(True, False)
    check.was_the_user()
    assert check.share == pytest.approx(0.01)


def test_an_explained_chunk_ends_the_run() -> None:
    check = _full()
    check.chunk(True, False)
    check.chunk(True, True)
    check.chunk(True, False)
    check.held()  # the run that held her is the latest chunk alone
    check.was_the_user()
    assert check.share == pytest.approx(0.01)


def test_while_paused_no_run_is_kept_for_a_hold() -> None:
    check = _full(explained=False)
    assert not check.well
    check.held()
    check.was_the_user()
    assert check.share == 1.0
