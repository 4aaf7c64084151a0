#!/usr/bin/env bash
# Lints every shell script of the project with shellcheck: scripts/, the batch scripts, .ci/run
# and the test scripts. Exit 77 (ctest: skipped) when shellcheck is not installed.
#   usage: shellcheck_test.sh MR_ROOT
set -euo pipefail
root=$(cd "${1:?usage: $0 MR_ROOT}" && pwd)
command -v shellcheck >/dev/null || { echo "shellcheck not installed (MR_WITH_DEV_TOOLS=1 scripts/install-deps.sh)"; exit 77; }
cd "$root"
mapfile -t files < <(
  { find scripts tests -type f \( -name '*.sh' -o -name '*.sbatch' \)
    # Extension-less scripts: anything with a shell shebang.
    find scripts .ci -type f ! -name '*.*' -exec grep -lE '^#!.*\b(ba)?sh\b' {} + 2>/dev/null || true
  } | sort -u)
((${#files[@]})) || { echo "no shell scripts found under $root" >&2; exit 1; }
printf 'checking %s\n' "${files[@]}"
# -x -P SCRIPTDIR: follow `source` (source= directives) relative to each script. SC1091
# (info: a computed source path it cannot follow) is not a defect.
shellcheck -x -P SCRIPTDIR -e SC1091 "${files[@]}"
echo "PASS: ${#files[@]} scripts"
