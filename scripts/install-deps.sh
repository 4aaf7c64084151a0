#!/usr/bin/env bash
# Installs the Debian 12 packages mr needs, only those that are missing. Idempotent:
# with everything present it changes nothing and needs no network.
set -euo pipefail

packages=(
  build-essential cmake git python3 pkg-config
  openmpi-bin libopenmpi-dev
  libboost-dev libboost-mpi-dev libboost-serialization-dev
  libgtest-dev zlib1g-dev libisal-dev libcli11-dev
)
# Extra tools for the hardening checks (sanitizers use clang's runtime, fuzzers libFuzzer).
if [[ "${MR_WITH_DEV_TOOLS:-0}" == 1 ]]; then
  packages+=(clang libclang-rt-dev shellcheck)
fi

# Comparisons the benchmarks run (scripts/bench): abseil's flat_hash_map, mpi4py.futures.
if [[ "${MR_WITH_BENCH_TOOLS:-0}" == 1 ]]; then
  packages+=(libabsl-dev python3-mpi4py)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "==> all dependencies present" >&2
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "==> installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# One update only when the package lists are missing or a package is not found in them.
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
