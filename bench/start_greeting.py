"""Start to greeting, with local-server discovery on and off.

    .venv/bin/python -m bench.start_greeting [--runs 10] [--server-port PORT]

`voiceos --text --mute` is started as a fresh process; the clock runs from the spawn to
its greeting line on stdout, and (discovery on) on to its "Using ..." line when a server
answers. Discovery on probes [llm] discover's default ports, plus --server-port if given
(e.g. a llama.cpp server started for the run); off is `[llm] discover = []`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

from bench.stats import header, summary

DEFAULT_PORTS = "11434,1234,8080,8000"


def one_run(env: dict[str, str], want_server: bool) -> tuple[float, float | None]:
    """Milliseconds from spawn to the greeting, and to the discovery line (or None)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceos", "--text", "--mute"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
    found: list[float] = []
    seen = threading.Event()

    def watch_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "as my language server" in line:
                found.append((time.monotonic() - started) * 1000)
                seen.set()

    threading.Thread(target=watch_err, daemon=True).start()
    greeting = None
    for line in proc.stdout:
        if line.startswith("Samantha: "):
            greeting = (time.monotonic() - started) * 1000
            break
    if want_server:
        seen.wait(15)
    proc.stdin.close()
    proc.wait(30)
    assert greeting is not None, "no greeting"
    return greeting, (found[0] if found else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--server-port", type=int, help="a local server to be found")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEOS_", "OPENAI_"))}
        base.update(XDG_CONFIG_HOME=f"{tmp}/cfg", XDG_DATA_HOME=f"{tmp}/data")
        ports = DEFAULT_PORTS + (f",{args.server_port}" if args.server_port else "")
        modes = {"discovery off": "", f"discovery on ({ports})": ports}
        results: dict[str, list[float]] = {}
        found_ms: list[float] = []
        for _ in range(args.runs):  # interleaved, so load drifts hit both alike
            for label, discover in modes.items():
                env = {**base, "VOICEOS_LLM_DISCOVER": discover}
                greeting, found = one_run(env, bool(discover and args.server_port))
                results.setdefault(label, []).append(greeting)
                if found is not None:
                    found_ms.append(found)
    print(header())
    for label, values in results.items():
        print(summary(f"start → greeting, {label}", values))
    if found_ms:
        print(summary("start → local server found and named", found_ms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
