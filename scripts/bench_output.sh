#!/usr/bin/env bash
# Benchmark of the phases that used to be serial on rank 0: the sorted result file
# (--output against --top 1, which needs no sort), compressed shards (inflated by every rank),
# and the whole process against the book's Python approach. Generated, seeded data in page
# cache; every pair of runs is interleaved and each figure is the median of
# MR_BENCH_REPEAT (default 3) job times. Outputs are checked identical across rank counts.
#
#   scripts/bench_output.sh
#   MR_BENCH_NGRAM_KEYS=200000 MR_BENCH_NGRAM_SIZE=100M MR_BENCH_TEXT_KEYS=1000000 scripts/bench_output.sh  # quick
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ngram_keys=${MR_BENCH_NGRAM_KEYS:-1000000}
ngram_size=${MR_BENCH_NGRAM_SIZE:-500M}
text_keys=${MR_BENCH_TEXT_KEYS:-10000000}
shards=${MR_BENCH_SHARDS:-6}
repeat=${MR_BENCH_REPEAT:-3}
data=${MR_BENCH_DATA:-$MR_ROOT/data}
mapreduce=$MR_BUILD_DIR/src/mapreduce
out=$data/bench-out
mkdir -p "$out"
[[ -x $mapreduce ]] || "$MR_ROOT/scripts/build.sh"

ngram_file=$data/bench-ngram-v$ngram_keys-$ngram_size.tsv
text_file=$data/bench-distinct-$text_keys.txt
shard_dir=$data/bench-ngram-v$ngram_keys-$ngram_size-gz$shards
[[ -f $ngram_file ]] || { mr_log "generating $ngram_file"; python3 "$MR_ROOT/scripts/gen_data.py" ngram --size "$ngram_size" --vocabulary "$ngram_keys" --seed 11 -o "$ngram_file"; }
[[ -f $text_file ]] || { mr_log "generating $text_file"; python3 "$MR_ROOT/scripts/gen_data.py" words --distinct "$text_keys" -o "$text_file"; }
if [[ ! -d $shard_dir ]]; then
  mr_log "cutting $ngram_file into $shards .gz shards"
  mkdir -p "$shard_dir.tmp"
  (cd "$shard_dir.tmp" && split -n "l/$shards" -d "$ngram_file" part && for f in part*; do gzip -1 "$f"; done)
  mv "$shard_dir.tmp" "$shard_dir"
