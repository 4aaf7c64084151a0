#!/usr/bin/env python3
"""Rank 0 holds only its share: a job with 2,000,000 distinct keys written with --output at
4 ranks, against the same job at 1 rank. Each rank reports its peak resident memory (VmHWM
of /proc/self/status) in the --json summary. Memory above each run's floor (the same program
on a three-word input: the MPI runtime and the binary) must be, on rank 0, well below the
whole table's (the 1-rank run's), and about what every other rank needs: no rank gathers the
table or funnels the output. Both outputs are checked against the oracle.

With --workers N the same on the pool engine, 1 worker against N: there the parent holds no
part of the result (the workers shuffle, sort and write it), so its memory above the floor
must stay a small fraction of the whole table, and no worker's may reach the whole table's.

  memory_test.py --mapreduce BIN --mpiexec MPIRUN [--workers N]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import oracle  # noqa: E402  (tests/support/oracle.py)

DISTINCT = 2_000_000
RANKS = 4


def summary(args, np, *options):
    if args.workers:
        command = [args.mapreduce, "--workers", str(np), "--json", *options]
    else:
        command = [args.mpiexec, "-np", str(np), "--oversubscribe", args.mapreduce, "--json", *options]
    result = subprocess.run(command, capture_output=True, timeout=240)
    if result.returncode != 0:
        sys.exit("FAIL: %s exited %d: %s" % (command, result.returncode, result.stderr.decode(errors="replace")[-500:]))
    return json.loads(result.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mapreduce", required=True)
    parser.add_argument("--mpiexec", default="mpirun")
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    processes = args.workers or RANKS
    # A pool reports the parent's peak first, then each worker's.
    first = 1 if args.workers else 0
    work = tempfile.mkdtemp(prefix="mr_memory_")
    failures = []
    try:
        keys = [b"k%07d" % i for i in range(DISTINCT)]
        random.Random(7).shuffle(keys)
        text = b"".join(b" ".join(keys[i:i + 10]) + b"\n" for i in range(0, DISTINCT, 10))
        data = os.path.join(work, "keys.txt")
        with open(data, "wb") as f:
            f.write(text)
        tiny = os.path.join(work, "tiny.txt")
        with open(tiny, "wb") as f:
            f.write(b"a b c\n")
        expected = oracle.tsv(oracle.word_counts(text))

        peaks = {}
        for np in (1, processes):
            floor = summary(args, np, tiny)["peak_rss_bytes"]
            out = os.path.join(work, "out%d.tsv" % np)
            run = summary(args, np, "--output", out, data)
            with open(out, "rb") as f:
                if f.read() != expected:
                    failures.append("-np %d output differs from the oracle" % np)
            if run["distinct_keys"] != DISTINCT or len(run["peak_rss_bytes"]) != np + first:
                failures.append("-np %d summary: %s" % (np, run))
                continue
            peaks[np] = [max(0, peak - min(floor)) for peak in run["peak_rss_bytes"]]
            print("%s %d: floor %s MB, above the floor %s MB" % (
                "workers" if args.workers else "-np", np, [f // 2**20 for f in floor], [p // 2**20 for p in peaks[np]]),
                flush=True)
        if len(peaks) == 2 and args.workers:
            whole, parent, workers = peaks[1][1], peaks[processes][0], peaks[processes][1:]
            # The parent maps nothing and merges nothing: its memory above the floor is the
            # pool's bookkeeping, whatever the number of keys.
            if not parent <= 0.1 * whole:
                failures.append("the pool's parent needs %d MB with %d workers, the whole table %d MB" % (
                    parent // 2**20, processes, whole // 2**20))
            # Map tasks go to whichever worker is free, so one worker may map more of the input
            # than another (and its table double once more): the workers are not compared with
            # each other. None holds the whole table, though, worker 0 (the tail's root) included:
            # a gather there would need the whole table on top of its own share.
            for worker, peak in enumerate(workers):
                if not peak <= 0.85 * whole:
                    failures.append("worker %d needs %d MB, the whole table %d MB" % (
                        worker, peak // 2**20, whole // 2**20))
        elif len(peaks) == 2:
            whole, rank0, others = peaks[1][0], peaks[RANKS][0], peaks[RANKS][1:]
            # A rank's share is a quarter of the keys; its transient buffers (shuffle, sort)
            # are of the same order. 0.6 of the whole leaves room for noise and is far below
            # what a gather or an output funnel through rank 0 needs (the whole table).
            if not rank0 <= 0.6 * whole:
                failures.append("rank 0 needs %d MB at %d ranks, the whole table %d MB" % (
                    rank0 // 2**20, RANKS, whole // 2**20))
            if not rank0 <= 1.3 * max(others):
                failures.append("rank 0 needs %d MB, other ranks at most %d MB" % (rank0 // 2**20, max(others) // 2**20))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print("FAIL:", failure)
    if not failures:
        print("all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
