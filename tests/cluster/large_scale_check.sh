#!/usr/bin/env bash
# Scale limits too big for CI (minutes, ~12 GB of disk): a file over 4 GiB, a line over
# 1 GiB, 10 M distinct keys. Each must work or fail with a clear message; results are
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

echo "-- a 4.5 GiB file (1 MiB block x 4608, then a marker line past 4 GiB)"
if [[ ! -f big.txt ]]; then
  python3 -c '
import random, sys
r = random.Random(1)
words = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it"]
line = lambda: " ".join(r.choice(words) for _ in range(12)) + "\n"
block = "".join(line() for _ in range(20000))
block = block[: block.rfind("\n", 0, 1 << 20) + 1]
sys.stdout.write(block)' >block.txt
  for _ in $(seq 4608); do cat block.txt; done >big.txt
  echo "marker_past_4GiB" >>big.txt
fi
blocks=4608
the_in_block=$(tr ' ' '\n' <block.txt | grep -cx the)
out=$(run --query the --query marker_past_4GiB big.txt)
echo "$out"
grep -qx "the	$((the_in_block * blocks))" <<<"$out" || fail "wrong count for 'the' in the 4.5 GiB file"
grep -qx "marker_past_4GiB	1" <<<"$out" || fail "the line past 4 GiB was not counted once"

echo "-- a line of 1.1 GiB (one token)"
if [[ ! -f longline.txt ]]; then
  { echo "before"; head -c $((1100 * 1024 * 1024)) /dev/zero | tr '\0' 'x'; printf '\nafter before\n'; } >longline.txt
fi
if out=$(run --query before --query after longline.txt 2>err.txt); then
  echo "$out"
  grep -qx "before	2" <<<"$out" || fail "wrong count around the 1.1 GiB line"
  echo "works"
else
  cat err.txt
  grep -q "mapreduce: error" err.txt || fail "the 1.1 GiB line failed without a clear message"
  echo "fails with the message above"
fi

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
