#!/usr/bin/env bash
# Benchmark of the mapreduce program against the book's Python approach (asyncio +
# ProcessPoolExecutor), on generated data in page cache: ngram (>= 1 GB) and whitespace
# word count (>= 500 MB) at -np 1 and -np 2, Python with 2 workers in the same run.
# Checks that all outputs are byte-identical and prints a Markdown table.
#
#   scripts/bench_mapreduce.sh                    # full sizes
#   MR_BENCH_NGRAM_SIZE=200M MR_BENCH_TEXT_SIZE=100M scripts/bench_mapreduce.sh   # sanity run
#   MR_BENCH_SKIP_PYTHON=1 ...                    # C++ only
#   MR_BENCH_TYPED_REPEAT=5 ...                   # runs per typed-API row (median)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ngram_size=${MR_BENCH_NGRAM_SIZE:-1G}
text_size=${MR_BENCH_TEXT_SIZE:-500M}
data=${MR_BENCH_DATA:-$MR_ROOT/data}
mapreduce=$MR_BUILD_DIR/src/mapreduce
mkdir -p "$data/bench-out"

[[ -x $mapreduce ]] || "$MR_ROOT/scripts/build.sh"
ngram_file=$data/bench-ngram-$ngram_size.tsv
text_file=$data/bench-text-$text_size.txt
[[ -f $ngram_file ]] || { mr_log "generating $ngram_file"; python3 "$MR_ROOT/scripts/gen_data.py" ngram --size "$ngram_size" --seed 1 -o "$ngram_file"; }
[[ -f $text_file ]] || { mr_log "generating $text_file"; python3 "$MR_ROOT/scripts/gen_data.py" text --size "$text_size" --seed 2 -o "$text_file"; }
mr_log "warming the page cache"
cat "$ngram_file" "$text_file" >/dev/null

# measure NAME COMMAND...: runs COMMAND, prints "NAME seconds peak_rss_mb json" where
# seconds is the wall time, peak RSS the largest of any descendant process, json the
# command's last stdout line.
measure() {
  local name=$1
  shift
  python3 - "$name" "$@" <<'PY'
import json, resource, subprocess, sys, time
name, command = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
seconds = time.perf_counter() - start
if result.returncode != 0:
    sys.stderr.write(result.stderr.decode(errors="replace"))
    sys.exit("bench: %s failed" % name)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(name, "%.3f" % seconds, "%.0f" % peak_mb, result.stdout.decode().strip().splitlines()[-1])
PY
}

results=()
run_case() {  # run_case JOB FILE EXTRA_OPTIONS...
  local job=$1 file=$2
  shift 2
  local base=$data/bench-out/$job
  for np in 1 2; do
    results+=("$job $(measure "mapreduce-np$np" mpirun --oversubscribe -np "$np" "$mapreduce" --job "$job" "$@" --json --output "$base-np$np.tsv" "$file")")
    mr_log "${results[-1]}"
  done
  cmp "$base-np1.tsv" "$base-np2.tsv" || { echo "bench: -np 1 and -np 2 outputs differ for $job" >&2; exit 1; }
  if [[ ${MR_BENCH_SKIP_PYTHON:-0} != 1 ]]; then
    results+=("$job $(measure "python-2workers" python3 "$MR_ROOT/scripts/py_mapreduce_baseline.py" --job "$job" --workers 2 --output "$base-python.tsv" "$file")")
    mr_log "${results[-1]}"
    cmp "$base-np1.tsv" "$base-python.tsv" || { echo "bench: mapreduce and Python outputs differ for $job" >&2; exit 1; }
  fi
}

run_case ngram "$ngram_file"
run_case wordcount "$text_file" --words whitespace

printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
rows = {}
for line in sys.stdin:
    job, name, wall, peak, payload = line.split(" ", 4)
    rows[(job, name)] = (float(wall), float(peak), json.loads(payload))
print("| job | engine | processes | input MB | wall s | job s | MB/s per process | speed-up vs Python | efficiency 1->2 | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for job in ("ngram", "wordcount"):
    py = rows.get((job, "python-2workers"))
    one = rows.get((job, "mapreduce-np1"))
    for name in ("mapreduce-np1", "mapreduce-np2", "python-2workers"):
        if (job, name) not in rows:
            continue
        wall, peak, info = rows[(job, name)]
        procs = info.get("ranks") or info.get("workers")
        secs = info["seconds"]
        mb = info["bytes"] / 1e6
        speedup = "%.1fx" % (py[2]["seconds"] / secs) if py and name != "python-2workers" else "-"
        eff = "%.0f%%" % (100 * one[2]["seconds"] / (2 * secs)) if one and name == "mapreduce-np2" else "-"
        print("| %s | %s | %d | %.0f | %.2f | %.3f | %.0f | %s | %s | %.0f |" % (job, name.split("-")[0], procs, mb,
              wall, secs, mb / secs / procs, speedup, eff, peak))
print()
print("job s: the run as timed by the program itself (mapreduce: partition to output written;")
print("Python: asyncio.run to output written), without process start-up; wall s includes mpirun/python start.")
print()
print("outputs identical: mapreduce -np 1 == -np 2" + ("" if not any(k[1].startswith("python") for k in rows) else " == Python"))
'

# The typed API (mr_example_typed_bench: one map call per line, the line's words emitted) for
# several key/value types, next to the built-in word count on the same text in the same run.
typed_bench=$MR_BUILD_DIR/src/examples/mr_example_typed_bench
if [[ -x $typed_bench ]]; then
  repeat=${MR_BENCH_TYPED_REPEAT:-5}
  typed_rows=()
  for np in 1 2; do
    for round in $(seq "$repeat"); do
      typed_rows+=("builtin $np $round $(mpirun --oversubscribe -np "$np" "$mapreduce" --top 1 --json "$text_file" 2>/dev/null | tail -1)")
      for type in string_long string_double int_long int_struct; do
        typed_rows+=("$type $np $round $(mpirun --oversubscribe -np "$np" "$typed_bench" "$type" "$text_file" | tail -1)")
      done
    done
  done
  echo
  printf '%s\n' "${typed_rows[@]}" | python3 -c '
import json, statistics, sys
times = {}
for line in sys.stdin:
    name, np, _, payload = line.split(" ", 3)
    times.setdefault((name, int(np)), []).append(json.loads(payload)["seconds"])
print("| job (typed API, text file, median) | -np 1 s | -np 2 s | vs <string, long> (-np 2) |")
print("|---|---|---|---|")
labels = {"builtin": "built-in wordcount (mr::Lines map)", "string_long": "<std::string, long>",
          "string_double": "<std::string, double>", "int_long": "<int, long> (word length)",
          "int_struct": "<int, {double sum; long n}> + user reduce"}
base = statistics.median(times[("string_long", 2)])
for name in ("builtin", "string_long", "string_double", "int_long", "int_struct"):
    one, two = statistics.median(times[(name, 1)]), statistics.median(times[(name, 2)])
    print("| %s | %.3f | %.3f | %.2fx |" % (labels[name], one, two, two / base))
'
fi
