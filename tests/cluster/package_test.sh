#!/usr/bin/env bash
# Builds the user project in consumer/ against mr and runs it under `mpirun -np 2`.
#   package_test.sh find_package MR_BUILD_DIR WORK_DIR [CMAKE_ARGS...]
#       installs MR_BUILD_DIR into WORK_DIR/prefix with `cmake --install`, then builds the
#       consumer with find_package(mr CONFIG REQUIRED)
#   package_test.sh add_subdirectory MR_SOURCE_DIR WORK_DIR [CMAKE_ARGS...]
#       builds the consumer with add_subdirectory(MR_SOURCE_DIR)
set -euo pipefail
(($# >= 3)) || { echo "usage: $0 find_package|add_subdirectory MR_DIR WORK_DIR [CMAKE_ARGS...]" >&2; exit 2; }
mode=$1 mr_dir=$2 work=$3
shift 3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

rm -rf "$work"
mkdir -p "$work"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
case "$mode" in
  find_package)
    cmake --install "$mr_dir" --prefix "$work/prefix" >"$work/install.log"
    for file in include/mr/mr.hpp lib/cmake/mr/mrConfig.cmake lib/cmake/mr/mrConfigVersion.cmake bin/mapreduce; do
      [[ -e "$work/prefix/$file" ]] || { echo "FAIL: cmake --install did not install $file" >&2; exit 1; }
    done
    ls "$work"/prefix/lib/libmr.* >/dev/null || { echo "FAIL: libmr not installed" >&2; exit 1; }
    configure=(-DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release)
    ;;
  add_subdirectory)
    # Compiles all of mr again: unoptimised, which halves the compile time on small CI machines.
    configure=(-DMR_SOURCE_DIR="$mr_dir" -DCMAKE_BUILD_TYPE=Debug)
    ;;
  *)
    echo "unknown mode '$mode'" >&2
    exit 2
    ;;
esac

cmake -S "$here/consumer" -B "$work/build" "${generator[@]}" "${configure[@]}" "$@" >"$work/configure.log" || { cat "$work/configure.log" >&2; exit 1; }
# Only the user's target (and, for add_subdirectory, the library it needs).
cmake --build "$work/build" -j "${MR_JOBS:-2}" --target user_job >"$work/build.log" ||
  { tail -50 "$work/build.log" >&2; exit 1; }

# The job's answer, checked against the same count done in Python.
python3 -c 'import random; r = random.Random(7); print("\n".join(" ".join(r.choice(["apple", "Bob", "cat", "année", "x"]) for _ in range(r.randint(0, 9))) for _ in range(3000)))' >"$work/input.txt"
expected=$(python3 -c 'import collections, sys
c = collections.Counter(w[:1] for w in open(sys.argv[1], "rb").read().split())
sys.stdout.buffer.write(b"".join(k + b" " + str(v).encode() + b"\n" for k, v in sorted(c.items())))' "$work/input.txt")
# Shared memory and, as between nodes, TCP only.
for transport in "" "--mca btl tcp,self"; do
  # shellcheck disable=SC2086  # $transport is a list of options
  output=$(mpirun --oversubscribe -np 2 $transport "$work/build/user_job" "$work/input.txt")
  [[ "$output" == "$expected" ]] ||
    { printf 'FAIL (%s): got\n%s\nexpected\n%s\n' "${transport:-shm}" "$output" "$expected" >&2; exit 1; }
done
echo "PASS: $mode"
