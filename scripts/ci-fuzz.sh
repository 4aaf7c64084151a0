#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ASan/UBSan) in $MR_FUZZ_BUILD_DIR (default
# build-fuzz/) and fuzzes each for MR_FUZZ_SECONDS (default 10) seconds, starting from its
# seed corpus in tests/fuzz/corpus/. A crash leaves the input in $MR_FUZZ_BUILD_DIR/artifacts/
# and fails the script. Longer runs: MR_FUZZ_SECONDS=3600 scripts/ci-fuzz.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
build=${MR_FUZZ_BUILD_DIR:-$MR_ROOT/build-fuzz}
seconds=${MR_FUZZ_SECONDS:-10}
command -v clang++ >/dev/null || { echo "error: clang++ not found (MR_WITH_DEV_TOOLS=1 scripts/install-deps.sh)" >&2; exit 1; }

generator=() generator_args=()
command -v ninja >/dev/null && generator=(-G Ninja)
[[ -f "$build/CMakeCache.txt" ]] || generator_args=("${generator[@]}")
# UBSan's checks without -fsanitize=function: clang 14 fails on it in coroutines ("Cannot
# represent a difference across sections", src/lib/engine_pool). The gcc ASan build keeps all.
ubsan_checks="alignment;bool;builtin;bounds;enum;float-cast-overflow;integer-divide-by-zero"
ubsan_checks+=";nonnull-attribute;null;object-size;pointer-overflow;return;returns-nonnull-attribute"
ubsan_checks+=";shift;signed-integer-overflow;unreachable;vla-bound;vptr"
# The library is instrumented for coverage (fuzzer-no-link) so libFuzzer sees its branches.
# Boost 1.74 does not detect clang 14's C++20 coroutines (it looks for the TS macro): say so.
cmake -S "$MR_ROOT" -B "$build" "${generator_args[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ \
  "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -DBOOST_ASIO_HAS_CO_AWAIT=1 -DBOOST_ASIO_HAS_STD_COROUTINE=1" \
  "-DMR_SANITIZE=address;$ubsan_checks" -DMR_BUILD_FUZZERS=ON >/dev/null
mapfile -t targets < <(sed -n 's/^foreach(target \(.*\))$/\1/p' "$MR_ROOT/tests/fuzz/CMakeLists.txt" | tr ' ' '\n')
((${#targets[@]})) || { echo "error: no fuzz targets found in tests/fuzz/CMakeLists.txt" >&2; exit 1; }
cmake --build "$build" -j "$MR_JOBS" --target "${targets[@]/#/fuzz_}"

mkdir -p "$build/artifacts"
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  mr_log "fuzz_$target for ${seconds}s"
  # New inputs go to the build tree's corpus; the seeds in the source tree stay as they are.
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
    "$corpus" "$MR_ROOT/tests/fuzz/corpus/$target" 2>"$build/fuzz_$target.log" ||
    { tail -40 "$build/fuzz_$target.log" >&2; echo "error: fuzz_$target failed; input in $build/artifacts/" >&2; exit 1; }
  grep -E "stat::number_of_executed_units|cov:" "$build/fuzz_$target.log" | tail -2 >&2
done
mr_log "fuzzing passed: ${targets[*]}"
