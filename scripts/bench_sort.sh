#!/usr/bin/env bash
# The result sort alone (scripts/tools/bench_sort.cpp), on entries in memory.
#   scripts/bench_sort.sh [N...]     (default: 1000000 10000000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[[ -f $MR_BUILD_DIR/libmr.a ]] || "$MR_ROOT/scripts/build.sh"
bin=$MR_BUILD_DIR/bench_sort
mpicxx -O2 -std=c++20 -I "$MR_ROOT/include" -I "$MR_ROOT/src/lib" -o "$bin" "$MR_ROOT/scripts/tools/bench_sort.cpp" \
  "$MR_BUILD_DIR/libmr.a"
"$bin" "$@"
