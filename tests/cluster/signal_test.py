#!/usr/bin/env python3
"""SIGINT/SIGTERM during a run stop every rank and worker, leave no output or temporary
file and no orphaned process.

  signal_test.py mapreduce MAPREDUCE WORK_DIR
  signal_test.py pool POOL_PROGRAM WORK_DIR

Every process of a run carries MR_SIGNAL_TEST_TAG=<unique> in its environment (mpirun
passes its environment on, spawned workers inherit it), so leftovers are found by
scanning /proc, wherever they were re-parented.
"""
import os
import random
import signal
import subprocess
import sys
import time
import uuid


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def tagged_processes(tag):
    needle = f"MR_SIGNAL_TEST_TAG={tag}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            if state != b"Z":
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


def wait_until(predicate, timeout, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def start(command, tag, **kwargs):
    env = dict(os.environ, MR_SIGNAL_TEST_TAG=tag)
    # Own session: the signal goes to the launcher only, as `kill PID` or scancel would.
    return subprocess.Popen(command, env=env, start_new_session=True, **kwargs)


def finish(proc, tag, label, sig):
    """Sends sig, then checks the run ended and left no process behind."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        fail(f"{label}: still running 30 s after {sig.name}")
    if proc.returncode == 0:
        fail(f"{label}: exit status 0 after {sig.name}")
    left = wait_until(lambda: not tagged_processes(tag), 10, 0.1) or tagged_processes(tag)
    if left is not True and left:
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        fail(f"{label}: processes left after {sig.name}: {left}")
    print(f"ok: {label}: {sig.name} -> exit {proc.returncode}, nothing left")


def no_files_but(directory, allowed, label, log=None):
    extra = sorted(set(os.listdir(directory)) - set(allowed))
    if extra:
        if log:  # how the ranks ended, in mpirun's words
            with open(log, errors="replace") as f:
                print(f"{label}: mpirun said:\n{f.read()}", file=sys.stderr)
        fail(f"{label}: files left in {directory}: {extra}")


def mapreduce_blocked_on_input(program, work, sig):
    """Rank 0 waits for stdin that never ends; the others wait for it."""
    label = f"mapreduce -np 2, blocked on stdin, {sig.name}"
    outdir = os.path.join(work, f"blocked-{sig.name}")
    os.makedirs(outdir)
    tag = uuid.uuid4().hex
    read_end, write_end = os.pipe()
    proc = start(["mpirun", "--oversubscribe", "-np", "2", program, "--output",
                  os.path.join(outdir, "out.tsv"), "-"], tag, stdin=read_end)
    os.close(read_end)
    os.write(write_end, b"some words\nand more words\n" * 1000)
    if not wait_until(lambda: len([c for c in tagged_processes(tag).values() if program in c]) >= 2, 20):
        fail(f"{label}: ranks did not start")
    time.sleep(0.5)
    finish(proc, tag, label, sig)
    os.close(write_end)
    # Known race, not the program's to win: on SIGINT/SIGTERM mpirun closes rank 0's stdin
    # at once but sends SIGTERM ~1 s later (odls_base_sigkill_timeout), so a job reading
    # stdin sees an ordinary EOF and may finish with what it read. Temp files must never stay.
    no_files_but(outdir, ["out.tsv"], label)
    if os.path.exists(os.path.join(outdir, "out.tsv")):
        print(f"note: {label}: mpirun closed stdin before SIGTERM; the run finished on the input read so far")


def catch_output_write(program, outdir, source, log):
    """Starts mapreduce -np 2 and stops rank 0 (SIGSTOP) the moment its temporary output
    file appears. Returns (proc, tag, the writer's pid, pids of the ranks) or None if the write
    was too quick to catch. mpirun's output goes to `log` (it says how each rank ended)."""
    tag = uuid.uuid4().hex
    with open(log, "wb") as stderr:
        proc = start(["mpirun", "--oversubscribe", "-np", "2", program, "--output",
                      os.path.join(outdir, "out.tsv"), source], tag,
                     stdout=subprocess.DEVNULL, stderr=stderr)
    temp = None
    deadline = time.monotonic() + 60
    while temp is None and proc.poll() is None and time.monotonic() < deadline:
        names = [n for n in os.listdir(outdir) if n != "out.tsv"]
        temp = names[0] if names else None
    if temp is not None:
        writer = int(temp.rsplit(".", 1)[1])  # the temp name ends with the writer's pid
        try:
            os.kill(writer, signal.SIGSTOP)
        except ProcessLookupError:
            pass
        if os.path.exists(os.path.join(outdir, temp)):
            ranks = [pid for pid, cmd in tagged_processes(tag).items() if cmd.startswith(program)]
            return proc, tag, writer, ranks
    proc.wait(timeout=60)
    for name in os.listdir(outdir):
        os.remove(os.path.join(outdir, name))
    return None


def many_keys_input(work):
    source = os.path.join(work, "many-keys.txt")
    if not os.path.exists(source):
        rng = random.Random(11)
        with open(source, "w") as f:
            for i in range(600_000):
                f.write(f"key{i:07d}x{rng.randrange(10**9)} common\n")
    return source, 600_001  # distinct keys = lines of a complete result


def mapreduce_while_writing(program, work, sig, direct):
    """The signal arrives while rank 0 writes its temporary output file. direct: every rank
    gets it at once, as scancel does to the tasks of a Slurm step; else only mpirun gets it
    (Ctrl-C, kill), which resumes and terminates its ranks."""
    target = "every rank" if direct else "mpirun"
    label = f"mapreduce -np 2, during the output write, {sig.name} to {target}"
    outdir = os.path.join(work, f"writing-{sig.name}-{target.replace(' ', '-')}")
    os.makedirs(outdir)
    source, complete_lines = many_keys_input(work)
    log = outdir + ".log"
    for _ in range(5):
        caught = catch_output_write(program, outdir, source, log)
        if caught:
            break
    else:
        print(f"skip: {label}: the output write was always faster than this test could catch it")
        return
    proc, tag, writer, ranks = caught
    if direct:
        # The writer first, and the others once it is gone. Signalled together, a rank that
        # ends first makes mpirun end the others: SIGCONT, a 1 s sleep, SIGTERM, a 1 s sleep,
        # SIGKILL, and in Open MPI 4.1 each sleep ends at the next SIGCHLD (strace: SIGKILL
        # 0.4 ms after one). A writer not yet scheduled since its SIGCONT (an ASan build on a
        # loaded 2-core machine) could then die by SIGKILL, which no program can clean up
        # after: CI saw its temporary file left once in many runs.
        for pid in sorted(ranks, key=lambda pid: pid != writer):
            try:
                os.kill(pid, sig)
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass  # mpirun already ended this rank, after the signal reached another one
            if pid == writer and not wait_until(lambda: writer not in tagged_processes(tag), 20, 0.02):
                for left in tagged_processes(tag):
                    os.kill(left, signal.SIGKILL)
                fail(f"{label}: rank 0 still running 20 s after {sig.name}")
    finish(proc, tag, label, sig)
    if direct:
        no_files_but(outdir, [], label, log)
        return
    # mpirun sends SIGCONT first and SIGTERM ~1 s later: rank 0 may finish its write in
    # between. Then the file must be whole; the temporary file must be gone either way.
    no_files_but(outdir, ["out.tsv"], label, log)
    result = os.path.join(outdir, "out.tsv")
    if os.path.exists(result):
        with open(result, "rb") as f:
            lines = sum(1 for _ in f)
        if lines != complete_lines:
            fail(f"{label}: partial output file ({lines} of {complete_lines} lines)")


def pool_program(program, work, sig, under_mpirun):
    label = f"pool of 2 {'under mpirun -np 1' if under_mpirun else 'singleton'}, {sig.name}"
    tag = uuid.uuid4().hex
    command = (["mpirun", "--oversubscribe", "-np", "1"] if under_mpirun else []) + [program]
    proc = start(command, tag, stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        proc.kill()
        fail(f"{label}: program did not start its pool (got {line!r})")
    # The parent and its 2 workers run the same executable.
    if not wait_until(lambda: len([c for c in tagged_processes(tag).values() if c.startswith(program)]) >= 3, 10):
        proc.kill()
        fail(f"{label}: expected the parent and 2 workers, found {tagged_processes(tag)}")
    finish(proc, tag, label, sig)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("mapreduce", "pool"):
        sys.exit(__doc__)
    kind, program, work = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    for sig in (signal.SIGINT, signal.SIGTERM):
        if kind == "mapreduce":
            mapreduce_blocked_on_input(program, work, sig)
            mapreduce_while_writing(program, work, sig, direct=False)
            mapreduce_while_writing(program, work, sig, direct=True)
        else:
            pool_program(program, work, sig, under_mpirun=False)
            pool_program(program, work, sig, under_mpirun=True)
    print("PASS")


if __name__ == "__main__":
    main()