fi
mr_log "warming the page cache"
cat "$ngram_file" "$text_file" "$shard_dir"/* >/dev/null

# job_seconds NP ARGS...: the program's own job time (its --json "seconds").
job_seconds() {
  local np=$1
  shift
  mpirun --oversubscribe -np "$np" "$mapreduce" --json "$@" 2>/dev/null | tail -1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds"])'
}
# pool_run WORKERS ARGS...: the pool engine's job time and peak memory, parent's then workers'
# (its --json "seconds" and "peak_rss_bytes").
pool_run() {
  local workers=$1
  shift
  "$mapreduce" --workers "$workers" --json "$@" 2>/dev/null | tail -1 |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["seconds"], ",".join(map(str, r["peak_rss_bytes"])))'
}
# wall_seconds COMMAND...: the whole process, start to exit.
wall_seconds() {
  python3 - "$@" <<'PY'
import subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("%.3f" % (time.perf_counter() - start))
PY
}

rows=()
pool_rows=()
for case in "ngram:--job ngram:$ngram_file" "text:--job wordcount:$text_file"; do
  IFS=: read -r name options input <<<"$case"
  for np in 1 2; do
    for _ in $(seq "$repeat"); do
      # shellcheck disable=SC2086  # options is a word list
      rows+=("$name $np top $(job_seconds "$np" $options --top 1 "$input")")
      # shellcheck disable=SC2086
      rows+=("$name $np output $(job_seconds "$np" $options --output "$out/$name-np$np.tsv" "$input")")
    done
    mr_log "${rows[-2]} / ${rows[-1]}"
  done
  cmp "$out/$name-np1.tsv" "$out/$name-np2.tsv" || { echo "bench: -np 1 and -np 2 outputs differ ($name)" >&2; exit 1; }
  # The pool engine: the result stays on the workers, which sort and write it.
  for _ in $(seq "$repeat"); do
    # shellcheck disable=SC2086
    pool_rows+=("$name top $(pool_run 2 $options --top 1 "$input")")
    # shellcheck disable=SC2086
    pool_rows+=("$name output $(pool_run 2 $options --output "$out/$name-pool2.tsv" "$input")")
  done
  mr_log "pool: ${pool_rows[-2]} / ${pool_rows[-1]}"
  cmp "$out/$name-np1.tsv" "$out/$name-pool2.tsv" || { echo "bench: -np 1 and pool outputs differ ($name)" >&2; exit 1; }
done
for np in 1 2; do
  for _ in $(seq "$repeat"); do
    rows+=("shards $np top $(job_seconds "$np" --job ngram --top 1 "$shard_dir")")
  done
  mr_log "${rows[-1]}"
done
for _ in $(seq "$repeat"); do
  rows+=("whole 2 mapreduce $(wall_seconds mpirun --oversubscribe -np 2 "$mapreduce" --job ngram --output "$out/whole.tsv" "$ngram_file")")
done
mr_log "${rows[-1]}"
if [[ ${MR_BENCH_SKIP_PYTHON:-0} != 1 ]]; then
  rows+=("whole 2 python $(wall_seconds python3 "$MR_ROOT/scripts/py_mapreduce_baseline.py" --job ngram --workers 2 --output "$out/whole-python.tsv" "$ngram_file")")
  mr_log "${rows[-1]}"
  cmp "$out/whole.tsv" "$out/whole-python.tsv" || { echo "bench: mapreduce and Python outputs differ" >&2; exit 1; }
fi

# Phase times at 1-4 ranks (3 and 4 oversubscribed on a 2-core machine: for shape only) of
# the 1-gram job with --output, and the serial fraction they imply.
phase_rows=()
for np in 1 2 3 4; do
  for _ in $(seq "$repeat"); do
    phase_rows+=("$np $(mpirun --oversubscribe -np "$np" "$mapreduce" --json --job ngram --output "$out/phases.tsv" "$ngram_file" 2>/dev/null | tail -1)")
  done
done

# shellcheck disable=SC2016  # the backquotes are Markdown inside the Python program
printf '%s\n' "${rows[@]}" | NGRAM_KEYS=$ngram_keys TEXT_KEYS=$text_keys SHARDS=$shards REPEAT=$repeat python3 -c '
import os, statistics, sys
t = {}
for line in sys.stdin:
    name, np, mode, seconds = line.split()
    t.setdefault((name, int(np), mode), []).append(float(seconds))
m = {k: statistics.median(v) for k, v in t.items()}
e = os.environ
labels = {"ngram": "1-grams, %s distinct ngrams" % e["NGRAM_KEYS"], "text": "text, %s distinct words" % e["TEXT_KEYS"]}
print("| input | processes | `--top 1` s | `--output` s | output / top | target |")
print("|---|---|---|---|---|---|")
for name, target in (("ngram", 1.15), ("text", 1.3)):
    for np in (1, 2):
        top, output = m[(name, np, "top")], m[(name, np, "output")]
        print("| %s | %d | %.3f | %.3f | %.2fx | <= %.2fx |" % (labels[name], np, top, output, output / top, target))
one, two = m[("shards", 1, "top")], m[("shards", 2, "top")]
print("| 1-grams as %s .gz shards, `--top 1` | 1 / 2 | %.3f / %.3f | | %.2fx faster at -np 2 | >= 1.8x |" % (e["SHARDS"], one, two, one / two))
if ("whole", 2, "python") in m:
    mr, py = m[("whole", 2, "mapreduce")], m[("whole", 2, "python")]
    print("| whole process, 1-grams `--output`, mapreduce -np 2 vs Python 2 workers | 2 | %.2f (mapreduce) | %.2f (Python) | %.1fx faster | >= 30x |" % (mr, py, py / mr))
print()
print("job times from the program (--json seconds), median of %s; whole process: wall clock of mpirun / python3." % e["REPEAT"])
'

# shellcheck disable=SC2016  # the backquotes are Markdown inside the Python program
printf '%s\n' "${pool_rows[@]}" | NGRAM_KEYS=$ngram_keys TEXT_KEYS=$text_keys REPEAT=$repeat python3 -c '
import os, statistics, sys
t = {}
for line in sys.stdin:
    name, mode, seconds, peaks = line.split()
    t.setdefault((name, mode), []).append((float(seconds), [int(p) for p in peaks.split(",")]))
e = os.environ
labels = {"ngram": "1-grams, %s distinct ngrams" % e["NGRAM_KEYS"], "text": "text, %s distinct words" % e["TEXT_KEYS"]}
print()
print("| input (pool engine, `--workers 2`) | `--top 1` s | `--output` s | output / top | `--output` peak MB: parent / workers |")
print("|---|---|---|---|---|")
for name in ("ngram", "text"):
    top = statistics.median(s for s, _ in t[(name, "top")])
    runs = sorted(t[(name, "output")])
    output, peaks = runs[len(runs) // 2]
    print("| %s | %.3f | %.3f | %.2fx | %d / %s |" % (labels[name], top, output, output / top, peaks[0] >> 20,
                                                   " ".join(str(p >> 20) for p in peaks[1:])))
print()
print("pool job times (--json seconds), median of %s; the output run shown is the median one." % e["REPEAT"])
'

printf '%s\n' "${phase_rows[@]}" | python3 -c '
import json, statistics, sys
runs = {}
for line in sys.stdin:
    np, payload = line.split(" ", 1)
    runs.setdefault(int(np), []).append(json.loads(payload))
def median_run(np):
    return sorted(runs[np], key=lambda r: r["seconds"])[len(runs[np]) // 2]
names = ("read", "map", "shuffle", "reduce", "sort", "write")
print()
print("| ranks | job s | " + " | ".join(names) + " | speed-up | serial fraction (Karp-Flatt) |")
print("|---|---|" + "---|" * len(names) + "---|---|")
one = median_run(1)["seconds"]
fractions = {}
for np in sorted(runs):
    r = median_run(np)
    speedup = one / r["seconds"]
    serial = "-" if np == 1 else "%.3f" % ((1 / speedup - 1 / np) / (1 - 1 / np))
    if np == 2:
        fractions[np] = (1 / speedup - 1 / np) / (1 - 1 / np)
    print("| %d | %.3f | %s | %.2fx | %s |" % (np, r["seconds"], " | ".join("%.3f" % r["phases"][n] for n in names),
                                              speedup, serial))
if 2 in fractions:
    e = max(fractions[2], 0.0)
    print()
    print("Amdahl projection from the 2-rank serial fraction e = %.3f: %.1fx at 16 ranks, %.1fx at 64 ranks"
          % (e, 1 / (e + (1 - e) / 16), 1 / (e + (1 - e) / 64)))
print("(phases: the slowest rank of each, from --json; 3-4 ranks share 2 cores, so only their shape counts)")
'
