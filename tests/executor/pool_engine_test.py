#!/usr/bin/env python3
"""The pool engine (`mapreduce --workers N`) against the independent Python oracle
(tests/support/oracle.py) and against the SPMD engine (`mpirun -np N mapreduce`), byte for
byte, on generated data.

usage: pool_engine_test.py MAPREDUCE MPIEXEC WORKERS
"""
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import oracle  # noqa: E402  (tests/support/oracle.py)

MAPREDUCE, MPIEXEC, WORKERS = sys.argv[1], sys.argv[2], int(sys.argv[3])
CHUNK_BYTES = "9973"  # small, so there are many map tasks and several merge levels
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)


# ---------------------------------------------------------------- data
rng = random.Random(20260424 + WORKERS)
tmp = tempfile.mkdtemp(prefix="pool_engine_test_")
vocab = [b"w%d" % i for i in range(3000)] + [b"Apple", b"apple", b"APPLE,", b"\xc3\x84pfel", b"x-y", b"a\x0bb"]


def text_lines(n):
    out = []
    for _ in range(n):
        out.append(b" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 9))) + rng.choice([b"", b" ", b"\t"]))
    return b"\n".join(out)


os.makedirs(os.path.join(tmp, "dir", "sub"))
parts = [text_lines(6000), text_lines(4000) + b"\n", text_lines(50)]  # the first lacks a final newline
for name, data in zip(["dir/a.txt", "dir/sub/b.txt", "dir/c.txt"], parts):
    with open(os.path.join(tmp, name), "wb") as f:
        f.write(data)
with gzip.open(os.path.join(tmp, "g.txt.gz"), "wb") as f:
    f.write(text_lines(5000) + b"\n")
stdin_data = text_lines(3000) + b"\n"

ngram_lines = []
for i in range(4000):
    gram = b"ng%04d" % (i // 7) if i % 50 else b"\xc3\xa9t\xc3\xa9_%d" % i
    ngram_lines.append(gram + b"\t%d\t%d\t%d" % (1800 + i % 200, rng.randint(1, 10**6), rng.randint(1, 9)))
ngram_lines.sort()
with open(os.path.join(tmp, "ngrams.tsv"), "wb") as f:
    f.write(b"\n".join(ngram_lines) + b"\n")


def read(path):
    with open(path, "rb") as f:
        return f.read()


all_text = b"".join(read(os.path.join(tmp, p)) + (b"\n" if not read(os.path.join(tmp, p)).endswith(b"\n") else b"")
                    for p in ["dir/a.txt", "dir/c.txt", "dir/sub/b.txt"])


# ---------------------------------------------------------------- runs
def run(args, engine, stdin=b""):
    if engine == "pool":
        cmd = [MAPREDUCE, "--workers", str(WORKERS), "--chunk-bytes", CHUNK_BYTES] + args
    else:
        cmd = [MPIEXEC, "-np", str(WORKERS), "--oversubscribe", MAPREDUCE] + args
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)


def compare(label, args, data, job, mode, stdin=b""):
    expected = oracle.ordered(oracle.counts_for(data, job, mode))
    outputs = {}
    for engine in ("pool", "spmd"):
        out_file = os.path.join(tmp, "%s.%s.out" % (label, engine))
        result = run(args + ["--output", out_file, "--top", "5", "--query", "w7", "--query", "absent"], engine, stdin)
        check(result.returncode == 0, "%s/%s exit %d: %s" % (label, engine, result.returncode, result.stderr[-500:]))
        if result.returncode != 0:
            return
        outputs[engine] = (read(out_file), result.stdout)
    pool_file, pool_stdout = outputs["pool"]
    check(pool_file == oracle.lines_of(expected), "%s: pool output differs from the oracle" % label)
    top = oracle.lines_of(expected[:5]) + oracle.query_lines(dict(expected), [b"w7", b"absent"])
    check(pool_stdout == top, "%s: pool --top/--query differ from the oracle" % label)
    check(outputs["pool"] == outputs["spmd"], "%s: pool and SPMD engines differ" % label)


compare("whitespace", [os.path.join(tmp, "dir")], all_text, "wordcount", "whitespace")
compare("alnum", ["--words", "alnum", os.path.join(tmp, "dir")], all_text, "wordcount", "alnum")
compare("ngram", ["--job", "ngram", os.path.join(tmp, "ngrams.tsv")], read(os.path.join(tmp, "ngrams.tsv")),
        "ngram", "whitespace")
compare("gz+stdin", [os.path.join(tmp, "g.txt.gz"), "-"],
        gzip.decompress(read(os.path.join(tmp, "g.txt.gz"))) + stdin_data, "wordcount", "whitespace", stdin_data)
# Compressed shards, inflated by the workers (one task per file): more shards than workers,
# an empty one, mixed with a plain file and stdin.
os.makedirs(os.path.join(tmp, "shards"))
shards = [text_lines(700 * (i + 1)) + b"\n" for i in range(5)] + [b""]
for i, data in enumerate(shards):
    with gzip.open(os.path.join(tmp, "shards", "s%d.txt.gz" % i), "wb") as f:
        f.write(data)
compare("gz shards", [os.path.join(tmp, "shards"), os.path.join(tmp, "dir", "c.txt"), "-"],
        b"".join(shards) + read(os.path.join(tmp, "dir", "c.txt")) + b"\n" + stdin_data, "wordcount", "whitespace",
        stdin_data)
# One chunk for several workers: the others have nothing to drain.
compare("one chunk", [os.path.join(tmp, "dir", "c.txt")], read(os.path.join(tmp, "dir", "c.txt")),
        "wordcount", "whitespace")

# --progress: the one progress line of both engines, ending at 100 % of the files' bytes.
result = run(["--progress", os.path.join(tmp, "dir")], "pool")
check(b"mapreduce: map 100.0%" in result.stderr,
      "--progress: no final 'mapreduce: map 100.0%%' in %r" % result.stderr[-300:])

# --json phases and --timings, as the SPMD engine reports them (the parent's view of the run).
out_file = os.path.join(tmp, "timed.out")
result = run(["--json", "--timings", "--output", out_file, os.path.join(tmp, "dir")], "pool")
summary = json.loads(result.stdout.splitlines()[-1]) if result.returncode == 0 and result.stdout else {}
phases = summary.get("phases", {})
check(sorted(phases) == sorted(["read", "map", "shuffle", "reduce", "sort", "write"])
      and all(v >= 0 for v in phases.values()) and phases["map"] > 0 and phases["write"] > 0,
      "pool --json phases: %s" % phases)
check(len(summary.get("peak_rss_bytes", [])) == WORKERS + 1,
      "pool --json peak_rss_bytes (the parent's, then each worker's): %s" % summary)
check(b"mapreduce: phases (pool: read and map as the parent waited, the rest slowest worker each): read "
      in result.stderr, "pool --timings line: %r" % result.stderr[-300:])

# Bad input: one line naming file:line, non-zero exit, no output file.
bad = os.path.join(tmp, "bad.tsv")
with open(bad, "wb") as f:
    f.write(b"\n".join(ngram_lines[:2500]) + b"\nnot an ngram line\n" + b"\n".join(ngram_lines[2500:]) + b"\n")
out_file = os.path.join(tmp, "bad.out")
result = run(["--job", "ngram", "--progress", "--output", out_file, bad], "pool")  # --progress: must not hang
errors = [l for l in result.stderr.decode(errors="replace").splitlines() if "error" in l]
check(result.returncode != 0, "bad input: exit code 0")
check(len(errors) == 1 and ("%s:2501:" % bad) in errors[0], "bad input: expected one error naming %s:2501, got %r" % (bad, errors))
check(not os.path.exists(out_file), "bad input: an output file was written")

# A corrupt shard: one error naming it, non-zero exit, no output file.
os.makedirs(os.path.join(tmp, "badshards"))
with open(os.path.join(tmp, "badshards", "ok.txt.gz"), "wb") as f:
    f.write(gzip.compress(text_lines(500)))
with open(os.path.join(tmp, "badshards", "cut.txt.gz"), "wb") as f:
    f.write(gzip.compress(text_lines(3000))[:-50])
result = run(["--output", out_file, os.path.join(tmp, "badshards")], "pool")
errors = [l for l in result.stderr.decode(errors="replace").splitlines() if "error" in l]
check(result.returncode != 0 and len(errors) == 1 and "cut.txt.gz" in errors[0],
      "corrupt shard: expected one error naming cut.txt.gz, got %r" % errors)
check(not os.path.exists(out_file), "corrupt shard: an output file was written")

if failures:
    print("%d check(s) failed (data kept in %s)" % (len(failures), tmp), file=sys.stderr)
    sys.exit(1)
subprocess.run(["rm", "-rf", tmp])
print("pool engine == oracle == SPMD engine at %d worker(s)" % WORKERS)
