#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite: lint, types, tests.
# Starts the virtual audio devices (PulseAudio null sinks) and stops them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --dev

.venv/bin/ruff check voiceos tests bench
.venv/bin/ruff format --check voiceos tests bench
.venv/bin/mypy

bash scripts/audiolab.sh start
trap 'bash scripts/audiolab.sh stop' EXIT

# Audio and LLM-server tests must run here, never skip.
export LAB_REQUIRED=1 LLM_REQUIRED=1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
