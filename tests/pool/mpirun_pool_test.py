#!/usr/bin/env python3
"""Runs a pool test binary under mpirun and judges it by what every rank reported.

Open MPI 4.1 now and then leaves a spawned child stuck inside MPI_Init when its spawn overlaps
the end of another spawned job. The pool abandons such a start after 8 s and retries
("... took over 8 s; trying again"), and the stuck child exits by itself; mpirun then reports
that child's exit as an improper termination and returns non-zero although every test passed.
Only that exact case is accepted: all ranks printed gtest's PASSED line, none printed FAILED,
and the pool logged the retry. When the stuck child's exit makes mpirun kill the job before
the tests end (the retry logged, no FAILED, not every rank done), the job is run once more,
and that second run alone decides. Anything else fails as mpirun said.
"""
import subprocess
import sys

ranks = int(sys.argv[1])
command = sys.argv[2:]


def attempt():
    """Runs the job; returns (exit status to report, whether the job was cut short by the hang)."""
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace")
    sys.stdout.write(run.stdout)
    if run.returncode == 0:
        return 0, False
    passed = run.stdout.count("[  PASSED  ]")
    failed = "[  FAILED  ]" in run.stdout
    retried = "trying again" in run.stdout
    if passed == ranks and not failed and retried:
        print(f"note: mpirun returned {run.returncode} for a spawned child the pool abandoned "
              "(Open MPI 4.1 spawn hang, retried successfully); all ranks passed")
        return 0, False
    return run.returncode, retried and not failed


status, cut_short = attempt()
if cut_short:
    print("note: the job was killed after the pool abandoned a stuck spawn (Open MPI 4.1); "
          "running it once more")
    status, _ = attempt()
sys.exit(status)
