#!/usr/bin/env bash
# Installs what is missing, builds, generates a small sample and runs the main job on it:
# word count (top words and a query) and the n-gram question "how often does Aardvark occur?".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$MR_ROOT/scripts/install-deps.sh"
"$MR_ROOT/scripts/build.sh"

sample=$MR_ROOT/data/sample
mkdir -p "$sample"
[[ -f $sample/text.txt ]] || python3 "$MR_ROOT/scripts/gen_data.py" text --size 20M --seed 1 -o "$sample/text.txt"
[[ -f $sample/1gram.tsv ]] || python3 "$MR_ROOT/scripts/gen_data.py" ngram --size 20M --seed 1 -o "$sample/1gram.tsv"
mapreduce=$MR_BUILD_DIR/src/mapreduce

mr_log "mpirun -np 2 mapreduce --top 10 --query the --query whale $sample/text.txt"
mpirun --oversubscribe -np 2 "$mapreduce" --top 10 --query the --query whale "$sample/text.txt"

first=$(head -c 200 "$sample/1gram.tsv" | cut -f1 | head -1)
mr_log "mpirun -np 2 mapreduce --job ngram --top 5 --query $first --query Aardvark $sample/1gram.tsv"
mpirun --oversubscribe -np 2 "$mapreduce" --job ngram --top 5 --query "$first" --query Aardvark \
  --output "$MR_ROOT/data/sample/1gram-counts.tsv" "$sample/1gram.tsv"
mr_log "every count: $MR_ROOT/data/sample/1gram-counts.tsv"
