#!/usr/bin/env bash
# Build and install llama-cpp-python (the tests' local LLM server) for any x86-64 CPU.
#   bash scripts/llama-wheel.sh PYTHON
#
# It has no binary wheel on PyPI, and a default source build targets the building CPU
# (GGML_NATIVE): on a CPU with AMX tiles inside a VM that does not grant them, that build
# crashes with SIGSEGV on its first completion. So the build is portable (AVX2, FMA, F16C),
# and its wheel is kept in the user's cache under a key of version and flags: pip's own
# wheel cache ignores CMAKE_ARGS and would hand back a native build.
set -euo pipefail
PYTHON="${1:?usage: llama-wheel.sh PYTHON}"
VERSION="0.3.36"
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
key=$(printf '%s %s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-12)
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/voiceos/wheels/llama-cpp-python-$key"
if ! compgen -G "$wheels/llama_cpp_python-$VERSION-*.whl" >/dev/null; then
  echo "setup: building llama-cpp-python $VERSION for any x86-64 CPU (about 5 minutes, once)"
  CMAKE_ARGS="$FLAGS" "$PYTHON" -m pip wheel -q --no-deps --no-cache-dir -w "$wheels.part" \
    "llama-cpp-python==$VERSION"
  rm -rf "$wheels" && mv "$wheels.part" "$wheels"
fi
# --force-reinstall: an earlier native build of the same version must be replaced.
"$PYTHON" -m pip install -q --force-reinstall --no-deps "$(compgen -G "$wheels/llama_cpp_python-$VERSION-*.whl" | head -1)"
