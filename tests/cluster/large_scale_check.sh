#!/usr/bin/env bash
# Scale limits too big for CI (minutes, ~13 GB of disk): a file over 4 GiB (its last line
# past the 4 GiB offset), a line over 1 GiB, a v3 ngram line over 1 GiB, 10 M distinct keys. Each must work or fail with a clear message; results are
# checked with independent counts. Not a ctest; run by hand on a quiet machine:
#   tests/cluster/large_scale_check.sh build/src/mapreduce /var/tmp/mr-scale [RANKS]
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 MAPREDUCE WORK_DIR [RANKS]" >&2; exit 2; }
program=$(realpath "$1") work=$2 ranks=${3:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$work"
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { /usr/bin/time -f "%e s wall, %M KB max RSS (mpirun)" mpirun -np "$ranks" "$program" "$@"; }
# works_or_clear_error WHAT CHECK ARGS...: runs the program on ARGS; on success its stdout
# must pass CHECK (a function reading it on stdin), else the failure must be one clear message.
works_or_clear_error() {
  local what=$1 check=$2 out
  shift 2
  if out=$(run "$@" 2>err.txt); then
    echo "$out"
    cat err.txt
    "$check" <<<"$out" || fail "wrong result for $what"
    echo "works"
  else
    cat err.txt
    grep -q "mapreduce: error" err.txt || fail "$what failed without a clear message"
    echo "fails with the message above"
  fi
}

echo "-- a file over 4 GiB (blocks of whole lines up to 4.5 GiB, then a marker line past 4 GiB)"
four_gib=$((4 << 30))
if [[ ! -f big.txt ]]; then
  python3 -c '
import random, sys
r = random.Random(1)
words = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it"]
line = lambda: " ".join(r.choice(words) for _ in range(12)) + "\n"
block = "".join(line() for _ in range(30000))
block = block[: block.rfind("\n", 0, 1 << 20) + 1]
sys.stdout.write(block)' >block.txt
  block_bytes=$(stat -c %s block.txt)
  blocks=$(((four_gib + (512 << 20)) / block_bytes + 1))
  for _ in $(seq "$blocks"); do cat block.txt; done >big.txt
  echo "marker_past_4GiB" >>big.txt
fi
block_bytes=$(stat -c %s block.txt)
size=$(stat -c %s big.txt)
blocks=$(((size - 17) / block_bytes))
marker_offset=$((size - 17))
((marker_offset > four_gib)) || fail "the marker line starts at $marker_offset, not past 4 GiB ($four_gib)"
echo "file: $size bytes, marker line at offset $marker_offset (> $four_gib)"
the_in_block=$(tr ' ' '\n' <block.txt | grep -cx the)
out=$(run --query the --query marker_past_4GiB big.txt)
echo "$out"
grep -qx "the	$((the_in_block * blocks))" <<<"$out" || fail "wrong count for 'the' in the big file"
grep -qx "marker_past_4GiB	1" <<<"$out" || fail "the line past 4 GiB was not counted once"

echo "-- a v3 ngram line of 1.1 GiB (one ngram, 128 M tuples)"
if [[ ! -f longline-v3.tsv ]]; then
  python3 -c '
import sys
w = sys.stdout.write
w("alpha\t1900,2,1\n")
w("huge")
piece = "\t1900,1,1" * (1 << 20)  # 9 MiB
for _ in range(128):
    w(piece)
w("\nomega\t1999,3,1\n")' >longline-v3.tsv
fi
echo "file: $(stat -c %s longline-v3.tsv) bytes"
v3_sums() { local out; out=$(cat); grep -qx "huge	$((128 << 20))" <<<"$out" && grep -qx "omega	3" <<<"$out"; }
works_or_clear_error "the 1.1 GiB v3 line" v3_sums --job ngram --query huge --query alpha --query omega longline-v3.tsv

echo "-- a line of 1.1 GiB (one token)"
if [[ ! -f longline.txt ]]; then
  { echo "before"; head -c $((1100 * 1024 * 1024)) /dev/zero | tr '\0' 'x'; printf '\nafter before\n'; } >longline.txt
fi
around_line() { grep -qx "before	2"; }
works_or_clear_error "the 1.1 GiB line" around_line --query before --query after longline.txt

echo "-- 10 M distinct keys"
if [[ ! -f distinct.txt ]]; then
  python3 -c '
import sys
w = sys.stdout.write
for i in range(1_000_000):
    w(" ".join(f"k{i * 10 + j:x}" for j in range(10)) + "\n")' >distinct.txt
fi
run --output distinct.tsv distinct.txt
lines=$(wc -l <distinct.tsv)
((lines == 10000000)) || fail "expected 10000000 distinct keys, got $lines"
echo "PASS"
