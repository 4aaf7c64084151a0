#!/usr/bin/env bash
# The read path of the map phase: a memory map read in windows against pread into one reused
# buffer of several sizes (why the engine reads with pread in 1 MiB blocks: README, "The read
# path").
#   scripts/bench_read.sh [FILE] [ROUNDS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bin=$MR_BUILD_DIR/bench_read
c++ -O2 -std=c++20 -o "$bin" "$MR_ROOT/scripts/tools/bench_read.cpp"
file=${1:-}
if [[ -z $file ]]; then
  data=${MR_BENCH_DATA:-$MR_ROOT/data}
  file=$data/bench-ngram-300M.tsv
  [[ -f $file ]] || python3 "$MR_ROOT/scripts/gen_data.py" ngram --size 300M --seed 1 -o "$file"
fi
"$bin" "$file" "${2:-7}"
