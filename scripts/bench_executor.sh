#!/usr/bin/env bash
# Executor benchmark (issue 4), C++ and Python side by side in one run, as a Markdown table:
#   1. submit throughput: ProcessPoolExecutor.submit + result, trivial tasks
#   2. run_in_executor + gather throughput in an event loop (Boost.Asio / asyncio)
#   3. word count: the pool engine (mapreduce --workers N) vs the SPMD engine (mpirun -np N)
#   4. executors over the job's ranks: mr::CommExecutor vs mpi4py.futures.MPICommExecutor
#      (mpirun -np N+1, ob1), next to the spawned pools, with the median submit round trip
#
# usage: scripts/bench_executor.sh [--workers N] [--tasks N] [--py-tasks N] [--size 200M]
#                                  [--repeat R] [--no-build]
# MR_MPI4PY_PYTHON: the Python that has mpi4py (default /usr/bin/python3, Debian's python3-mpi4py).
# Builds into $MR_BUILD_DIR (default build/) unless --no-build; data goes to data/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

workers=2 tasks=200000 py_tasks=20000 size=200M repeat=3 build=1
while (($#)); do
  case $1 in
    --workers) workers=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --py-tasks) py_tasks=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "bench_executor.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

if ((build)); then
  "$MR_ROOT/scripts/build.sh" >&2
fi
bench=$MR_BUILD_DIR/src/examples/mr_example_executor_bench
mapreduce=$MR_BUILD_DIR/src/mapreduce
for binary in "$bench" "$mapreduce"; do
  [[ -x $binary ]] || { echo "bench_executor.sh: $binary not built (drop --no-build)" >&2; exit 1; }
done

# Best (highest) tasks/s of $repeat runs of a command printing `mode tasks workers s rate`.
best_rate() {
  local best=0 rate
  for ((i = 0; i < repeat; i++)); do
    rate=$("$@" | awk '{print $5}')
    best=$(awk -v a="$best" -v b="$rate" 'BEGIN {print (b > a) ? b : a}')
  done
  echo "$best"
}

