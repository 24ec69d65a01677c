#!/usr/bin/env bash
# Configures and builds Parley into build/ (parleyd and parleyctl land in build/ itself).
# Usage: scripts/build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
if [[ "${CI:-}" == "true" || "${PARLEY_WERROR:-0}" == 1 ]]; then werror=ON; fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_WERROR="$werror" "$@" >/dev/null
cmake --build build
