#!/usr/bin/env python3
"""Scale limits that fit a CI run, end to end through the mapreduce program at 1-3 ranks,
each result compared with the oracle's (tests/support/oracle.py, run as a program):
  - keys over 64 KiB (a 100 KiB word, a 70 KiB ngram);
  - a single line longer than a partition (--chunk-bytes 4096, a 1 MiB line);
  - many distinct keys (300,000), with tiny partitions so every rank exchanges.

  scale_test.py MAPREDUCE WORK_DIR
"""
import os
import random
import subprocess
import sys

ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "oracle.py")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(program, work, name, args, inputs, ranks=(1, 2, 3)):
    expected = os.path.join(work, f"{name}.expected")
    subprocess.run([sys.executable, ORACLE, *args, "--output", expected, *inputs],
                   check=True, stdout=subprocess.DEVNULL)
    with open(expected, "rb") as f:
        want = f.read()
    for n in ranks:
        out = os.path.join(work, f"{name}.{n}.tsv")
        run = subprocess.run(["mpirun", "--oversubscribe", "-np", str(n), program, *args, "--output", out, *inputs],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=240)
        if run.returncode != 0:
            fail(f"{name} at {n} ranks: exit {run.returncode}: {run.stderr.decode(errors='replace')[-2000:]}")
        with open(out, "rb") as f:
            if f.read() != want:
                fail(f"{name} at {n} ranks: output differs from the oracle's {expected}")
    print(f"ok: {name} ({len(want)} bytes of result) at ranks {list(ranks)}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    program, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = random.Random(3)

    big_word = "".join(rng.choice("abcdefghij") for _ in range(100 * 1024))
    path = os.path.join(work, "big-keys.txt")
    with open(path, "w") as f:
        for i in range(50):
            f.write(f"small {big_word if i % 7 == 0 else 'w' + str(i % 5)} tail\n")
        f.write(big_word + "X\n")
    check(program, work, "keys-over-64KiB", ["--chunk-bytes", "65536"], [path])

    path = os.path.join(work, "big-ngram.tsv")
    with open(path, "w") as f:
        big_ngram = "n" * (70 * 1024)
        for i in range(20):
            f.write(f"{big_ngram if i % 3 == 0 else 'short' + str(i % 4)}\t{1900 + i}\t{i * 1000 + 7}\t{i}\n")
    check(program, work, "ngram-keys-over-64KiB", ["--job", "ngram", "--chunk-bytes", "4096"], [path])

    path = os.path.join(work, "long-line.txt")
    with open(path, "w") as f:
        f.write("before the long line\n")
        f.write(" ".join(f"t{rng.randrange(2000)}" for _ in range(200_000)) + "\n")  # ~1 MiB
        f.write("after it\n" * 100)
    check(program, work, "line-longer-than-partition", ["--chunk-bytes", "4096"], [path])

    path = os.path.join(work, "distinct.txt")
    with open(path, "w") as f:
        for i in range(30_000):
            f.write(" ".join(f"k{i * 10 + j:x}" for j in range(10)) + " shared\n")
    check(program, work, "300k-distinct-keys", ["--chunk-bytes", "65536"], [path])
    print("PASS")


if __name__ == "__main__":
    main()
