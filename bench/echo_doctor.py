"""`voiceos doctor`'s echo check per canceller backend, on the lab's loopback echo path.

Run (with the lab up): .venv/bin/python -m bench.echo_doctor [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lab import PrivateLab  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with PrivateLab() as lab:
        lab.echo_path(30)
        for backend in ("webrtc", "speex"):
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    env = {**os.environ, **lab.env, "VOICEOS_ECHO_BACKEND": backend}
                    env["XDG_CONFIG_HOME"] = tmp
                    done = subprocess.run(
                        [sys.executable, "-m", "voiceos", "doctor"],
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=300,
                    )
                line = next((ln for ln in done.stdout.splitlines() if "] echo:" in ln), "?")
                print(f"{backend}: {line.split('] echo: ', 1)[-1].split(' (delay saved')[0]}")


if __name__ == "__main__":
    main()
