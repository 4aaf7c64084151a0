#!/usr/bin/env bash
# Process-pool benchmark (issue 3): mr::ProcessPool next to Python's multiprocessing.Pool and
# concurrent.futures.ProcessPoolExecutor, same worker count, same machine, same run.
# Measures: pool start-up (until the first result), apply round trip (median, p99),
# apply_async throughput, map of 1M tiny tasks with the default chunksize, idle CPU of the
# whole pool (parent + workers) over 2 s. The C++ pool runs twice: with its shared-memory
# channels (the default) and with MPI only (loopback TCP). Prints a Markdown table.
#
# usage: scripts/bench_pool.sh [--workers N] [--quick] [--mpirun] [--no-build]
#   --mpirun  also run the C++ pool from a program started with `mpirun -np 1`
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

workers=2 quick=() build=1 with_mpirun=0
while (($#)); do
  case $1 in
    --workers) workers=$2; shift 2 ;;
    --quick) quick=(--quick); shift ;;
    --mpirun) with_mpirun=1; shift ;;
    --no-build) build=0; shift ;;
    *) echo "bench_pool.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

if ((build)); then
  "$MR_ROOT/scripts/build.sh" >&2
fi
bench=$MR_BUILD_DIR/src/examples/mr_example_bench_pool
[[ -x $bench ]] || { echo "bench_pool.sh: $bench not built (drop --no-build)" >&2; exit 1; }

results=$(mktemp)
trap 'rm -f "$results"' EXIT
mr_log "mr::ProcessPool (singleton), $workers workers"
"$bench" --workers "$workers" "${quick[@]}" | sed 's/^/mr::ProcessPool /' >>"$results"
mr_log "mr::ProcessPool (singleton) without the shared-memory channels (MR_POOL_TRANSPORT=mpi)"
MR_POOL_TRANSPORT=mpi "$bench" --workers "$workers" "${quick[@]}" | sed 's/^/mr::ProcessPool(MPI-only) /' >>"$results"
if ((with_mpirun)); then
  mr_log "mr::ProcessPool under mpirun -np 1, $workers workers"
  mpirun --oversubscribe -np 1 "$bench" --workers "$workers" "${quick[@]}" | sed 's/^/mr(mpirun) /' >>"$results"
fi
mr_log "Python multiprocessing.Pool and ProcessPoolExecutor, $workers workers"
python3 "$MR_ROOT/scripts/bench_pool.py" --workers "$workers" "${quick[@]}" >>"$results"

echo "| implementation ($workers workers, $(nproc) cores) | start-up (s) | apply median (us) | apply p99 (us) | apply_async (tasks/s) | map of $(awk '$2 ~ /^map_/ {sub("map_", "", $2); print $2; exit}' "$results") (s) | idle CPU (%) |"
echo "|---|---|---|---|---|---|---|"
awk '
  { impl = $1; if (!(impl in seen)) { seen[impl] = 1; order[++n] = impl }
    metric = $2; sub(/^map_.*/, "map", metric); value[impl, metric] = $3 }
  END {
    for (i = 1; i <= n; i++) {
      m = order[i]
      printf "| %s | %.3f | %.1f | %.1f | %.0f | %.3f | %.1f |\n", m, value[m, "startup"], value[m, "apply_median"],
             value[m, "apply_p99"], value[m, "apply_async"], value[m, "map"], value[m, "idle_cpu"]
    }
  }' "$results"
