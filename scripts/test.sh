#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$MR_ROOT/scripts/install-deps.sh"
"$MR_ROOT/scripts/build.sh"
cd "$MR_BUILD_DIR"
ctest --output-on-failure -j "${MR_TEST_JOBS:-2}" "$@"
