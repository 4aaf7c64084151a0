#!/usr/bin/env bash
# zlib against ISA-L inflate on .gz files (default: gzip shards of the benchmark's 1-gram
# file, made if missing). Needs libisal-dev, which mr itself does not use (see the README).
#   scripts/bench_inflate.sh [FILE.gz...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[[ -f /usr/include/isa-l/igzip_lib.h ]] || { echo "error: install libisal-dev first" >&2; exit 1; }
bin=$MR_BUILD_DIR/bench_inflate
c++ -O2 -std=c++20 -o "$bin" "$MR_ROOT/scripts/tools/bench_inflate.cpp" -lz -lisal
files=("$@")
if ((${#files[@]} == 0)); then
  data=${MR_BENCH_DATA:-$MR_ROOT/data}
  source_file=$data/bench-ngram-1G.tsv
  [[ -f $source_file ]] || python3 "$MR_ROOT/scripts/gen_data.py" ngram --size 1G --seed 1 -o "$source_file"
  shard=$data/bench-ngram-1G.part0.tsv.gz
  [[ -f $shard ]] || head -c 200000000 "$source_file" | gzip -6 >"$shard"
  files=("$shard")
fi
"$bin" "${files[@]}"
