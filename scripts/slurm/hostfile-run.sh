#!/usr/bin/env bash
# Runs mr on a set of machines without a batch system: plain `mpirun --hostfile`.
#
#   scripts/slurm/hostfile-run.sh HOSTFILE wordcount|ngram INPUT... [-- MAPREDUCE_OPTIONS...]
#
# HOSTFILE has one line per machine, e.g.
#   node01 slots=16
#   node02 slots=16
# Requirements: the same mr build at the same path on every machine (or on a shared file
# system), the inputs readable at the same path everywhere, and password-less ssh from
# this machine to the others (Open MPI starts its daemons with ssh).
# Variables: MR_BIN, MR_NTASKS (default: the sum of slots), MR_OUTPUT (default
# <job>.tsv), MR_MPIRUN_ARGS (e.g. "--mca btl_tcp_if_include eth0").
set -euo pipefail

# shellcheck source=launch.sh
source "$(dirname "${BASH_SOURCE[0]}")/launch.sh"
export MR_ROOT
MR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

(($# >= 3)) || mr_die "usage: hostfile-run.sh HOSTFILE wordcount|ngram INPUT... [-- MAPREDUCE_OPTIONS...]"
hostfile=$1
job=$2
shift 2
[[ -r "$hostfile" ]] || mr_die "cannot read hostfile $hostfile"
[[ "$job" == wordcount || "$job" == ngram ]] || mr_die "job must be wordcount or ngram, got '$job'"

inputs=()
while (($#)) && [[ "$1" != -- ]]; do inputs+=("$1"); shift; done
(($#)) && shift  # the --
options=("$@")
((${#inputs[@]})) || mr_die "no input given"

if [[ -z "${MR_NTASKS:-}" ]]; then
  # Sum of slots=N over the hostfile's non-comment lines; a host without slots= counts 1.
  MR_NTASKS=$(awk '!/^[[:space:]]*(#|$)/ { n = 1; for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) { split($i, s, "="); n = s[2] } total += n } END { print total + 0 }' "$hostfile")
fi
export MR_NTASKS
mr_find_program

MR_LAUNCHER=mpirun MR_HOSTFILE=$hostfile \
  mr_run "$MR_BIN" --job "$job" --output "${MR_OUTPUT:-$job.tsv}" "${options[@]}" "${inputs[@]}"