# Best (lowest) median round trip in µs of $repeat runs of a command printing it in column 6.
best_median() {
  local best="" median
  for ((i = 0; i < repeat; i++)); do
    median=$("$@" | awk '{print $6}')
    best=$(awk -v a="$best" -v b="$median" 'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}

# Best (lowest) wall-clock seconds of $repeat runs of a command.
best_seconds() {
  local best="" start end t
  for ((i = 0; i < repeat; i++)); do
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    t=$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.3f", e - s}')
    best=$(awk -v a="$best" -v b="$t" 'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}

mr_log "submit: C++ $tasks tasks, Python $py_tasks tasks, $workers workers"
cpp_submit=$(best_rate "$bench" submit "$tasks" "$workers")
py_submit=$(best_rate python3 "$MR_ROOT/scripts/bench_executor.py" submit "$py_tasks" "$workers")
mr_log "run_in_executor + gather"
cpp_gather=$(best_rate "$bench" gather "$tasks" "$workers")
py_gather=$(best_rate python3 "$MR_ROOT/scripts/bench_executor.py" gather "$py_tasks" "$workers")

# Executors over the ranks of a job (no spawn): rank 0 submits, ranks 1..N serve. ob1 is
# Open MPI's PML with the shared-memory BTL (what one node uses); both sides get the same flags.
ranks=$((workers + 1))
py_mpi=${MR_MPI4PY_PYTHON:-/usr/bin/python3}
in_job=(mpirun --oversubscribe --mca pml ob1 -np "$ranks")
roundtrips=$((tasks / 10))
py_roundtrips=$((py_tasks / 10))
mr_log "executors over the job's ranks (mpirun -np $ranks) and round trips ($roundtrips C++, $py_roundtrips Python)"
comm_submit=$(best_rate "${in_job[@]}" "$bench" submit "$tasks" "$workers" comm)
comm_gather=$(best_rate "${in_job[@]}" "$bench" gather "$tasks" "$workers" comm)
comm_rt=$(best_median "${in_job[@]}" "$bench" roundtrip "$roundtrips" "$workers" comm)
if "$py_mpi" -c "import mpi4py" 2>/dev/null; then
  mpi4py_submit=$(best_rate "${in_job[@]}" "$py_mpi" "$MR_ROOT/scripts/bench_executor.py" submit "$py_tasks" "$workers" comm)
  mpi4py_gather=$(best_rate "${in_job[@]}" "$py_mpi" "$MR_ROOT/scripts/bench_executor.py" gather "$py_tasks" "$workers" comm)
  mpi4py_rt=$(best_median "${in_job[@]}" "$py_mpi" "$MR_ROOT/scripts/bench_executor.py" roundtrip "$py_roundtrips" "$workers" comm)
  mpi4py_row="$(printf "%.0f" "$mpi4py_submit") tasks/s | $(printf "%.0f" "$mpi4py_gather") tasks/s | $mpi4py_rt µs"
else
  mr_log "$py_mpi has no mpi4py: its row is skipped (apt-get install python3-mpi4py, or set MR_MPI4PY_PYTHON)"
  mpi4py_row="not run: no mpi4py in $py_mpi | | "
fi
spawn_rt=$(best_median "$bench" roundtrip "$roundtrips" "$workers")
py_rt=$(best_median python3 "$MR_ROOT/scripts/bench_executor.py" roundtrip "$py_roundtrips" "$workers")

data=$MR_ROOT/data/bench_executor_text_$size.txt
if [[ ! -f $data ]]; then
  mr_log "generating $size of text in $data"
  mkdir -p "$MR_ROOT/data"
  python3 "$MR_ROOT/scripts/gen_data.py" text --size "$size" -o "$data"
fi
mr_log "word count of $data: pool engine vs SPMD engine"
pool_s=$(best_seconds "$mapreduce" --workers "$workers" --top 10 "$data")
spmd_s=$(best_seconds mpirun --oversubscribe -np "$workers" "$mapreduce" --top 10 "$data")
# The pool's parent picks Open MPI's ob1 PML itself (no fabric probing at MPI_Init and spawn);
# under mpirun that choice is the user's, so the SPMD engine is also timed with it.
spmd_ob1_s=$(OMPI_MCA_pml=ob1 best_seconds mpirun --oversubscribe -np "$workers" "$mapreduce" --top 10 "$data")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
cat <<TABLE
| Benchmark ($workers workers, best of $repeat) | mr (C++) | Python | Speed-up | Target |
|---|---|---|---|---|
| ProcessPoolExecutor submit + result | $(printf "%.0f" "$cpp_submit") tasks/s | $(printf "%.0f" "$py_submit") tasks/s | $(ratio "$cpp_submit" "$py_submit")x | >= 150000 tasks/s |
| run_in_executor + gather | $(printf "%.0f" "$cpp_gather") tasks/s | $(printf "%.0f" "$py_gather") tasks/s | $(ratio "$cpp_gather" "$py_gather")x | >= 100000 tasks/s |

| Word count, $size ($workers processes, wall clock incl. start-up, best of $repeat) | Seconds |
|---|---|
| SPMD engine: \`mpirun -np $workers mapreduce\` | $spmd_s |
| SPMD engine with \`OMPI_MCA_pml=ob1\` | $spmd_ob1_s |
| Pool engine: \`mapreduce --workers $workers\` | $pool_s |
| Pool speed relative to SPMD (target >= 0.80) | $(ratio "$spmd_s" "$pool_s") |
| Pool speed relative to SPMD with ob1 | $(ratio "$spmd_ob1_s" "$pool_s") |

| Executor ($workers workers, best of $repeat) | submit + result | run_in_executor + gather | submit round trip (median) |
|---|---|---|---|
| \`mr::ProcessPoolExecutor\` (spawned workers) | $(printf "%.0f" "$cpp_submit") tasks/s | $(printf "%.0f" "$cpp_gather") tasks/s | $spawn_rt µs |
| \`mr::CommExecutor\` (\`mpirun -np $ranks\`, ob1) | $(printf "%.0f" "$comm_submit") tasks/s | $(printf "%.0f" "$comm_gather") tasks/s | $comm_rt µs |
| mpi4py.futures \`MPICommExecutor\` (\`mpirun -np $ranks\`, ob1) | $mpi4py_row |
| Python \`ProcessPoolExecutor\` | $(printf "%.0f" "$py_submit") tasks/s | $(printf "%.0f" "$py_gather") tasks/s | $py_rt µs |
| CommExecutor target | | >= 300000 tasks/s | <= 15 µs |
TABLE
