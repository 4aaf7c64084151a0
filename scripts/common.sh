# Shared settings for the scripts in this folder; source it, don't run it.
# shellcheck shell=bash

MR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MR_BUILD_DIR=${MR_BUILD_DIR:-$MR_ROOT/build}
MR_JOBS=${MR_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Open MPI refuses to run as root and to oversubscribe cores unless told; containers and
# 2-core test machines need both.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

mr_log() { printf '==> %s\n' "$*" >&2; }
