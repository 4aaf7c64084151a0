#!/usr/bin/env python3
"""Where a pool's workers come from (issue 11), on tests/pool/launch_program.cpp:

- world mode under mpirun -np 3 (MR_POOL_LAUNCH=world, PoolOptions::launch in code, the
  Runtime argument, and automatic) prints exactly what the same program prints with spawned workers, runs no task
  on rank 0, spawns nothing (3 processes of the program in the job) and ranks 1..2 print
  nothing (they never run main's body);
- a second concurrent world-mode pool fails with the documented UsageError, the first works on;
- world mode in a one-rank job is a clear error, not a hang;
- singleton: pools of 1, 2 and 4 workers start with OMPI_MCA_rmaps_base_oversubscribe unset;
- under mpirun without oversubscription, a pool larger than the free slots fails with
  BrokenPool and its advice within the start timeout, and mpirun exits;
- PoolOptions::hosts and ::hostfile place spawned workers (this host standing in for a node);
- under mpirun --enable-recovery, a serving rank that dies breaks the pool (BrokenPool) and the
  job still ends.

usage: launch_test.py <pool_launch_program> <mpiexec>
"""
import os
import socket
import subprocess
import sys

program, mpiexec = sys.argv[1], sys.argv[2]
failures = []


def run(command, env_changes=None, unset=(), timeout=90):
    env = dict(os.environ)
    env.update(env_changes or {})
    for name in unset:
        env.pop(name, None)
    try:
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        failures.append(f"timed out after {timeout} s: {' '.join(command)}")
        return 124, "", ""
    return done.returncode, done.stdout, done.stderr


def check(condition, what, output=""):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what + ("\n" + output if output else ""))


def mpirun(ranks, *args, launch=None, oversubscribe=True):
    command = [mpiexec, "-np", str(ranks)]
    if oversubscribe:
        command.append("--oversubscribe")
    if launch:
        command += ["-x", f"MR_POOL_LAUNCH={launch}"]
    return command + [program, *args]


# The reference: two spawned workers, no launcher.
rc, expected, err = run([program, "results", "2"], unset=["MR_POOL_LAUNCH"])
check(rc == 0 and expected.startswith("apply 49\n"), "spawned pool (reference) runs", err)

for label, command, env in [
    ("MR_POOL_LAUNCH=world", mpirun(3, "results", "0", launch="world"), {}),
    ("PoolOptions::launch = world in code", mpirun(3, "results", "0", "in-code"), {}),
    ("mr::Runtime(argc, argv, PoolLaunch::world)", mpirun(3, "results", "0", "runtime"), {}),
    ("MR_POOL_LAUNCH=automatic", mpirun(3, "results", "0", launch="automatic"), {}),
]:
    rc, out, err = run(command, env)
    check(rc == 0, f"world mode ({label}) exits 0", out + err)
    check(out == expected, f"world mode ({label}) prints what the spawned pool prints, once", out)
    check("workers 2 job_processes 3" in err, f"world mode ({label}): 2 workers, no process spawned", err)
    check("root_runs_tasks 0" in err, f"world mode ({label}): rank 0 runs no task", err)

rc, out, err = run([program, "results", "2"], {"MR_POOL_LAUNCH": "automatic"})
check(rc == 0 and out == expected, "automatic without a launcher spawns", out + err)

rc, out, err = run(mpirun(3, "concurrent", launch="world"))
check(rc == 0 and "first 9\n" in out and "first again 16\n" in out, "world mode: the first pool works on", out + err)
check("second: mr: another world-mode pool still holds ranks 1..N-1" in out,
      "world mode: a second concurrent pool is a UsageError after its start timeout", out + err)

rc, out, err = run(mpirun(1, "results", "0", launch="world"), timeout=60)
check(rc != 0 and "this job has one rank" in out + err, "world mode in a one-rank job is a clear error", out + err)

rc, out, err = run([program, "sizes"], unset=["OMPI_MCA_rmaps_base_oversubscribe", "MR_POOL_LAUNCH"])
for workers in (1, 2, 4):
    check(f"pool of {workers}: {workers} workers" in out,
          f"singleton, oversubscription unset: a pool of {workers} starts {workers} workers", out + err)

rc, out, err = run(mpirun(1, "refused", "4", oversubscribe=False), unset=["OMPI_MCA_rmaps_base_oversubscribe"],
                   timeout=60)
check(rc == 0 and "refused after" in out, "mpirun without oversubscription: too large a pool is refused", out + err)
for advice in ("--oversubscribe", "PoolOptions::hosts", "PoolLaunch::world"):
    check(advice in out, f"the refusal advises {advice}", out)
if "refused after" in out:
    seconds = float(out.split("refused after ")[1].split(" s")[0])
    check(seconds < 20, f"refused within the start timeout ({seconds} s < 20 s)")

# A serving rank dies in a task, with the launcher's recovery on (else mpirun ends the job):
# the root's futures fail with BrokenPool at once, the live ranks leave the broken pool, and
# the whole job ends instead of waiting on the dead rank in MPI_Finalize.
for label, args in [("CommExecutor", ["deadrank"]), ("world-mode pool", ["deadrank", "world"])]:
    command = mpirun(3, *args)
    command.insert(1, "--enable-recovery")
    rc, out, err = run(command, unset=["MR_POOL_LAUNCH"], timeout=60)
    check("before 36\n" in out and "broken after" in out and "terminated abruptly" in out,
          f"a dead serving rank of a {label}: BrokenPool on the root", out + err)
    check(rc != 124, f"a dead serving rank of a {label}: the job ends (no hang)", out + err)

# Placement: PoolOptions::hosts (this host, 4 slots) and a hostfile, without and with a launcher.
hostfile = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"mr-launch-test-hosts-{os.getpid()}")
with open(hostfile, "w") as f:
    f.write(f"{socket.gethostname()} slots=4\n")
for label, command in [("hosts, singleton", [program, "hosts"]),
                       ("hostfile, singleton", [program, "hosts", hostfile]),
                       ("hosts, under mpirun", mpirun(1, "hosts"))]:
    rc, out, err = run(command, unset=["MR_POOL_LAUNCH"], timeout=60)
    check(rc == 0 and "placed pool: 2 workers, sum 14" in out, f"a pool placed by {label} runs", out + err)
    check("world with hosts: mr: PoolOptions::hosts and hostfile place spawned workers" in out,
          f"{label}: hosts with world mode is a UsageError", out)
os.unlink(hostfile)

if failures:
    print("\n".join(["", "FAILED:"] + failures))
    sys.exit(1)
print("all launch checks passed")
