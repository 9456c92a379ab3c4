from __future__ import annotations

import pytest
from lab import PrivateLab
from test_echo_e2e import HELP, _ask_and_wait, _listening, echo_env  # noqa: F401
from voiceproc import BARGE_IN_LOGGERS, VoiceosProcess

pytestmark = pytest.mark.audio


def test_tmp_holds(private_lab: PrivateLab, echo_env: dict[str, str]) -> None:  # noqa: F811
    with private_lab.recorder() as rec, VoiceosProcess(["--debug"], echo_env) as vo:
        _listening(vo)
        for _ in range(6):
            _ask_and_wait(private_lab, vo, HELP)
            rec.wait_quiet(1.0)
        assert vo.close() == 0
    log = vo.log_of(*BARGE_IN_LOGGERS)
    print("LOGDUMP\n" + log)
    print("HOLDS", sum("unexplained sound" in ln for ln in log.splitlines()))
