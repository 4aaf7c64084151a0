# Shared launcher for the mr batch scripts in this folder; source it, don't run it.
# shellcheck shell=bash
#
# Settings (environment variables, all optional):
#   MR_BIN       the mapreduce program (default: $MR_ROOT/build/src/mapreduce, else `mapreduce` on PATH)
#   MR_LAUNCHER  auto (default: srun inside a Slurm job when srun exists, else mpirun), srun or mpirun
#   MR_NTASKS    number of ranks (default: SLURM_NTASKS inside a job, else the number of cores)
#   MR_SRUN_MPI  srun's --mpi plugin (default: pmix; Debian's Open MPI 4.1 speaks PMIx)
#   MR_MPIRUN_ARGS extra arguments for mpirun, e.g. "--mca btl tcp,self --mca btl_tcp_if_include eth0"
#   MR_HOSTFILE  hostfile for mpirun (plain clusters without a batch system)

# Slurm runs a *copy* of the batch script from its spool directory, so the repository is
# found through MR_ROOT or the directory sbatch was called from, not through $0.
mr_find_root() {
  local candidate
  for candidate in "${MR_ROOT:-}" "${SLURM_SUBMIT_DIR:-}" "$(pwd)"; do
    if [[ -n "$candidate" && -f "$candidate/scripts/slurm/launch.sh" ]]; then
      (cd "$candidate" && pwd)
      return 0
    fi
  done
  return 1
}

mr_log() { printf '==> %s\n' "$*" >&2; }
mr_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Resolves MR_BIN to an executable mapreduce program.
mr_find_program() {
  if [[ -n "${MR_BIN:-}" ]]; then
    [[ -x "$MR_BIN" ]] || mr_die "MR_BIN=$MR_BIN is not an executable file"
  elif [[ -n "${MR_ROOT:-}" && -x "$MR_ROOT/build/src/mapreduce" ]]; then
    MR_BIN=$MR_ROOT/build/src/mapreduce
  elif command -v mapreduce >/dev/null; then
    MR_BIN=$(command -v mapreduce)
  else
    mr_die "mapreduce program not found: build it (./scripts/build.sh), install it, or set MR_BIN"
  fi
}

# The rank count: explicit MR_NTASKS, else what the Slurm allocation says, else the cores here.
mr_ntasks() {
  if [[ -n "${MR_NTASKS:-}" ]]; then
    echo "$MR_NTASKS"
  elif [[ -n "${SLURM_NTASKS:-}" ]]; then
    echo "$SLURM_NTASKS"
  else
    nproc 2>/dev/null || echo 1
  fi
}

# mr_run PROGRAM ARGS...: starts PROGRAM on all ranks with srun or mpirun.
mr_run() {
  local ntasks launcher
  ntasks=$(mr_ntasks)
  [[ "$ntasks" =~ ^[1-9][0-9]*$ ]] || mr_die "the number of ranks must be a positive integer, got '$ntasks'"
  launcher=${MR_LAUNCHER:-auto}
  if [[ "$launcher" == auto ]]; then
    if [[ -n "${SLURM_JOB_ID:-}" ]] && command -v srun >/dev/null; then
      launcher=srun
    else
      launcher=mpirun
    fi
  fi
  case "$launcher" in
    srun)
      command -v srun >/dev/null || mr_die "MR_LAUNCHER=srun but srun is not on PATH"
      mr_log "srun --mpi=${MR_SRUN_MPI:-pmix} -n $ntasks $*"
      srun --mpi="${MR_SRUN_MPI:-pmix}" -n "$ntasks" "$@"
      ;;
    mpirun)
      command -v mpirun >/dev/null || mr_die "neither srun nor mpirun found: load your MPI module"
      local extra=()
      # Word splitting is wanted here: MR_MPIRUN_ARGS is a list of options.
      # shellcheck disable=SC2206
      [[ -n "${MR_MPIRUN_ARGS:-}" ]] && extra=(${MR_MPIRUN_ARGS})
      [[ -n "${MR_HOSTFILE:-}" ]] && extra+=(--hostfile "$MR_HOSTFILE")
      mr_log "mpirun -np $ntasks ${extra[*]} $*"
      mpirun -np "$ntasks" "${extra[@]}" "$@"
      ;;
    *)
      mr_die "MR_LAUNCHER must be auto, srun or mpirun, got '$launcher'"
      ;;
  esac
}
