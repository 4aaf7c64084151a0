#!/usr/bin/env bash
# Configures and builds mr in $MR_BUILD_DIR (default: build/). Extra arguments go to cmake.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$MR_BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S "$MR_ROOT" -B "$MR_BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif (($#)); then
  cmake -S "$MR_ROOT" -B "$MR_BUILD_DIR" "$@"
fi
cmake --build "$MR_BUILD_DIR" -j "$MR_JOBS"
