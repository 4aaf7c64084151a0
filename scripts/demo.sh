#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on a generated sample.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$MR_ROOT/scripts/install-deps.sh"
"$MR_ROOT/scripts/build.sh"
echo "demo: the mapreduce program is not implemented yet" >&2
