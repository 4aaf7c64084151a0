#!/usr/bin/env bash
# Runs every batch script in scripts/slurm/ locally, inside the environment a 1-node,
# 2-task Slurm allocation sets, and compares each job's result with the oracle,
# tests/support/oracle.py. The pool scripts run `mapreduce --workers 1` (world mode and spawn).
#   slurm_test.sh MR_ROOT MAPREDUCE_PROGRAM WORK_DIR
set -euo pipefail
(($# == 3)) || { echo "usage: $0 MR_ROOT MAPREDUCE_PROGRAM WORK_DIR" >&2; exit 2; }
root=$(cd "$1" && pwd) program=$(realpath "$2") work=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
oracle=$(cd "$here/../support" && pwd)/oracle.py
slurm=$root/scripts/slurm

rm -rf "$work"
mkdir -p "$work/data/text/more" "$work/stub"
cd "$work"
python3 - "$work/data" <<'PY'
import random, sys
out = sys.argv[1]
rng = random.Random(5)
words = [f"w{i}" for i in range(300)] + ["Aardvark", "don't", "caf\u00e9"]
weights = [1 / (i + 1) for i in range(len(words))]
for name in ["text/a.txt", "text/b.txt", "text/more/c.txt"]:
    with open(f"{out}/{name}", "w", encoding="utf-8") as f:
        for _ in range(2000):
            f.write(" ".join(rng.choices(words, weights, k=rng.randint(0, 12))) + "\n")
with open(f"{out}/1gram.tsv", "w", encoding="utf-8") as f:
    for _ in range(5000):
        f.write(f"{rng.choice(words)}\t{rng.randint(1800, 2008)}\t{rng.randint(1, 10**6)}\t{rng.randint(1, 99)}\n")
PY

fail() { echo "FAIL: $*" >&2; exit 1; }

# The variables Slurm sets in a batch job on a 1-node allocation with 2 tasks.
node=$(hostname)
slurm_env=(
  SLURM_JOB_ID=4242 SLURM_JOBID=4242 SLURM_JOB_NAME=mr-test SLURM_CLUSTER_NAME=fake
  SLURM_JOB_NUM_NODES=1 SLURM_NNODES=1 SLURM_JOB_NODELIST="$node" SLURM_NODELIST="$node"
  SLURM_NTASKS=2 SLURM_NPROCS=2 SLURM_NTASKS_PER_NODE=2 SLURM_TASKS_PER_NODE=2
  SLURM_CPUS_ON_NODE=2 SLURM_JOB_CPUS_PER_NODE=2 SLURM_NODEID=0 SLURM_PROCID=0 SLURM_LOCALID=0
  SLURM_SUBMIT_DIR="$work" SLURM_SUBMIT_HOST="$node" SLURMD_NODENAME="$node"
)
# A real srun on this machine would need a real allocation: force the mpirun fallback.
launcher=auto
command -v srun >/dev/null && launcher=mpirun
run_job() {  # run_job LOG SCRIPT ARGS... (inside the fake allocation, like slurmd would)
  local log=$1
  shift
  env "${slurm_env[@]}" MR_ROOT="$root" MR_BIN="$program" MR_LAUNCHER="${MR_LAUNCHER:-$launcher}" \
    bash "$@" >"$log" 2>&1 || { local rc=$?; cat "$log" >&2; fail "$* exited with $rc"; }
}
same() {  # same EXPECTED ACTUAL
  cmp -s "$1" "$2" || { diff "$1" "$2" | head -20 >&2; fail "$2 differs from the oracle's $1"; }
}

echo "-- wordcount.sbatch (srun missing -> mpirun fallback)"
"$oracle" --top 3 --output expected-wc.tsv data/text >expected-wc-top.txt
run_job wc.log "$slurm/wordcount.sbatch" data/text
same expected-wc.tsv wordcount-4242.tsv
grep -qF "$(head -1 expected-wc-top.txt)" wc.log || fail "wordcount log lacks the top word"
grep -q "mpirun -np 2 " wc.log || fail "wordcount did not fall back to mpirun -np 2"

echo "-- wordcount.sbatch, alnum words, input from MR_INPUT, through srun"
# A stand-in srun that records its arguments and runs the job with mpirun.
cat >stub/srun <<'STUB'
#!/usr/bin/env bash
echo "$*" >>"$SRUN_LOG"
[[ "$1" == --mpi=* && "$2" == -n ]] || { echo "stub srun: unexpected arguments $*" >&2; exit 2; }
n=$3
shift 3
exec mpirun -np "$n" "$@"
STUB
chmod +x stub/srun
"$oracle" --words alnum --output expected-alnum.tsv data/text/a.txt data/text/b.txt >/dev/null
PATH="$work/stub:$PATH" SRUN_LOG="$work/srun.log" MR_LAUNCHER=auto MR_INPUT="data/text/a.txt data/text/b.txt" \
  MR_WORDS=alnum MR_OUTPUT=alnum.tsv run_job srun.out "$slurm/wordcount.sbatch"
same expected-alnum.tsv alnum.tsv
grep -qx -- "--mpi=pmix -n 2 .*" srun.log || fail "srun was not called as 'srun --mpi=pmix -n 2 ...': $(cat srun.log)"

echo "-- ngram.sbatch with queries"
"$oracle" --job ngram --query Aardvark --query nosuch --output expected-ngram.tsv data/1gram.tsv >expected-query.txt
MR_QUERY="Aardvark nosuch" MR_TOP=0 run_job ngram.log "$slurm/ngram.sbatch" data/1gram.tsv
same expected-ngram.tsv ngram-4242.tsv
while read -r line; do
  grep -qxF "$line" ngram.log || fail "ngram log lacks the query answer '$line'"
done <expected-query.txt

echo "-- multinode.sbatch (on the one fake node)"
run_job multi.log "$slurm/multinode.sbatch" data/text data/1gram.tsv
same expected-wc.tsv mr-multinode-4242/wordcount.tsv
same expected-ngram.tsv mr-multinode-4242/ngram.tsv

echo "-- pool-world.sbatch: mapreduce --workers 1 on the job's 2 ranks (world mode), through srun"
: >srun.log
PATH="$work/stub:$PATH" SRUN_LOG="$work/srun.log" MR_LAUNCHER=auto \
  run_job pool-world.log "$slurm/pool-world.sbatch" "$program" --workers 1 --output pool-world.tsv data/text
same expected-wc.tsv pool-world.tsv
grep -qx -- "--mpi=pmix -n 2 .*" srun.log || fail "pool-world.sbatch did not call 'srun --mpi=pmix -n 2 ...': $(cat srun.log)"
grep -q "pool workers: ranks 1..1 " pool-world.log || fail "pool-world.sbatch did not announce its workers"

echo "-- pool-spawn.sbatch: one parent under mpirun, its worker spawned in the allocation"
run_job pool-spawn.log "$slurm/pool-spawn.sbatch" "$program" --workers 1 --output pool-spawn.tsv data/text
same expected-wc.tsv pool-spawn.tsv
grep -q "mpirun -np 1 " pool-spawn.log || fail "pool-spawn.sbatch did not start one parent with mpirun -np 1"

echo "-- hostfile-run.sh (no Slurm)"
echo "localhost slots=2" >hosts
MR_BIN="$program" MR_OUTPUT=hostfile.tsv "$slurm/hostfile-run.sh" hosts ngram data/1gram.tsv >hostfile.log 2>&1 ||
  { cat hostfile.log >&2; fail "hostfile-run.sh exited with an error"; }
same expected-ngram.tsv hostfile.tsv
grep -q "mpirun -np 2 --hostfile hosts" hostfile.log || fail "hostfile-run.sh did not use 2 slots from the hostfile"

echo "-- a job without input fails clearly"
if env "${slurm_env[@]}" MR_ROOT="$root" MR_BIN="$program" bash "$slurm/wordcount.sbatch" >noinput.log 2>&1; then
  fail "wordcount.sbatch without input succeeded"
fi
grep -q "no input" noinput.log || fail "no clear message without input: $(cat noinput.log)"

echo "PASS"
