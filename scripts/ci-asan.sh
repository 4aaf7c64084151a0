#!/usr/bin/env bash
# The test suite in an AddressSanitizer + UndefinedBehaviorSanitizer build (gcc) in
# $MR_ASAN_BUILD_DIR (default build-asan/). ASAN_OPTIONS/LSAN_OPTIONS (Open MPI leak
# suppressions) come with each test from tests/sanitizers/. The package tests rebuild the
# library from scratch and are covered by the normal build, so they are skipped here.
# MR_SANITIZE=thread MR_ASAN_BUILD_DIR=build-tsan scripts/ci-asan.sh runs ThreadSanitizer instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build=${MR_ASAN_BUILD_DIR:-$MR_ROOT/build-asan}
sanitize=${MR_SANITIZE:-address;undefined}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$MR_ROOT" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DMR_SANITIZE=$sanitize" >/dev/null
fi
cmake --build "$build" -j "$MR_JOBS"
ctest --test-dir "$build" --output-on-failure -j "${MR_TEST_JOBS:-2}" -LE package "$@"
